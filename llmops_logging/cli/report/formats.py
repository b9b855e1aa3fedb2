"""Numbers as the page shows them: a cost reads as the CLI prints it (`usd`), one fact in one
place, so `$0.000022` is never rounded to `$0.0000` in a table or a chart."""

from __future__ import annotations

from typing import Any

from ..._contract import (
    COST_USD,
)
from ...readmodel.usage import lower_bound
from ...readmodel.values import number
from .._output import usd


def cost(totals: dict[str, Any]) -> str:
    """The cost of a run, a group or the log; `>=` when some of its calls had no price."""
    value = number(totals.get(COST_USD))
    if value is None:
        return "-"
    return f"{'>=' if lower_bound(totals) else ''}{usd(value)}"


def secs(value: Any) -> str:
    seconds = number(value)
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"
