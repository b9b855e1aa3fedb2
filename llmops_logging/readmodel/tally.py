"""One group's figures (records, failures, durations, LLM usage) in bounded memory: what
`stats` shows per group and the report per model and per step name.

Durations go into `Quantiles`, which holds exact values up to a few thousand per group and
then folds them into a log-bucket histogram, so the percentiles of a million step durations
cost a few kilobytes, within half a percent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .._contract import (
    COST_USD,
    DURATION_S,
    INPUT_TOKENS,
    LLM_CALLS,
    OUTPUT_TOKENS,
    Record,
)
from .keys import as_read
from .records import failed
from .usage import Usage
from .values import number

EXACT_LIMIT = 4096
SETTLE_FROM = 256
"""`Quantiles.settle` works out buckets for this many exact values or more: fewer cost the
merge little, and a fold of many small groups (`stats --by run`) would settle each."""
_GAMMA = 1.01  # relative error <= (GAMMA-1)/2
_LOG_GAMMA = math.log(_GAMMA)
_NON_POSITIVE = -(10**9)
(_DURATION_S,) = as_read(DURATION_S)


def _buckets_of(values: list[float]) -> dict[int, int]:
    """How many of `values` fall in each bucket: (GAMMA**(k-1), GAMMA**k] for key k, every
    value not above 0 (and NaN) under `_NON_POSITIVE`."""
    buckets: dict[int, int] = {}
    for value in values:
        key = math.ceil(math.log(value) / _LOG_GAMMA) if value > 0 else _NON_POSITIVE
        buckets[key] = buckets.get(key, 0) + 1
    return buckets


class Quantiles:
    """Percentiles of a stream of numbers in bounded memory: exact while small, then ~0.5%."""

    def __init__(self) -> None:
        self._values: list[float] | None = []
        self._buckets: dict[int, int] = {}
        self._bucketed = 0
        """How many values the buckets hold."""
        self._top: float | None = None
        """The largest value in the buckets (the first of equal ones: -0.0 and 0.0 print
        differently)."""
        self._settled: tuple[int, dict[int, int]] | None = None
        """`settle`'s buckets of the first so many exact values."""

    # While exact, the count and the largest value are worked out from the values when asked,
    # not kept up to date with each one: `add` then costs about 500 instructions less (1,013
    # against 1,520), and `stats` adds a value for each record it groups.

    @property
    def exact(self) -> bool:
        return self._values is not None

    @property
    def count(self) -> int:
        values = self._values
        return self._bucketed if values is None else len(values)

    @property
    def max(self) -> float | None:
        """The largest value, the first of equal ones (as builtin `max` keeps it)."""
        values = self._values
        if values is None:
            return self._top
        return max(values) if values else None

    def add(self, value: float) -> None:
        values = self._values
        if values is not None:
            values.append(value)
            if len(values) > EXACT_LIMIT:
                self._to_buckets()
            return
        self._bucketed += 1
        top = self._top
        if top is None or value > top:
            self._top = value
        # `_buckets_of` for one value
        key = math.ceil(math.log(value) / _LOG_GAMMA) if value > 0 else _NON_POSITIVE
        buckets = self._buckets
        buckets[key] = buckets.get(key, 0) + 1

    def merge(self, other: Quantiles) -> None:
        """Add the values `other` was given, as if they had been added here after ours: the
        same exact values or the same buckets as one pass over both."""
        count = other.count
        if not count:
            return
        values, theirs = self._values, other._values
        if values is not None and theirs is not None and len(values) + len(theirs) <= EXACT_LIMIT:
            values.extend(theirs)
            return
        if values is not None:
            self._to_buckets()
        self._add_buckets(other._buckets if theirs is None else other._buckets_of_values())
        self._bucketed += count
        top, mine = other.max, self._top
        if top is not None and (mine is None or top > mine):
            self._top = top

    def _to_buckets(self) -> None:
        """Count the exact values into buckets and drop them: no longer exact."""
        self._add_buckets(self._buckets_of_values())
        self._bucketed, self._top = self.count, self.max
        self._values = self._settled = None

    def _add_buckets(self, counts: dict[int, int]) -> None:
        buckets = self._buckets
        for key, count in counts.items():
            buckets[key] = buckets.get(key, 0) + count

    def _buckets_of_values(self) -> dict[int, int]:
        """`_buckets_of` the exact values: as `settle` worked them out, if it did."""
        values = self._values
        assert values is not None
        settled = self._settled
        if settled is not None and settled[0] == len(values):
            return settled[1]
        return _buckets_of(values)

    def settle(self) -> None:
        """Work out the buckets of the exact values now (if there are `SETTLE_FROM` or more),
        for a `merge` that will need them: a fold's shares are read by several processes
        (`cli._fanout`), each settling its own, and the one that merges them adds up
        buckets instead of computing one per value, alone, while the others wait."""
        values = self._values
        if values is not None and len(values) >= SETTLE_FROM:
            self._settled = (len(values), _buckets_of(values))

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0..1): interpolated while exact, then a bucket's middle."""
        if not self.count:
            return None
        if self._values is not None:
            ordered = sorted(self._values)
            rank = q * (len(ordered) - 1)
            low = math.floor(rank)
            high = min(low + 1, len(ordered) - 1)
            value = ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
            if math.isfinite(value):
                return value
            # finite ends whose difference overflows (a foreign writer's, at both ends of
            # the float range): the same point, weighed from both ends
            return ordered[low] * (1 - (rank - low)) + ordered[high] * (rank - low)
        target = q * (self.count - 1)
        seen = 0
        for key in sorted(self._buckets):
            seen += self._buckets[key]
            if seen > target:
                if key == _NON_POSITIVE:
                    return 0.0
                middle = 2 * _GAMMA**key / (_GAMMA + 1)
                return min(middle, self.max) if self.max is not None else middle
        return self.max


@dataclass
class Tally:
    """Records of one group: how many, how many failed (`records.failed`), their durations,
    and the LLM usage the caller folds in (calls' records, or steps' totals)."""

    count: int = 0
    errors: int = 0
    durations: Quantiles = field(default_factory=Quantiles)
    usage: Usage = field(default_factory=Usage)

    def add(self, record: Record, usage: Usage | None = None) -> None:
        self.count_one(record, failed(record))
        if usage is not None:
            self.usage.add(usage)

    def add_call(self, record: Record) -> None:
        """`add(record, Usage.of_call(record))` for an `llm_call` record, without the one-call
        `Usage` in between."""
        self.count_one(record, failed(record))
        self.usage.add_call(record)

    def settle(self) -> None:
        """`Quantiles.settle`: the tally is complete, and may be merged."""
        self.durations.settle()

    def merge(self, other: Tally) -> None:
        """Add a tally of later records of the same group (`Quantiles.merge`, `Usage.add`)."""
        self.count += other.count
        self.errors += other.errors
        self.durations.merge(other.durations)
        self.usage.add(other.usage)

    def count_one(self, record: Record, failed: bool) -> None:
        """Count the record and its duration; `failed` is `records.failed(record)`, which a
        caller that knows the record's kind may have worked out faster."""
        self.count += 1
        if failed:
            self.errors += 1
        duration = record.get(_DURATION_S)
        if duration.__class__ is not float or not -math.inf < duration < math.inf:
            duration = number(duration)  # a finite float is its own `number`: the usual case
            if duration is None:
                return
        self.durations.add(duration)

    def row(self, key: str) -> dict[str, Any]:
        d = self.durations
        return {
            "key": key,
            "count": self.count,
            "errors": self.errors,
            "error_rate": self.errors / self.count if self.count else None,
            "durations": d.count,
            "p50_s": d.quantile(0.50),
            "p95_s": d.quantile(0.95),
            "p99_s": d.quantile(0.99),
            "max_s": d.max,
            "exact": d.exact,
            LLM_CALLS: self.usage.llm_calls,
            INPUT_TOKENS: self.usage.input_tokens,
            OUTPUT_TOKENS: self.usage.output_tokens,
            COST_USD: self.usage.cost,
            "priced_calls": self.usage.priced_calls,
        }
