"""The price of a call in USD: the user's own prices first, then genai-prices' bundled table.

genai-prices (the `llm` extra) is loaded in the background (`_price_table`), never at package
import, and only its bundled snapshot is read: no network at run time. A model neither table knows
gets no cost at all, never a wrong 0.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import _price_table
from .._llm_settings import ModelPrice

USER_PRICES_SOURCE = "user prices"

# OpenTelemetry `gen_ai.provider.name` values whose genai-prices id differs.
_PROVIDER_IDS = {
    "aws.bedrock": "aws",
    "azure.ai.inference": "azure",
    "azure.ai.openai": "azure",
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "gcp.vertex_ai": "google",
    "mistral_ai": "mistral",
    "x_ai": "x-ai",
}


@dataclass(frozen=True)
class Cost:
    usd: float
    source: str


def price_call(
    models: tuple[str | None, ...],
    provider: str,
    user_prices: Mapping[str, ModelPrice],
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read: int | None,
    cache_write: int | None,
) -> Cost | None:
    """The cost of one call, priced by the first of `models` a table knows; None if none does.

    Without any token count there is nothing to price: None, not 0.
    """
    if input_tokens is None and output_tokens is None:
        return None
    tokens = (input_tokens or 0, output_tokens or 0, cache_read or 0, cache_write or 0)
    for model in models:
        if model and model in user_prices:
            return Cost(user_prices[model].cost(*tokens), USER_PRICES_SOURCE)
    table = _price_table.table()  # StillLoading when it did not come in time
    if table is None:
        return None
    provider_id = _PROVIDER_IDS.get(provider, provider)
    day = int(time.time() // 86400)  # prices change by date: rates are kept for a day
    for model in models:
        if not model:
            continue
        key = (provider_id, model, day)
        rates = _rates.get(key, _UNSEEN)
        if rates is _UNSEEN:
            rates = _rates_of(table, provider_id, model, tokens)
            if len(_rates) > 4096:
                _rates.clear()
            _rates[key] = rates
        if rates is None:
            continue
        if isinstance(rates, _LinearRates):
            return Cost(rates.cost(*tokens), _price_table.source)
        return Cost(_exact(table, provider_id, model, tokens), _price_table.source)
    return None


class _LinearRates:
    """A model's prices as genai-prices computes them, per token class, for the common case
    of prices without tiers: its full calculation takes about a millisecond per call."""

    __slots__ = ("cache_read", "cache_write", "fixed", "input", "output")

    def __init__(self, table: Any, provider_id: str, model: str) -> None:
        mtok = 1_000_000
        self.fixed = _exact(table, provider_id, model, (0, 0, 0, 0))
        self.input = _exact(table, provider_id, model, (mtok, 0, 0, 0)) - self.fixed
        self.output = _exact(table, provider_id, model, (0, mtok, 0, 0)) - self.fixed
        self.cache_read = _exact(table, provider_id, model, (mtok, 0, mtok, 0)) - self.fixed
        self.cache_write = _exact(table, provider_id, model, (mtok, 0, 0, mtok)) - self.fixed

    def cost(
        self, input_tokens: int, output_tokens: int, cache_read: int, cache_write: int
    ) -> float:
        uncached = max(input_tokens - cache_read - cache_write, 0)
        per_mtok = (
            uncached * self.input
            + cache_read * self.cache_read
            + cache_write * self.cache_write
            + output_tokens * self.output
        )
        return float(f"{self.fixed + per_mtok / 1_000_000:.12g}")  # no float noise in the log


_UNSEEN = object()
_EXACT = "exact"
_rates: dict[tuple[str, str, int], _LinearRates | str | None] = {}


def _exact(table: Any, provider_id: str, model: str, tokens: tuple[int, int, int, int]) -> float:
    usage = table.Usage(
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        cache_read_tokens=tokens[2] or None,
        cache_write_tokens=tokens[3] or None,
    )
    return float(table.calc_price(usage, model, provider_id=provider_id).total_price)


def _rates_of(
    table: Any, provider_id: str, model: str, tokens: tuple[int, int, int, int]
) -> _LinearRates | str | None:
    """How to price `model`: linear rates, `_EXACT` (tiered prices: genai-prices every
    time), or None when the table does not know it. The first call's own tokens check that
    the rates agree with the full calculation."""
    try:
        exact = _exact(table, provider_id, model, tokens)
    except LookupError:
        return None
    from genai_prices.types import TieredPrices

    try:
        snapshot_model = table.calc_price(table.Usage(), model, provider_id=provider_id)
        prices = vars(snapshot_model.model_price).values()
        if any(isinstance(price, TieredPrices) for price in prices):
            return _EXACT
        rates = _LinearRates(table, provider_id, model)
    except Exception:
        return _EXACT
    if not math.isclose(rates.cost(*tokens), exact, rel_tol=1e-9, abs_tol=1e-12):
        return _EXACT
    return rates
