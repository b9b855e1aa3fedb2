"""`ship`'s runs given out and what comes after them (`cli/ship/spans.Builder`): a later part
of a run is `unfinished` only when that run had not ended, and the runs remembered for this
are bounded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmops_logging.cli.export.otlp import STATUS_ERROR, span_id, trace_id
from llmops_logging.cli.ship import spans
from llmops_logging.cli.ship.spans import UNFINISHED, Builder

from .conftest import cli


def _record(run_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"ts": "2026-01-01T00:00:00.000000+00:00", "run_id": run_id, "kind": kind,
            "event": kind, "level": "info", "pid": 7, **fields}  # fmt: skip


def _roots(given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [span for span in given if "parentSpanId" not in span]


def test_a_late_part_is_unfinished_only_when_its_run_had_not_ended() -> None:
    builder = Builder()
    position = 0

    def add(record: dict[str, Any]) -> list[dict[str, Any]]:
        nonlocal position
        position += 1
        return builder.add(record, position)

    add(_record("ended", "run_start", name="a"))
    assert [s["name"] for s in add(_record("ended", "run_ok", name="a"))] == ["run a"]
    add(_record("closed", "run_start", name="b"))
    (closed,) = builder.close_stale(0, 1, lambda pid: False)  # its writer is gone
    assert closed["status"] == {"code": STATUS_ERROR, "message": UNFINISHED}
    add(_record("ended", "log"))  # a thread that outlived its run
    add(_record("closed", "log"))  # the run went on: its writer was only slow
    given = builder.close_stale(0, 1, lambda pid: False)
    by_trace = {span["traceId"]: span for span in _roots(given)}
    ended, closed_again = (by_trace[trace_id(run)] for run in ("ended", "closed"))
    assert ended["name"] == closed_again["name"] == "run -"
    assert "status" not in ended
    assert closed_again["status"] == {"code": STATUS_ERROR, "message": UNFINISHED}
    assert ended["spanId"] == span_id("ended", None, 4)  # salted with its record's position
    assert closed_again["spanId"] == span_id("closed", None, 5)


def test_the_runs_remembered_are_the_last_ones_and_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spans, "MAX_ENDED", 2)
    builder = Builder()
    position = 0
    for run in ("r1", "r2", "r3"):
        for kind in ("run_start", "run_ok"):
            position += 1
            builder.add(_record(run, kind, name=run), position)
    assert list(builder.ended) == [span_id("r2"), span_id("r3")]
    assert builder.ended == {span_id("r2"): 1, span_id("r3"): 1}
    restored = Builder(None, dict(builder.ended))  # as the checkpoint gives them back
    assert restored.ended == builder.ended


@pytest.mark.parametrize(
    "cursor, ended",
    [
        ({"files": [], "next": 0, "taken": "many"}, {}),
        ({"files": [], "next": "first", "taken": 0}, {}),
        ({"files": [], "next": 0, "taken": None}, {}),
        ({"files": [], "next": 0, "taken": 0}, ["a list"]),
    ],
)
def test_a_checkpoint_of_another_shape_is_a_usage_error_not_a_traceback(
    tmp_path: Path, cursor: dict[str, Any], ended: Any
) -> None:
    log_dir = tmp_path / "logs"
    log_dir.mkdir(mode=0o700)
    (log_dir / "events.jsonl").write_text(json.dumps(_record("r", "run_start")) + "\n")
    state = {"version": 1, "endpoint": "x", "cursor": cursor, "runs": [], "ended": ended}
    (tmp_path / "checkpoint.json").write_text(json.dumps(state))
    done = cli("ship", log_dir, "--once", "--to", "http://127.0.0.1:9/v1/traces",
               "--checkpoint", tmp_path / "checkpoint.json", status=None)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "the checkpoint cannot be read" in done.stderr
