"""A fold, and the rows made of it, run with the cyclic garbage collector off, which is left as
it was found: the groups a fold keeps and the rows would set off collections that each walk
all of them, and neither makes cycles (one collection may start as the collector is turned
back on)."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from llmops_logging.cli import _fanout
from llmops_logging.cli.runs import RunsFold
from llmops_logging.cli.stats import StatsFold
from llmops_logging.reader import EventStream

RUNS = 3000


@pytest.fixture
def log(tmp_path: Path) -> Path:
    lines: list[dict[str, Any]] = []
    for run in range(RUNS):
        run_id = f"run-{run:05d}"
        ts = f"2026-01-01T00:00:{run % 60:02d}.000000+00:00"
        lines.append({"ts": ts, "run_id": run_id, "kind": "run_start", "name": "eval"})
        lines.append({"ts": ts, "run_id": run_id, "kind": "llm_call", "event": "chat",
                      "gen_ai": {"usage": {"input_tokens": 3, "output_tokens": 2}}})  # fmt: skip
        lines.append({"ts": ts, "run_id": run_id, "kind": "run_ok", "name": "eval",
                      "duration_s": 0.5})  # fmt: skip
    (tmp_path / "events.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in lines))
    return tmp_path


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generations of the collections that started, while the test runs."""
    started: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(note)
    try:
        yield started
    finally:
        gc.callbacks.remove(note)


@pytest.mark.parametrize(
    "make", [RunsFold, functools.partial(StatsFold, "run")], ids=["runs", "stats by run"]
)
def test_a_fold_sets_off_no_collection_and_turns_the_collector_back_on(
    log: Path, collections: list[int], make: Callable[[], Any]
) -> None:
    assert gc.isenabled()
    stream = EventStream([log])
    gc.collect()  # the counts from zero, as the fold begins
    collections.clear()
    rows = _fanout.rows(stream, make)  # the rows made with the collector off too
    assert len(collections) <= 1, collections  # one, as the collector is turned back on
    assert gc.isenabled()
    if make is RunsFold:
        assert len(rows) == RUNS and {r["status"] for r in rows} == {"ok"}
        assert sum(r["llm_calls"] for r in rows) == RUNS
    else:  # a group per run, of its three records
        assert [r["records"] for r in rows] == [3] * RUNS
    # the same number of groups kept outside a fold does set collections off
    collections.clear()
    kept = [RunsFold() for _ in range(3 * RUNS)]
    assert len(collections) > 1, len(kept)


def test_a_collector_turned_off_by_the_caller_stays_off(log: Path) -> None:
    gc.disable()
    try:
        _fanout.fold(EventStream([log]), RunsFold)
        assert not gc.isenabled()
    finally:
        gc.enable()
