"""The one sum of LLM calls, tokens and cost behind `runs`, `stats` and `report`."""

from __future__ import annotations

from typing import Any

import pytest

from llmops_logging.readmodel.usage import Usage, lower_bound


def _call(cost: float | None = None, **tokens: int) -> dict[str, Any]:
    record: dict[str, Any] = {"kind": "llm_call", "gen_ai": {"usage": tokens}}
    if cost is not None:
        record["cost_usd"] = cost
    return record


def _totals(**fields: Any) -> Usage:
    usage = Usage.of_totals(fields)
    assert usage is not None
    return usage


def test_a_call_without_a_price_makes_the_cost_a_lower_bound() -> None:
    usage = Usage()
    usage.add(Usage.of_call(_call(0.5, input_tokens=10, output_tokens=2)))
    usage.add(Usage.of_call(_call(input_tokens=3)))
    totals = usage.as_dict()
    assert totals == {
        "llm_calls": 2,
        "input_tokens": 13,
        "output_tokens": 2,
        "cost_usd": 0.5,
        "priced_calls": 1,
    }
    assert lower_bound(totals)


def test_end_totals_count_their_calls_and_the_ones_without_a_price() -> None:
    usage = _totals(llm_calls=5, input_tokens=50, output_tokens=9, cost_usd=0.25,
                    calls_without_cost=2)  # fmt: skip
    usage.add(_totals(llm_calls=3, input_tokens=1, output_tokens=1, cost_usd=0.75))
    assert (usage.llm_calls, usage.priced_calls, usage.input_tokens) == (8, 6, 51)
    assert usage.cost == pytest.approx(1.0) and lower_bound(usage.as_dict())


def test_no_price_at_all_is_an_unknown_cost_not_zero() -> None:
    usage = _totals(llm_calls=2, input_tokens=0, output_tokens=0, calls_without_cost=2)
    usage.add(Usage.of_call(_call()))  # a failed call: no tokens, no price
    assert usage.cost is None and usage.as_dict()["cost_usd"] is None
    assert not lower_bound(usage.as_dict())
    assert Usage().as_dict() == {}


def test_totals_without_a_count_of_calls_are_none_to_go_by() -> None:
    assert Usage.of_totals(None) is None
    assert Usage.of_totals("none") is None
    assert Usage.of_totals({"llm_calls": "x", "input_tokens": 3}) is None
