"""LLM calls, tokens and cost added up: the one sum behind `runs`, `stats` and `report`.

Two kinds of record count calls: each `llm_call` (`gen_ai.usage.*`, `cost_usd` when its price
was known) and the `usage` totals on run and step ends (`llm_calls`, tokens, `cost_usd` of the
priced calls, `calls_without_cost` for the others). Both count `priced_calls`, so a cost summed
over fewer calls than were made is shown as what it is: a lower bound.

A closing record's totals count every call inside its scope (nested runs, threads, tasks), and
nested ends count one call once per level: a sum over a log adds `llm_call` records, and a
scope's own figure is the totals of its end.

Cost is summed exactly (`cost_usd` is the exact sum rounded once), so the total does not
depend on the order the records were added in: a log folded in shares, one per process, and
merged (`add`) gives the same bits as one pass. The sum is an integer over a power of two
(every float is one): a price is added as its numerator at the sum's scale, which one float
product gives (exactly: a power of two) unless the price is finer than that scale.

A number no count or price can be (negative, fractional, boolean, text, beyond 64 bits; a
negative or non-finite cost) is summed nowhere, by the writer's rule in `_contract`: such a
call counts as one without tokens or without a price.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any

from .._contract import (
    CALLS_WITHOUT_COST,
    COST_USD,
    INPUT_TOKENS,
    LLM_CALLS,
    MAX_TOKEN_COUNT,
    OUTPUT_TOKENS,
    USAGE_PATH,
    cost_ok,
    token_count_ok,
)
from .keys import as_read

_USAGE_FIRST, _USAGE_SECOND, _INPUT_TOKENS, _OUTPUT_TOKENS, _COST_USD = as_read(
    *USAGE_PATH, INPUT_TOKENS, OUTPUT_TOKENS, COST_USD
)
"""The keys `Usage.add_call` looks up in each call's record, as records hold them."""
_FLOAT_EXPONENTS = sys.float_info.max_exp
"""`2.0**n` is a float for n below this (1024)."""


class Usage:
    """Tokens and cost summed over records; `llm_calls` counts the calls they stand for."""

    def __init__(self, llm_calls: int = 0, input_tokens: int = 0, output_tokens: int = 0,
                 cost_usd: float = 0.0, *, priced_calls: int = 0,
                 counted: bool = False) -> None:  # fmt: skip
        self.llm_calls = llm_calls
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.priced_calls = priced_calls
        """Calls whose price was known: fewer than `llm_calls`, and the cost is a lower bound."""
        self.counted = counted
        """Some record had token counts (a failed call has none)."""
        self._cost_num = 0
        self._cost_shift = 0
        """The cost summed so far is exactly `_cost_num / 2**_cost_shift`."""
        self._cost_scale = 1.0
        """`2.0**_cost_shift`, NaN beyond the floats: a price times it (exactly, a power of
        two) that is a whole number is the price's numerator at this scale."""
        if cost_usd:
            self._add_cost(cost_usd)

    def _add_cost(self, price: float) -> None:
        if price == math.inf:  # a total beyond floats, carried back in: stays infinite
            self._cost_num += 4 << (1023 + self._cost_shift)
            return
        numerator, denominator = price.as_integer_ratio()  # the denominator: a power of two
        self._add_exact(numerator, denominator.bit_length() - 1)

    def _add_exact(self, numerator: int, shift: int) -> None:
        """Add `numerator / 2**shift` to the cost, exactly: at the finer of the two scales."""
        mine = self._cost_shift
        if shift > mine:
            self._cost_num <<= shift - mine
            self._cost_shift = mine = shift
            self._cost_scale = math.ldexp(1.0, shift) if shift < _FLOAT_EXPONENTS else math.nan
        self._cost_num += numerator << (mine - shift)

    @property
    def cost_usd(self) -> float:
        """The exact sum of the prices added, rounded once to the nearest float."""
        try:
            return self._cost_num / (1 << self._cost_shift)  # int / int: correctly rounded
        except OverflowError:  # beyond the largest float, as a float sum would be
            return math.inf

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Usage):
            return NotImplemented
        return self._state() == other._state()

    def _state(self) -> tuple[Any, ...]:
        num, shift = self._cost_num, self._cost_shift
        while shift and not num & 1:  # the same sum may be held at a finer scale
            num, shift = num >> 1, shift - 1
        return (self.llm_calls, self.input_tokens, self.output_tokens, num, shift,
                self.priced_calls, self.counted)  # fmt: skip

    def __repr__(self) -> str:
        return (f"Usage(llm_calls={self.llm_calls}, input_tokens={self.input_tokens}, "
                f"output_tokens={self.output_tokens}, cost_usd={self.cost_usd!r}, "
                f"priced_calls={self.priced_calls}, counted={self.counted})")  # fmt: skip

    @classmethod
    def of_call(cls, record: Mapping[str, Any]) -> Usage:
        """One `llm_call` record: a call, priced when it has `cost_usd`."""
        one = cls()
        one.add_call(record)
        return one

    @classmethod
    def of_totals(cls, totals: Any) -> Usage | None:
        """A run or step end's `usage` totals, or None when it has none to go by."""
        if not isinstance(totals, Mapping) or (calls := _count(totals.get(LLM_CALLS))) is None:
            return None
        return cls._of(calls, totals.get(INPUT_TOKENS), totals.get(OUTPUT_TOKENS),
                       totals.get(COST_USD), totals.get(CALLS_WITHOUT_COST))  # fmt: skip

    @classmethod
    def _of(cls, calls: int, input_tokens: Any, output_tokens: Any, cost: Any,
            unpriced: Any = 0) -> Usage:  # fmt: skip
        """`calls` calls; `cost`, when known, is the price of all but `unpriced` of them."""
        tokens_in, tokens_out = _count(input_tokens), _count(output_tokens)
        price = float(cost) if cost_ok(cost) else None
        return cls(calls, tokens_in or 0, tokens_out or 0, price or 0.0,
                   priced_calls=0 if price is None else max(calls - (_count(unpriced) or 0), 0),
                   counted=tokens_in is not None or tokens_out is not None)  # fmt: skip

    def add_call(self, record: Mapping[str, Any]) -> None:
        """Add one `llm_call` record (`of_call` is this on an empty `Usage`): no one-call
        `Usage` is made in between, and the usual case of each step (`path`, `_count`,
        `_add_cost`) is written out here, since `stats` does this for each of a million
        calls (a third of what a call cost it)."""
        usage = record.get(_USAGE_FIRST)
        usage = usage.get(_USAGE_SECOND) if isinstance(usage, dict) else None  # as `path`
        self.llm_calls += 1
        if isinstance(usage, dict):
            tokens_in, tokens_out = usage.get(_INPUT_TOKENS), usage.get(_OUTPUT_TOKENS)
            if tokens_in.__class__ is not int or not 0 <= tokens_in <= MAX_TOKEN_COUNT:
                tokens_in = _count(tokens_in)  # a count of another type, or none
            if tokens_out.__class__ is not int or not 0 <= tokens_out <= MAX_TOKEN_COUNT:
                tokens_out = _count(tokens_out)
            if tokens_in is not None:
                self.input_tokens += tokens_in
                self.counted = True
            if tokens_out is not None:
                self.output_tokens += tokens_out
                self.counted = True
        cost: Any = record.get(_COST_USD)
        if cost.__class__ is float and 0.0 <= cost < math.inf:  # `cost_ok`'s usual case
            price: float = cost
        elif cost_ok(cost):
            price = float(cost)
        else:
            return
        self.priced_calls += 1
        scaled = price * self._cost_scale  # a finite price: `_add_cost`'s usual case
        if scaled.is_integer():
            self._cost_num += int(scaled)
        else:
            self._add_cost(price)

    def add(self, other: Usage) -> None:
        self.llm_calls += other.llm_calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        if other._cost_num:
            self._add_exact(other._cost_num, other._cost_shift)
        self.priced_calls += other.priced_calls
        self.counted = self.counted or other.counted

    @property
    def cost(self) -> float | None:
        """The summed cost, or None when no call had a price (unknown, not 0)."""
        return self.cost_usd if self.priced_calls else None

    def as_dict(self) -> dict[str, Any]:
        """The totals; nothing when there was no call (a field with no value is left out)."""
        if not self.llm_calls:
            return {}
        return {
            LLM_CALLS: self.llm_calls,
            INPUT_TOKENS: self.input_tokens if self.counted else None,
            OUTPUT_TOKENS: self.output_tokens if self.counted else None,
            COST_USD: self.cost,
            "priced_calls": self.priced_calls,
        }


def lower_bound(totals: Mapping[str, Any]) -> bool:
    """Whether the cost of `Usage.as_dict`-shaped totals leaves out calls without a price."""
    return totals.get(COST_USD) is not None and totals["priced_calls"] < totals[LLM_CALLS]


def _count(value: Any) -> int | None:
    """A count that may be summed (`_contract.token_count_ok`), or None."""
    if value.__class__ is int:  # what a record holds, without `numbers.Integral`'s ABC check
        count: int = value
        return count if 0 <= count <= MAX_TOKEN_COUNT else None
    return int(value) if token_count_ok(value) else None
