"""Sampling: a listed kind keeps about its rate, the same way for the same run, and the
closing record's `counts` and `dropped` keep totals exact; warnings and boundaries always pass.

Every check reads the JSON lines written to a real log under `tmp_path`.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import threading
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llmops_logging as ll

from .conftest import hash_unit, read_records

BOUNDARIES = {"run_start", "run_ok", "run_error", "step_start", "step_ok", "step_error"}


def within_binomial(kept: int, n: int, p: float, sigmas: float = 5.0) -> bool:
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    return abs(kept - mean) <= sigmas * sd


def closing(records: list[dict[str, Any]], run_id: str) -> dict[str, Any]:
    (end,) = [r for r in records if r["run_id"] == run_id and r["kind"] in {"run_ok", "run_error"}]
    return end


def test_kept_share_is_binomial_and_totals_are_exact(tmp_path: Path) -> None:
    n, rate, others = 10_000, 0.1, 50
    ll.configure(tmp_path, sample={"sample": rate}, max_bytes=1 << 30)
    log = ll.get_logger("agent")
    with ll.run("sampled") as run:
        for i in range(n):
            log.info("sample", kind="sample", i=i)
        for i in range(others):
            log.info("tool_call", kind="tool", i=i)

    records = read_records(tmp_path)
    kept = [r for r in records if r["kind"] == "sample"]
    assert within_binomial(len(kept), n, rate), (len(kept), n * rate)
    assert all(r["sample_rate"] == rate for r in kept)
    tools = [r for r in records if r["kind"] == "tool"]
    assert len(tools) == others and all("sample_rate" not in r for r in tools)
    end = closing(records, run.run_id)
    assert end["counts"] == {"run_start": 1, "sample": n, "tool": others}
    assert end["dropped"] == {"sample": n - len(kept)}
    assert len(kept) + end["dropped"]["sample"] == end["counts"]["sample"] == n


def test_decision_is_the_hash_of_run_id_kind_and_position(tmp_path: Path) -> None:
    n, rate = 2_000, 0.3
    ll.configure(tmp_path, sample={"sample": rate})
    log = ll.get_logger("agent")
    with ll.run("sampled") as run:
        for i in range(n):
            log.info("sample", kind="sample", i=i)

    kept = {r["i"] for r in read_records(tmp_path) if r["kind"] == "sample"}
    # Position is 1-based among the run's events of that kind.
    expected = {i for i in range(n) if hash_unit(run.run_id, "sample", i + 1) < rate}
    assert kept == expected


def test_same_run_id_samples_the_same_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = uuid.UUID("6f1c1e5e-4b1a-4c55-9a53-2f0d2b7c8e11")
    monkeypatch.setattr(uuid, "uuid4", lambda: fixed)  # the run ids `ll.run` draws
    kept_sets = []
    for attempt in range(2):
        log_dir = tmp_path / str(attempt)
        ll.configure(log_dir, sample={"sample": 0.5})
        log = ll.get_logger("agent")
        with ll.run("replay"):
            for i in range(500):
                log.info("sample", kind="sample", i=i)
        ll.reset()
        kept_sets.append([r["i"] for r in read_records(log_dir) if r["kind"] == "sample"])
    assert kept_sets[0] == kept_sets[1]
    assert 0 < len(kept_sets[0]) < 500


def test_event_names_are_sampled_like_kinds(tmp_path: Path) -> None:
    n, rate = 4_000, 0.25
    ll.configure(tmp_path, sample={"llm_call": rate}, max_bytes=1 << 30)
    log = ll.get_logger("agent")
    with ll.run("by_name") as run:
        for _ in range(n):
            log.info("llm_call")
        for _ in range(100):
            log.info("other")

    records = read_records(tmp_path)
    calls = [r for r in records if r["event"] == "llm_call"]
    others = [r for r in records if r["event"] == "other"]
    assert within_binomial(len(calls), n, rate)
    assert all(r["sample_rate"] == rate for r in calls)
    assert len(others) == 100 and all("sample_rate" not in r for r in others)
    end = closing(records, run.run_id)
    assert end["counts"]["log"] == n + 100
    assert end["dropped"] == {"log": n - len(calls)}


def test_warnings_and_above_are_never_dropped(tmp_path: Path) -> None:
    logging.addLevelName(33, "LLMOPS_TEST_NOTICE")  # a custom level above WARNING
    ll.configure(tmp_path, sample={"sample": 0.0, "log": 0.0}, level="DEBUG")
    log = ll.get_logger("agent")
    stdlib = logging.getLogger("vendor.sdk")
    with ll.run("noisy") as run:
        log.info("info", kind="sample")
        log.debug("debug", kind="sample")
        log.warning("warning", kind="sample")
        log.warn("warn", kind="sample")
        log.error("error", kind="sample")
        log.critical("critical", kind="sample")
        log.log(33, "custom", kind="sample")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("exception", kind="sample")
        stdlib.info("stdlib info")
        stdlib.warning("stdlib warning")
        stdlib.log(33, "stdlib custom")
        stdlib.log(45, "stdlib unnamed 45")
        stdlib.error("stdlib error")

    records = read_records(tmp_path)
    events = {r["event"] for r in records}
    kept = {"warning", "warn", "error", "critical", "custom", "exception", "stdlib warning",
            "stdlib custom", "stdlib unnamed 45", "stdlib error"}  # fmt: skip
    assert kept <= events
    assert not {"info", "debug", "stdlib info"} & events
    end = closing(records, run.run_id)
    assert end["dropped"] == {"sample": 2, "log": 1}
    assert end["counts"] == {"run_start": 1, "sample": 8, "log": 5}


def test_run_and_step_boundaries_are_never_dropped(tmp_path: Path) -> None:
    rates = dict.fromkeys(BOUNDARIES, 0.0) | {"sample": 0.0}
    ll.configure(tmp_path, sample=rates)
    log = ll.get_logger("agent")
    with ll.run("bounded") as run:
        with ll.step("ok_step"):
            log.info("sample", kind="sample")
        with pytest.raises(ValueError), ll.step("failing_step"):
            raise ValueError("step failed")
    with pytest.raises(KeyError), ll.run("failing_run"):
        raise KeyError("run failed")

    kinds = Counter(r["kind"] for r in read_records(tmp_path))
    assert kinds == {"run_start": 2, "run_ok": 1, "run_error": 1, "step_start": 2,
                     "step_ok": 1, "step_error": 1}  # fmt: skip
    end = closing(read_records(tmp_path), run.run_id)
    assert end["dropped"] == {"sample": 1}


def test_head_sampling_keeps_whole_runs(tmp_path: Path) -> None:
    runs_n, rate, per_run = 500, 0.2, 4
    ll.configure(tmp_path, sample_runs=rate, max_bytes=1 << 30)
    log = ll.get_logger("agent")
    for r in range(runs_n):
        with ll.run("episode", r=r):
            for i in range(per_run):
                log.info("tick", i=i)
            log.warning("retrying")

    records = read_records(tmp_path)
    starts = [r for r in records if r["kind"] == "run_start"]
    assert len(starts) == runs_n
    assert all(s["run_sample_rate"] == rate for s in starts)
    sampled = {s["run_id"] for s in starts if s["run_sampled"]}
    assert within_binomial(len(sampled), runs_n, rate)
    for start in starts:
        run_id = start["run_id"]
        assert start["run_sampled"] == (hash_unit(run_id, "run") < rate)
        own = [r for r in records if r["run_id"] == run_id]
        ticks = [r for r in own if r["event"] == "tick"]
        end = closing(records, run_id)
        assert end["counts"] == {"run_start": 1, "log": per_run + 1}
        assert any(r["event"] == "retrying" for r in own)  # a warning, kept either way
        if run_id in sampled:
            assert len(ticks) == per_run and "dropped" not in end
        else:
            assert ticks == [] and end["dropped"] == {"log": per_run}


def test_stdlib_records_are_sampled_and_counted(tmp_path: Path) -> None:
    n, rate = 2_000, 0.5
    ll.configure(tmp_path, sample={"log": rate})
    with ll.run("vendor") as run:
        for i in range(n):
            logging.getLogger("httpx").info("HTTP Request: POST /v1/responses %d", i)

    records = read_records(tmp_path)
    kept = [r for r in records if r["logger"] == "httpx"]
    assert within_binomial(len(kept), n, rate)
    assert all(r["sample_rate"] == rate for r in kept)
    end = closing(records, run.run_id)
    assert len(kept) + end["dropped"]["log"] == end["counts"]["log"] == n


def test_outside_any_run_the_share_still_holds(tmp_path: Path) -> None:
    n, rate = 3_000, 0.2
    ll.configure(tmp_path, sample={"sample": rate})
    log = ll.get_logger("agent")
    for i in range(n):
        log.info("sample", kind="sample", i=i)
    kept = [r for r in read_records(tmp_path) if r["kind"] == "sample"]
    assert within_binomial(len(kept), n, rate)


def test_concurrent_runs_keep_their_own_exact_totals(tmp_path: Path) -> None:
    n, rate, workers = 2_000, 0.3, 4
    ll.configure(tmp_path, sample={"sample": rate}, max_bytes=1 << 30)
    log = ll.get_logger("agent")
    run_ids: list[str] = []

    def work(w: int) -> None:
        with ll.run("worker", w=w) as run:
            run_ids.append(run.run_id)
            for i in range(n):
                log.info("sample", kind="sample", i=i)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    records = read_records(tmp_path)
    assert len(run_ids) == workers
    for run_id in run_ids:
        kept = sum(r["run_id"] == run_id and r["kind"] == "sample" for r in records)
        end = closing(records, run_id)
        assert end["counts"]["sample"] == n
        assert kept + end["dropped"]["sample"] == n
        assert within_binomial(kept, n, rate)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rates=st.dictionaries(
        st.sampled_from(["sample", "tool", "llm_call"]), st.floats(0.0, 1.0), max_size=3
    ),
    kinds=st.lists(st.sampled_from(["sample", "tool", "llm_call", "log"]), max_size=300),
)
def test_counts_and_dropped_always_add_up(rates: dict[str, float], kinds: list[str]) -> None:
    with tempfile.TemporaryDirectory() as log_dir:
        ll.configure(log_dir, sample=rates)
        log = ll.get_logger("agent")
        try:
            with ll.run("mixed") as run:
                for i, kind in enumerate(kinds):
                    log.info("evt", kind=kind, i=i)
        finally:
            ll.reset()
        records = read_records(Path(log_dir))
    emitted = Counter(kinds)
    kept = Counter(r["kind"] for r in records if r["kind"] not in BOUNDARIES)
    end = closing(records, run.run_id)
    assert end["counts"] == {"run_start": 1, **emitted}
    dropped = end.get("dropped", {})
    for kind, count in emitted.items():
        assert kept[kind] + dropped.get(kind, 0) == count
        if kind not in rates:
            assert dropped.get(kind, 0) == 0
        elif rates[kind] == 1.0:
            assert kept[kind] == count
        elif rates[kind] == 0.0:
            assert kept[kind] == 0


@pytest.mark.parametrize(
    ("sample", "sample_runs"),
    [
        (0.1, None),
        ("sample", None),
        ([("sample", 0.1)], None),
        ({"sample": 1.5}, None),
        ({"sample": -0.1}, None),
        ({"sample": True}, None),
        ({"sample": "0.1"}, None),
        ({"sample": float("nan")}, None),
        (None, 1.5),
        (None, "0.2"),
        (None, True),
    ],
)
def test_bad_settings_fail_at_configure(tmp_path: Path, sample: Any, sample_runs: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="sample"):
        ll.configure(tmp_path, sample=sample, sample_runs=sample_runs)
    assert ll.current_handler() is None


def test_nested_runs_follow_the_head_sampling_decision_of_their_root(tmp_path: Path) -> None:
    ll.configure(tmp_path, sample_runs=0.5)
    log = ll.get_logger("x")
    for _ in range(40):
        with ll.run("outer"), ll.run("inner"):
            log.info("work")
    records = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    starts = {r["run_id"]: r for r in records if r["kind"] == "run_start"}
    decisions = {True: 0, False: 0}
    for start in starts.values():
        if start["name"] == "inner":
            assert start["run_sampled"] == starts[start["parent_run_id"]]["run_sampled"]
            decisions[start["run_sampled"]] += 1
    assert decisions[True] > 0 and decisions[False] > 0
    kept_work = {r["run_id"] for r in records if r["event"] == "work"}
    assert kept_work == {i for i, s in starts.items() if s["name"] == "inner" and s["run_sampled"]}
