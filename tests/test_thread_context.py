"""Work handed to threads and thread pools inside a run or step belongs to it: its records
carry the run's id and the step as parent, its LLM calls count in the closing `usage`; the
context is the one at start or submit time; `configure(thread_inherit_context=False)` and
`reset()` put Python's own behaviour back."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest
import structlog
from openai.resources.chat.completions import Completions

import llmops_logging as ll

from .conftest import read_records

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))  # one fake server
import fake_llm
from fake_llm import FakeLLM

ORIGINAL_START = threading.Thread.start
ORIGINAL_SUBMIT = ThreadPoolExecutor.submit


def _call(label: str, tokens: int = 10) -> str:
    """One `llm_call` (input `tokens`, output 5) and one log line, labelled; its thread's name."""
    with ll.llm_call("local-model", provider="local", label=label) as call:
        call.set_usage(tokens, 5)
    ll.get_logger("worker").info("worked", label=label)
    return threading.current_thread().name


def _records(log_dir: Path) -> list[dict[str, Any]]:
    return read_records(log_dir)


def _labelled(records: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["label"]: r for r in records if r["kind"] == kind and "label" in r}


def _closing(records: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (record,) = [r for r in records if r["kind"] == kind and r.get("name") == name]
    return record


def _usage(calls: int, tokens: int) -> dict[str, int]:
    return {"llm_calls": calls, "input_tokens": tokens, "output_tokens": 5 * calls}


def _usage_of(record: dict[str, Any]) -> dict[str, int] | None:
    usage = record.get("usage")
    if usage is None:
        return None
    return {k: usage[k] for k in ("llm_calls", "input_tokens", "output_tokens")}


def test_a_thread_started_inside_a_step_belongs_to_it(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("agent") as run, ll.step("fan-out") as step:
        thread = threading.Thread(target=_call, args=("thread",))
        thread.start()
        thread.join()
    records = _records(tmp_path)
    call = _labelled(records, "llm_call")["thread"]
    line = _labelled(records, "log")["thread"]
    assert call["run_id"] == line["run_id"] == run.run_id
    assert call["parent_id"] == step.step_id and line["step_id"] == step.step_id
    assert _usage_of(_closing(records, "step_ok", "fan-out")) == _usage(1, 10)
    assert _usage_of(_closing(records, "run_ok", "agent")) == _usage(1, 10)


def test_a_thread_subclass_and_a_timer_inherit_the_context_too(tmp_path: Path) -> None:
    class Worker(threading.Thread):
        def run(self) -> None:
            _call("subclass")

    ll.configure(tmp_path)
    with ll.run("agent") as run:
        worker = Worker()
        timer = threading.Timer(0.01, _call, args=("timer",))
        worker.start()
        timer.start()
        worker.join()
        timer.join()
    calls = _labelled(_records(tmp_path), "llm_call")
    assert calls["subclass"]["run_id"] == calls["timer"]["run_id"] == run.run_id


def test_pool_tasks_belong_to_their_submitters_scope_with_submit_and_map(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ThreadPoolExecutor(max_workers=2) as pool, ll.run("agent") as run:
        with ll.step("submitted") as submitted:
            futures = [pool.submit(_call, f"submit-{i}", tokens=i) for i in (1, 2, 3)]
            assert all(f.result() for f in futures)
        with ll.step("mapped") as mapped:
            assert len(list(pool.map(_call, ["map-1", "map-2"], [10, 20]))) == 2
    records = _records(tmp_path)
    calls = _labelled(records, "llm_call")
    for label, step in [(f"submit-{i}", submitted) for i in (1, 2, 3)] + [
        ("map-1", mapped),
        ("map-2", mapped),
    ]:
        assert calls[label]["run_id"] == run.run_id, label
        assert calls[label]["parent_id"] == step.step_id, label
    assert _usage_of(_closing(records, "step_ok", "submitted")) == _usage(3, 6)
    assert _usage_of(_closing(records, "step_ok", "mapped")) == _usage(2, 30)
    assert _usage_of(_closing(records, "run_ok", "agent")) == _usage(5, 36)


def test_a_reused_pool_worker_gives_each_task_its_submitters_context(tmp_path: Path) -> None:
    """One worker, created during the first run, runs tasks of two runs and of no run."""
    ll.configure(tmp_path)
    with ThreadPoolExecutor(max_workers=1) as pool:
        with ll.run("first") as first:
            worker = pool.submit(_call, "first").result()
        with ll.run("second") as second:
            assert pool.submit(_call, "second").result() == worker
        assert pool.submit(_call, "outside").result() == worker
    records = _records(tmp_path)
    calls = _labelled(records, "llm_call")
    assert calls["first"]["run_id"] == first.run_id
    assert calls["second"]["run_id"] == second.run_id
    assert calls["outside"]["run_id"] not in (first.run_id, second.run_id)
    assert _usage_of(_closing(records, "run_ok", "first")) == _usage(1, 10)
    assert _usage_of(_closing(records, "run_ok", "second")) == _usage(1, 10)


def test_a_thread_started_outside_any_run_stays_outside(tmp_path: Path) -> None:
    """The context is the starter's at `start()`, not whatever is current when it runs."""
    ll.configure(tmp_path)
    go = threading.Event()

    def later() -> None:
        go.wait(timeout=30)
        _call("outside")

    thread = threading.Thread(target=later)
    thread.start()
    with ll.run("agent") as run:
        go.set()
        thread.join()
    records = _records(tmp_path)
    call = _labelled(records, "llm_call")["outside"]
    assert call["run_id"] != run.run_id and "parent_id" not in call
    assert "usage" not in _closing(records, "run_ok", "agent")


def test_asyncio_run_in_executor_tasks_belong_to_the_run(tmp_path: Path) -> None:
    ll.configure(tmp_path)

    async def main() -> str:
        async with ll.run("agent") as run:
            await asyncio.get_running_loop().run_in_executor(None, _call, "executor")
        return run.run_id

    run_id = asyncio.run(main())
    records = _records(tmp_path)
    assert _labelled(records, "llm_call")["executor"]["run_id"] == run_id
    assert _usage_of(_closing(records, "run_ok", "agent")) == _usage(1, 10)


def test_fields_bound_with_structlog_contextvars_follow_into_the_pool(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ThreadPoolExecutor(max_workers=1) as pool, ll.run("agent"):
        structlog.contextvars.bind_contextvars(request_id="req-7")
        try:
            pool.submit(_call, "bound").result()
        finally:
            structlog.contextvars.clear_contextvars()
    assert _labelled(_records(tmp_path), "log")["bound"]["request_id"] == "req-7"


@pytest.fixture
def server() -> Iterator[FakeLLM]:
    saved = Completions.__dict__["create"]
    with FakeLLM.start() as fake:
        yield fake
    Completions.create = saved  # type: ignore[method-assign]


def test_an_instrumented_sdk_call_in_a_pool_counts_in_the_step(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = openai.OpenAI(base_url=server.openai_url, api_key="sk-test", max_retries=0)
    ll.instrument_openai(client)
    messages = [{"role": "user", "content": "Say hello"}]
    with ll.run("agent") as run, ll.step("ask") as step, ThreadPoolExecutor(2) as pool:
        for future in [
            pool.submit(client.chat.completions.create, model="gpt-4o-mini", messages=messages)
            for _ in range(2)
        ]:
            future.result()
    records = _records(tmp_path)
    calls = [r for r in records if r["kind"] == "llm_call"]
    assert len(calls) == 2
    for call in calls:
        assert call["run_id"] == run.run_id and call["parent_id"] == step.step_id
    prompt = fake_llm.tokens(messages)
    usage = _closing(records, "step_ok", "ask")["usage"]
    assert usage["llm_calls"] == 2 and usage["input_tokens"] == 2 * prompt


def test_with_the_switch_off_threads_and_pools_start_with_their_own_context(
    tmp_path: Path,
) -> None:
    ll.configure(tmp_path, thread_inherit_context=False)
    assert threading.Thread.start is ORIGINAL_START
    assert ThreadPoolExecutor.submit is ORIGINAL_SUBMIT
    with ll.run("agent") as run, ThreadPoolExecutor(max_workers=1) as pool:
        thread = threading.Thread(target=_call, args=("thread",))
        thread.start()
        thread.join()
        pool.submit(_call, "pool").result()
    records = _records(tmp_path)
    for call in _labelled(records, "llm_call").values():
        assert call["run_id"] != run.run_id and "parent_id" not in call
    assert "usage" not in _closing(records, "run_ok", "agent")


def test_reset_puts_the_original_methods_back(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    wrapped = threading.Thread.start, ThreadPoolExecutor.submit
    assert wrapped[0] is not ORIGINAL_START and wrapped[1] is not ORIGINAL_SUBMIT
    ll.configure(tmp_path)  # a second configure wraps nothing twice
    assert (threading.Thread.start, ThreadPoolExecutor.submit) == wrapped
    ll.reset()
    assert threading.Thread.start is ORIGINAL_START
    assert ThreadPoolExecutor.submit is ORIGINAL_SUBMIT


def test_a_method_wrapped_by_other_code_since_is_left_in_place(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    ours = threading.Thread.start

    def theirs(self: threading.Thread) -> None:
        ours(self)

    threading.Thread.start = theirs  # type: ignore[method-assign]
    try:
        ll.configure(tmp_path, thread_inherit_context=False)
        assert threading.Thread.start is theirs  # their wrapper stays; ours passes through
        with ll.run("agent") as run:
            thread = threading.Thread(target=_call, args=("thread",))
            thread.start()
            thread.join()
        ll.reset()
        assert threading.Thread.start is theirs
        assert _labelled(_records(tmp_path), "llm_call")["thread"]["run_id"] != run.run_id
    finally:
        threading.Thread.start = ORIGINAL_START  # type: ignore[method-assign]


def test_a_pool_worker_itself_starts_outside_its_first_submitters_run(tmp_path: Path) -> None:
    """The worker a pool makes during a `submit()` is the pool's, not the submitter's: its
    `initializer` holds no run; only each task runs in its submitter's context."""
    ll.configure(tmp_path)

    def initializer() -> None:
        ll.get_logger("init").info("worker_up", label="init")

    with (
        ThreadPoolExecutor(max_workers=1, initializer=initializer) as pool,
        ll.run("first") as first,
    ):
        pool.submit(_call, "first").result()
    records = _records(tmp_path)
    (up,) = [r for r in records if r["event"] == "worker_up"]
    assert up["run_id"] != first.run_id
    assert _labelled(records, "llm_call")["first"]["run_id"] == first.run_id
