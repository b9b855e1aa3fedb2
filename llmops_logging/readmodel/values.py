"""Values read out of records, which are input and may hold anything: the CLI's one walker
of nested fields and its one test for a usable number."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def path(record: Any, *keys: str) -> Any:
    """`record[k1][k2]...`, or None where the path does not exist (the CLI's one walker of
    nested fields such as `gen_ai.usage`)."""
    value: Any = record
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def number(value: Any) -> float | None:
    """A finite number, or None: records are input, and may hold anything (a bool is no number)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


_MISSING = object()


def field_value(record: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted path (`gen_ai.request.model`), or a flattened key of that name:
    how a command's `--by FIELD` names a field."""
    value = record.get(dotted, _MISSING)
    if value is not _MISSING or "." not in dotted:
        return None if value is _MISSING else value
    node: Any = record
    for part in dotted.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node
