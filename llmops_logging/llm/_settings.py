"""What `llm_call` records take from `configure()`: content capture and the user's prices.

`configure()` validates and installs them (`settings_from`, `install`); calls read the
current ones when they start and finish. The defaults hold until `configure()` is called
and again after `reset()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ._cost import ModelPrice, parse_prices


@dataclass(frozen=True)
class LlmSettings:
    capture_content: bool = True
    prices: Mapping[str, ModelPrice] = field(default_factory=dict)


_current = LlmSettings()


def settings_from(
    capture_content: bool, prices: Mapping[str, Mapping[str, float]] | None
) -> LlmSettings:
    """Validated settings; ValueError for malformed prices, before anything is replaced."""
    return LlmSettings(capture_content=bool(capture_content), prices=parse_prices(prices))


def install(settings: LlmSettings) -> None:
    global _current
    _current = settings


def llm_settings() -> LlmSettings:
    return _current
