"""run() and step(): boundaries, durations, errors, nesting, threads and asyncio tasks."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import llmops_logging as ll

from .conftest import assert_contract, read_records


def _by_kind(records: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in records if r["kind"] == kind]


def test_run_ok_with_fields_duration_and_set(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("agent")
    with ll.run("eval", model="m-1", seed=7) as run:
        log.info("sample", kind="sample", i=0, ok=True)
        time.sleep(0.02)
        run.set(ok_rate=1.0)
    start, sample, ok = read_records(tmp_path)
    for record in (start, sample, ok):
        assert_contract(record)
        assert record["run_id"] == run.run_id
    assert start["kind"] == start["event"] == "run_start"
    assert start["name"] == "eval" and start["model"] == "m-1" and start["seed"] == 7
    assert ok["kind"] == "run_ok" and ok["name"] == "eval" and ok["ok_rate"] == 1.0
    assert 0.02 <= ok["duration_s"] < 5
    assert ok["counts"] == {"run_start": 1, "sample": 1}


def test_run_error_records_and_reraises(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with pytest.raises(RuntimeError, match="tool crashed"), ll.run("agent") as run:
        raise RuntimeError("tool crashed")
    start, error = read_records(tmp_path)
    assert error["kind"] == "run_error" and error["level"] == "error"
    assert error["run_id"] == start["run_id"] == run.run_id
    assert error["error"]["type"] == "RuntimeError"
    assert error["error"]["message"] == "tool crashed"
    assert "tool crashed" in error["error"]["traceback"]
    assert isinstance(error["duration_s"], float)


def test_reserved_field_names_do_not_break_a_run(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("r", event="x", kind="y", duration_s="z", name="n") as run:
        run.set(kind="k")
    start, ok = read_records(tmp_path)
    assert (start["kind"], start["name"]) == ("run_start", "r")
    assert ok["kind"] == "run_ok" and isinstance(ok["duration_s"], float)


def test_records_after_a_run_return_to_the_default_run_id(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("x")
    log.info("before")
    with ll.run("r"):
        pass
    log.info("after")
    records = read_records(tmp_path)
    assert records[0]["run_id"] == records[-1]["run_id"] != records[1]["run_id"]


def test_nested_runs_restore_the_outer_run(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("x")
    with ll.run("outer") as outer:
        with ll.run("inner") as inner:
            log.info("in inner")
        log.info("in outer")
    records = read_records(tmp_path)
    by_event = {r["event"]: r for r in records if r["kind"] == "log"}
    assert by_event["in inner"]["run_id"] == inner.run_id
    assert by_event["in outer"]["run_id"] == outer.run_id
    (inner_start,) = [r for r in records if r["kind"] == "run_start" and r["name"] == "inner"]
    assert inner_start["parent_run_id"] == outer.run_id


def test_steps_nest_with_parent_ids(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("x")
    with ll.run("r") as run, ll.step("plan") as plan:
        with ll.step("tool", tool="search") as tool:
            log.info("calling")
        with pytest.raises(ValueError), ll.step("parse"):
            raise ValueError("bad json")
    records = read_records(tmp_path)
    assert all(r["run_id"] == run.run_id for r in records)
    starts = {r["name"]: r for r in _by_kind(records, "step_start")}
    assert "parent_id" not in starts["plan"]  # left out, not null: schema inference needs it
    assert starts["tool"]["parent_id"] == plan.step_id
    assert starts["tool"]["tool"] == "search"
    assert starts["parse"]["parent_id"] == plan.step_id
    (calling,) = [r for r in records if r["event"] == "calling"]
    assert calling["step_id"] == tool.step_id
    oks = {r["name"]: r for r in _by_kind(records, "step_ok")}
    assert set(oks) == {"plan", "tool"}
    assert oks["tool"]["step_id"] == tool.step_id and oks["tool"]["duration_s"] >= 0
    (error,) = _by_kind(records, "step_error")
    assert error["name"] == "parse" and error["error"]["type"] == "ValueError"


def test_decorators_open_a_new_run_per_call(tmp_path: Path) -> None:
    ll.configure(tmp_path)

    @ll.run("job")
    def job(x: int) -> int:
        ll.get_logger("x").info("working", x=x)
        return x * 2

    @ll.run
    def bare() -> str:
        return "ok"

    @ll.step("async_step")
    async def async_step() -> int:
        await asyncio.sleep(0)
        return 5

    assert job(1) == 2 and job(2) == 4 and bare() == "ok"
    assert asyncio.run(async_step()) == 5
    records = read_records(tmp_path)
    starts = _by_kind(records, "run_start")
    assert [s["name"] for s in starts[:2]] == ["job", "job"]
    assert starts[2]["name"].endswith("<locals>.bare")
    assert starts[0]["run_id"] != starts[1]["run_id"]
    assert [r["name"] for r in _by_kind(records, "step_ok")] == ["async_step"]


def test_threads_keep_their_own_runs(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("x")
    ids: dict[int, str] = {}
    barrier = threading.Barrier(4)

    def worker(n: int) -> None:
        with ll.run("worker", n=n) as run:
            ids[n] = run.run_id
            barrier.wait()
            for i in range(50):
                log.info("tick", n=n, i=i)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ticks = [r for r in read_records(tmp_path) if r["event"] == "tick"]
    assert len(ticks) == 200
    for record in ticks:
        assert record["run_id"] == ids[record["n"]]
    assert len(set(ids.values())) == 4


def test_asyncio_tasks_keep_their_own_runs(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("x")

    async def task(n: int) -> str:
        async with ll.run("task", n=n) as run:
            for i in range(5):
                log.info("tick", n=n, i=i)
                await asyncio.sleep(0)
            return str(run.run_id)

    async def main() -> list[str]:
        return await asyncio.gather(*(task(n) for n in range(5)))

    ids = asyncio.run(main())
    ticks = [r for r in read_records(tmp_path) if r["event"] == "tick"]
    assert len(ticks) == 25
    for record in ticks:
        assert record["run_id"] == ids[record["n"]]
    oks = _by_kind(read_records(tmp_path), "run_ok")
    assert sorted(r["run_id"] for r in oks) == sorted(ids)
    assert all(r["counts"]["log"] == 5 for r in oks)


def test_a_scope_object_cannot_be_entered_twice(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    scope = ll.run("once")
    with scope, pytest.raises(RuntimeError, match="already entered"), scope:
        pass


def test_runs_ended_out_of_order_leave_no_finished_run_current(tmp_path: Path) -> None:
    """Two generators, each holding a run across its yields, finish in the other order."""
    ll.configure(tmp_path)
    log = ll.get_logger("x")

    def stream(name: str) -> Any:
        with ll.run(name):
            yield 1
            yield 2

    first, second = stream("first"), stream("second")
    next(first)
    next(second)  # entered inside `first`'s run
    list(first)  # `first` ends while `second` is still going on
    log.info("during second")
    list(second)
    log.info("after both")
    with ll.step("outer") as outer:
        inner = ll.step("inner")
        inner.__enter__()
        outer_records = ll.step("sibling")
        inner.__exit__(None, None, None)
        with outer_records:
            log.info("in sibling")
    records = read_records(tmp_path)
    starts = {r["name"]: r["run_id"] for r in _by_kind(records, "run_start")}
    by_event = {r["event"]: r for r in records if r["kind"] == "log"}
    assert by_event["during second"]["run_id"] == starts["second"]
    assert by_event["after both"]["run_id"] not in starts.values()
    sibling_start = next(r for r in _by_kind(records, "step_start") if r["name"] == "sibling")
    assert sibling_start["parent_id"] == outer.step_id


def test_decorated_generators_consumed_together_keep_their_own_runs(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("x")

    @ll.run("producer")
    def produce(name: str) -> Any:
        for i in range(5):
            log.info("produced", by=name, i=i)
            yield i
            log.info("resumed", by=name, i=i)

    @ll.step("stage")
    def stage(name: str) -> Any:
        for i in range(3):
            log.info("staged", by=name, i=i)
            yield i

    with ll.run("consumer") as consumer:
        for i, _ in enumerate(zip(produce("a"), produce("b"), strict=True)):
            log.info("consumed", i=i)
        for _ in zip(stage("s1"), stage("s2"), strict=True):
            log.info("consumed in steps")
    records = read_records(tmp_path)
    runs = {r["run_id"]: r["name"] for r in _by_kind(records, "run_start")}
    steps = {r["step_id"]: r for r in _by_kind(records, "step_start")}
    assert sorted(runs.values()) == ["consumer", "producer", "producer"]
    for record in records:
        assert_contract(record)
        if record.get("by") in ("a", "b"):
            assert runs[record["run_id"]] == "producer" and "step_id" not in record
        elif record.get("by") in ("s1", "s2"):
            assert record["run_id"] == consumer.run_id
            assert steps[record["step_id"]]["name"] == "stage"
        elif record["event"].startswith("consumed"):
            assert record["run_id"] == consumer.run_id and "step_id" not in record
    by_a = {r["run_id"] for r in records if r.get("by") == "a"}
    by_b = {r["run_id"] for r in records if r.get("by") == "b"}
    assert len(by_a) == len(by_b) == 1 and by_a != by_b
    by_s1 = {r["step_id"] for r in records if r.get("by") == "s1"}
    by_s2 = {r["step_id"] for r in records if r.get("by") == "s2"}
    assert len(by_s1) == len(by_s2) == 1 and by_s1 != by_s2
    producer_starts = [r for r in _by_kind(records, "run_start") if r["name"] == "producer"]
    assert all(r["parent_run_id"] == consumer.run_id for r in producer_starts)
    oks = {r["run_id"]: r for r in _by_kind(records, "run_ok")}
    assert oks[by_a.pop()]["counts"]["log"] == oks[by_b.pop()]["counts"]["log"] == 10
    assert oks[consumer.run_id]["counts"]["log"] == 5 + 3 + 6  # consumed, in steps, staged


def test_decorated_async_generators_interleaved_keep_their_own_runs(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("x")

    @ll.run("stream")
    async def stream(name: str) -> Any:
        for i in range(4):
            log.info("chunk", by=name, i=i)
            await asyncio.sleep(0)
            yield i
            log.info("resumed", by=name, i=i)

    async def main() -> str:
        async with ll.run("consumer") as consumer:
            first, second = stream("a"), stream("b")
            for _ in range(4):
                await first.__anext__()
                log.info("between")
                await second.__anext__()
                log.info("consumed")
            for agen in (first, second):
                with pytest.raises(StopAsyncIteration):
                    await agen.__anext__()
            return str(consumer.run_id)

    consumer_id = asyncio.run(main())
    records = read_records(tmp_path)
    starts = {r["run_id"]: r for r in _by_kind(records, "run_start")}
    for name in ("a", "b"):
        mine = [r for r in records if r.get("by") == name]
        assert len(mine) == 8
        (run_id,) = {r["run_id"] for r in mine}
        assert starts[run_id]["name"] == "stream"
        assert starts[run_id]["parent_run_id"] == consumer_id
    ours = [r for r in records if r["event"] in ("between", "consumed")]
    assert len(ours) == 8 and {r["run_id"] for r in ours} == {consumer_id}
    assert len(_by_kind(records, "run_ok")) == 3


def test_decorated_generators_run_inside_their_scope(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("x")

    @ll.run("gen")
    def numbers() -> object:
        for i in range(2):
            log.info("item", i=i)
            yield i

    @ll.step("agen")
    async def letters() -> object:
        for c in "ab":
            log.info("letter", c=c)
            yield c

    async def consume() -> list[str]:
        return [c async for c in letters()]  # type: ignore[attr-defined]

    assert list(numbers()) == [0, 1]  # type: ignore[call-overload]
    assert asyncio.run(consume()) == ["a", "b"]
    records = read_records(tmp_path)
    run_id = records[0]["run_id"]
    assert [r["kind"] for r in records[:4]] == ["run_start", "log", "log", "run_ok"]
    assert all(r["run_id"] == run_id for r in records[:4])
    step_id = records[4]["step_id"]
    assert [r.get("step_id") for r in records[4:8]] == [step_id] * 4


def test_fields_named_like_the_scopes_own_are_kept_renamed(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    mine = {"step_id": "s0", "parent_id": "p0", "duration_s": "d0", "usage": "u0", "kind": "k0"}
    with ll.run("r", counts="c0", **mine) as run:
        with ll.step("outer") as outer, ll.step("inner", **mine) as inner:
            inner.set(duration_s="late", error="e0")
        run.set(usage="late")
    records = {(r["kind"], r["name"]): r for r in read_records(tmp_path) if "name" in r}
    start, end = records[("step_start", "inner")], records[("step_ok", "inner")]
    for record in (start, end):
        assert (record["step_id"], record["parent_id"]) == (inner.step_id, outer.step_id)
        assert (record["user_step_id"], record["user_parent_id"]) == ("s0", "p0")
        assert (record["kind"], record["user_kind"], record["user_usage"]) == (
            record["kind"],
            "k0",
            "u0",
        )
    assert isinstance(end["duration_s"], float) and end["user_duration_s"] == "late"
    assert end["user_error"] == "e0" and "error" not in end
    run_ok = records[("run_ok", "r")]
    assert run_ok["user_counts"] == "c0" and isinstance(run_ok["counts"], dict)
    assert run_ok["user_usage"] == "late" and run_ok["user_duration_s"] == "d0"
