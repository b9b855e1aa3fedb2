"""What `llm_call` records take from `configure()`: content capture and the user's prices.

The core holds them (`configure()` validates and installs them, `reset()` puts the defaults
back, the SDK log filter reads `capture_content`) and `llmops_logging.llm` reads them when a
call starts and finishes: so they live here, outside `llm`, and the core never imports it.
A leaf: it imports nothing from the package.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelPrice:
    """A user's price for one model, in USD per million tokens.

    Cached reads and cache writes cost `input_per_mtok` unless priced on their own.
    """

    input_per_mtok: float
    output_per_mtok: float
    cache_read_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None

    def cost(
        self, input_tokens: int, output_tokens: int, cache_read: int, cache_write: int
    ) -> float:
        read_rate = self.cache_read_per_mtok
        write_rate = self.cache_write_per_mtok
        if read_rate is None:
            read_rate = self.input_per_mtok
        if write_rate is None:
            write_rate = self.input_per_mtok
        uncached = max(input_tokens - cache_read - cache_write, 0)
        total = (
            uncached * self.input_per_mtok
            + cache_read * read_rate
            + cache_write * write_rate
            + output_tokens * self.output_per_mtok
        )
        return total / 1_000_000


_PRICE_KEYS = frozenset(ModelPrice.__dataclass_fields__)


def parse_prices(prices: Mapping[str, Mapping[str, Any]] | None) -> dict[str, ModelPrice]:
    """Validate `configure(prices=...)` once, loudly: a typo must not silently price at 0."""
    parsed: dict[str, ModelPrice] = {}
    for model, spec in (prices or {}).items():
        if not isinstance(spec, Mapping):
            raise ValueError(f"prices[{model!r}] must be a mapping, not {spec!r}")
        unknown = set(spec) - _PRICE_KEYS
        missing = {"input_per_mtok", "output_per_mtok"} - set(spec)
        if unknown or missing:
            raise ValueError(
                f"prices[{model!r}]: unknown keys {sorted(unknown)}, missing {sorted(missing)};"
                f" use {sorted(_PRICE_KEYS)}"
            )
        for key, value in spec.items():
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                raise ValueError(f"prices[{model!r}][{key!r}] must be a number >= 0")
        parsed[str(model)] = ModelPrice(**{k: float(v) for k, v in spec.items()})
    return parsed


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
