"""Totals on closing records: every llm_call inside a run or step, threads and tasks included."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import llmops_logging as ll

from ..conftest import read_records


def _one(records: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (record,) = [r for r in records if r["kind"] == kind and r.get("name") == name]
    return record


def _call(input_tokens: int, output_tokens: int, model: str = "private-model") -> None:
    with ll.llm_call(model, provider="local") as call:
        call.set_usage(input_tokens, output_tokens)


def test_runs_and_steps_sum_their_calls_nested_steps_included(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("agent"):
        _call(10, 1)
        with ll.step("plan"):
            _call(100, 10)
            with ll.step("tool"):
                _call(1000, 100)
        with ll.step("quiet"):
            pass
    records = read_records(tmp_path)
    expected_tool = {"llm_calls": 1, "input_tokens": 1000, "output_tokens": 100}
    assert _one(records, "step_ok", "tool")["usage"] == {**expected_tool, "calls_without_cost": 1}
    assert _one(records, "step_ok", "plan")["usage"] == {
        "llm_calls": 2, "input_tokens": 1100, "output_tokens": 110, "calls_without_cost": 2,
    }  # fmt: skip
    assert _one(records, "run_ok", "agent")["usage"] == {
        "llm_calls": 3, "input_tokens": 1110, "output_tokens": 111, "calls_without_cost": 3,
    }  # fmt: skip
    assert "usage" not in _one(records, "step_ok", "quiet")
    assert all("usage" not in r for r in records if r["kind"].endswith("_start"))


def test_a_run_without_calls_has_no_usage(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("plain"), ll.step("s"):
        ll.get_logger("x").info("nothing to do with models")
    assert all("usage" not in r for r in read_records(tmp_path))


def test_error_closings_carry_usage_and_failed_calls_count(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with pytest.raises(RuntimeError), ll.run("agent"), ll.step("s"):
        _call(3, 4)
        with ll.llm_call("private-model", provider="local"):
            raise RuntimeError("model down")
    records = read_records(tmp_path)
    expected = {"llm_calls": 2, "input_tokens": 3, "output_tokens": 4, "calls_without_cost": 2}
    assert _one(records, "step_error", "s")["usage"] == expected
    assert _one(records, "run_error", "agent")["usage"] == expected


def test_cost_is_summed_when_known(tmp_path: Path) -> None:
    ll.configure(tmp_path, prices={"mine": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}})
    with ll.run("agent"):
        _call(1_000_000, 0, model="mine")
        _call(0, 500_000, model="mine")
    usage = _one(read_records(tmp_path), "run_ok", "agent")["usage"]
    assert usage == {
        "llm_calls": 2, "input_tokens": 1_000_000, "output_tokens": 500_000, "cost_usd": 2.0,
    }  # fmt: skip


def test_calls_in_threads_with_the_run_context_count_in_the_run(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("fanout"), ll.step("parallel"):
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(contextvars.copy_context().run, _call, 1, 2) for _ in range(40)]
            for future in futures:
                future.result(timeout=60)
        context = contextvars.copy_context()
        threads = [threading.Thread(target=context.copy().run, args=(_call, 5, 5))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    records = read_records(tmp_path)
    for kind, name in (("step_ok", "parallel"), ("run_ok", "fanout")):
        usage = _one(records, kind, name)["usage"]
        assert (usage["llm_calls"], usage["input_tokens"], usage["output_tokens"]) == (41, 45, 85)


def test_calls_in_asyncio_tasks_count_in_the_run(tmp_path: Path) -> None:
    ll.configure(tmp_path)

    async def one(n: int) -> None:
        async with ll.llm_call("private-model", provider="local") as call:
            await asyncio.sleep(0)
            call.set_usage(n, 1)

    async def main() -> None:
        async with ll.run("tasks"):
            async with ll.step("gather"):
                await asyncio.gather(*(one(n) for n in range(10)))
            await asyncio.create_task(one(100))

    asyncio.run(main())
    records = read_records(tmp_path)
    step = _one(records, "step_ok", "gather")["usage"]
    assert (step["llm_calls"], step["input_tokens"], step["output_tokens"]) == (10, 45, 10)
    run = _one(records, "run_ok", "tasks")["usage"]
    assert (run["llm_calls"], run["input_tokens"], run["output_tokens"]) == (11, 145, 11)


def test_a_call_in_a_nested_run_counts_in_every_enclosing_run_and_step(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("outer"), ll.step("outer step"):
        _call(1, 1)
        with ll.step("around inner"), ll.run("inner"), ll.step("inner step"):
            _call(10, 10)
        with ll.step("after inner"):
            _call(100, 100)
    records = read_records(tmp_path)
    expected = {
        ("run_ok", "inner"): 10,
        ("step_ok", "inner step"): 10,
        ("step_ok", "around inner"): 10,
        ("step_ok", "after inner"): 100,
        ("step_ok", "outer step"): 111,
        ("run_ok", "outer"): 111,
    }
    for (kind, name), tokens in expected.items():
        usage = _one(records, kind, name)["usage"]
        assert usage["input_tokens"] == tokens, (kind, name)
    assert _one(records, "run_ok", "outer")["usage"]["llm_calls"] == 3


def test_set_cannot_forge_the_usage_totals(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    forged = {"llm_calls": 99, "input_tokens": 99, "output_tokens": 99, "cost_usd": 99.0}
    with ll.run("priced") as run, ll.step("s") as step:
        _call(1, 2)
        run.set(usage=forged)
        step.set(usage=forged)
    with ll.run("no calls", usage=forged) as quiet:
        quiet.set(usage=forged)
    records = read_records(tmp_path)
    for kind, name in (("run_ok", "priced"), ("step_ok", "s")):
        usage = _one(records, kind, name)["usage"]
        assert (usage["llm_calls"], usage["input_tokens"], usage["output_tokens"]) == (1, 1, 2)
    assert all("usage" not in r for r in records if r.get("name") == "no calls")


HOSTILE_COUNTS: list[Any] = [-5, 2**64, 2**63, 3.0, 2.5, True, "12", float("nan")]


@pytest.mark.parametrize("hostile", HOSTILE_COUNTS, ids=repr)
def test_a_hostile_token_count_is_kept_as_sent_flagged_and_not_summed(
    tmp_path: Path, hostile: Any
) -> None:
    ll.configure(tmp_path, prices={"m": {"input_per_mtok": 1.0, "output_per_mtok": 1.0}})
    with ll.run("r"), ll.step("s"):
        _call(10, 1, model="m")
        with ll.llm_call("m", provider="local") as call:
            call.set_usage(hostile, 7, cache_read_input_tokens=hostile)
    records = read_records(tmp_path)
    bad = [r for r in records if r["kind"] == "llm_call"][1]
    sent = bad["gen_ai"]["usage"]
    if isinstance(hostile, float) and hostile != hostile:
        assert sent["input_tokens"] is None  # NaN: strict JSON has no token for it
    elif isinstance(hostile, int) and not isinstance(hostile, bool) and hostile >= 2**64:
        assert sent["input_tokens"] == str(hostile)  # beyond 64 bits: as a string
    else:
        assert sent["input_tokens"] == hostile and type(sent["input_tokens"]) is type(hostile)
    assert sent["output_tokens"] == 7
    assert bad["usage_rejected"] == [
        "gen_ai.usage.input_tokens", "gen_ai.usage.cache_read.input_tokens",
    ]  # fmt: skip
    assert "cost_usd" not in bad  # priced from a count that was rejected: unknown, not wrong
    for kind in ("step_ok", "run_ok"):
        (end,) = [r for r in records if r["kind"] == kind]
        assert end["usage"] == {
            "llm_calls": 2, "input_tokens": 10, "output_tokens": 8,
            "cost_usd": 1.1e-05, "calls_without_cost": 1,
        }, kind  # fmt: skip


def test_valid_counts_have_no_rejection_flag(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.llm_call("m", provider="local") as call:
        call.set_usage(0, 2**63 - 1)
    (record,) = [r for r in read_records(tmp_path) if r["kind"] == "llm_call"]
    assert record["gen_ai"]["usage"] == {"input_tokens": 0, "output_tokens": 2**63 - 1}
    assert "usage_rejected" not in record


@pytest.mark.parametrize("usd", [-0.5, float("inf"), float("nan")], ids=repr)
def test_a_cost_no_price_can_be_is_flagged_and_not_summed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, usd: float
) -> None:
    """A price table that yields a negative or non-finite cost (a broken entry) adds nothing."""
    from llmops_logging.llm import _call as call_module
    from llmops_logging.llm._cost import Cost

    monkeypatch.setattr(call_module, "price_call", lambda *args: Cost(usd, "broken table"))
    ll.configure(tmp_path)
    with ll.run("r"):
        _call(10, 1)
    records = read_records(tmp_path)
    (call,) = [r for r in records if r["kind"] == "llm_call"]
    assert call["usage_rejected"] == ["cost_usd"]
    if usd < 0:
        assert call["cost_usd"] == usd
    else:
        assert "cost_usd" not in call and "cost_source" not in call
    (end,) = [r for r in records if r["kind"] == "run_ok"]
    assert end["usage"] == {
        "llm_calls": 1, "input_tokens": 10, "output_tokens": 1, "calls_without_cost": 1,
    }  # fmt: skip
