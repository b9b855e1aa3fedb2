"""The stamps are the library's: no user field forges them, and `seq` counts one file's records."""

from __future__ import annotations

import io
import logging
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import structlog

import llmops_logging as ll

from .conftest import FORKS_BESIDE_THREADS, assert_contract, read_records

FORGED: dict[str, Any] = {
    "ts": "1999-01-01T00:00:00.000000+00:00",
    "run_id": "forged-run",
    "event_id": "forged-id",
    "seq": 0,
    "pid": 1,
    "level": "critical",
    "logger": "forged-logger",
}


def _log_with_forged_fields(route: str) -> None:
    log = ll.get_logger("agent")
    if route == "keywords":
        log.info("e", kind="mine", **FORGED)
    elif route == "bind":
        log.bind(**FORGED).info("e", kind="mine")
    elif route == "contextvars":
        structlog.contextvars.bind_contextvars(**FORGED)
        try:
            log.info("e", kind="mine")
        finally:
            structlog.contextvars.clear_contextvars()
    elif route == "static fields":
        log.info("e", kind="mine")
    else:  # stdlib forbids only LogRecord attribute names in `extra`, none of the stamps
        logging.getLogger("agent").info("e", extra={"kind": "mine", **FORGED})


@pytest.mark.parametrize("route", ["keywords", "bind", "contextvars", "static fields", "extra"])
def test_a_user_field_never_replaces_a_stamp_and_is_kept_renamed(
    tmp_path: Path, route: str
) -> None:
    ll.configure(tmp_path, fields=FORGED if route == "static fields" else None)
    before = time.time()
    with ll.run("r") as run:
        _log_with_forged_fields(route)
    after = time.time()
    start, record, end = read_records(tmp_path)
    assert_contract(record)
    assert before - 1 <= datetime.fromisoformat(record["ts"]).timestamp() <= after + 1
    assert record["run_id"] == run.run_id
    assert record["event_id"] not in (FORGED["event_id"], start["event_id"], end["event_id"])
    assert (start["seq"], record["seq"], end["seq"]) == (1, 2, 3)
    assert record["pid"] == os.getpid()
    assert (record["level"], record["logger"]) == ("info", "agent")
    assert (record["event"], record["kind"]) == ("e", "mine")  # the user's own
    for name, value in FORGED.items():
        assert record[f"user_{name}"] == value, name
    if route == "static fields":  # the boundary records keep their stamps too
        assert start["run_id"] == end["run_id"] == run.run_id
        assert start["user_run_id"] == FORGED["run_id"]


def test_a_renamed_user_value_does_not_replace_another_user_field(tmp_path: Path) -> None:
    ll.configure(tmp_path, fields={"kind": "static"})
    ll.get_logger("x").info("e", pid=1, user_pid=2, _created_ns=0, event="a field")
    logging.getLogger("lib").info("message", extra={"event": "an extra"})
    record, stdlib = read_records(tmp_path)
    assert (record["pid"], record["user_pid"], record["user_user_pid"]) == (os.getpid(), 2, 1)
    assert record["kind"] == "log" and record["user_kind"] == "static"
    assert record["_created_ns"] == 0 and not record["ts"].startswith("1970")
    assert (record["event"], record["user_event"]) == ("e", "a field")
    assert (stdlib["event"], stdlib["user_event"]) == ("message", "an extra")


def _assert_seq_consecutive_per_pid(records: list[dict[str, Any]]) -> dict[int, int]:
    by_pid: dict[int, list[int]] = {}
    for record in records:
        assert_contract(record)
        by_pid.setdefault(record["pid"], []).append(record["seq"])
    for pid, seqs in by_pid.items():
        assert seqs == list(range(1, len(seqs) + 1)), (pid, seqs)
    return {pid: len(seqs) for pid, seqs in by_pid.items()}


def _wait_for(child: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while os.waitpid(child, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(child, 9)
            os.waitpid(child, 0)
            pytest.fail("the forked child did not finish")
        time.sleep(0.01)


@FORKS_BESIDE_THREADS
def test_seq_counts_the_records_of_the_file_whatever_else_formats_them(tmp_path: Path) -> None:
    """A console echo and other handlers formatting the same records leave no gap in the file."""
    ll.configure(tmp_path, console=True)
    root = logging.getLogger()
    shared = logging.StreamHandler(io.StringIO())  # the file's own formatter, shared
    shared.setFormatter(ll.current_handler().formatter)  # type: ignore[union-attr]
    separate = logging.StreamHandler(io.StringIO())
    separate.setFormatter(ll.JsonlFormatter())
    root.addHandler(shared)
    root.addHandler(separate)
    try:
        log = ll.get_logger("x")
        for i in range(30):
            log.info("structlog", i=i)
            logging.getLogger("lib").info("stdlib %d", i)
            if i == 15:  # the same file again: its counter goes on
                ll.configure(tmp_path, console=True)
        child = os.fork()
        if child == 0:  # pragma: no cover - the child's records are checked below
            try:
                for i in range(10):
                    log.info("child", i=i)
                    logging.getLogger("lib").info("child stdlib")
            finally:
                os._exit(0)
        _wait_for(child)
        log.info("after the fork")
    finally:
        root.removeHandler(shared)
        root.removeHandler(separate)
    assert separate.stream.getvalue().count("\n") == 30  # the parent's stdlib records
    counts = _assert_seq_consecutive_per_pid(read_records(tmp_path))
    assert counts[os.getpid()] == 61 and sorted(counts.values()) == [20, 61]


def test_a_chain_built_by_hand_stamps_records_for_any_logger() -> None:
    """`build_processors()` in someone's own structlog setup: its loggers are neither ours nor
    the formatter's (no name, counter or creation time), and still every stamp is written."""
    import orjson

    from llmops_logging.processors import build_processors

    out = io.BytesIO()
    structlog.configure(
        processors=build_processors(), logger_factory=structlog.BytesLoggerFactory(out)
    )
    try:
        before = time.time()
        structlog.get_logger().info("first", kind="mine")
        structlog.get_logger().info("second", kind="mine")
        after = time.time()
    finally:
        structlog.reset_defaults()
    records = [orjson.loads(line) for line in out.getvalue().splitlines() if line]
    assert [r["event"] for r in records] == ["first", "second"]
    for record in records:
        assert_contract(record)
        assert record["logger"] == "root" and record["kind"] == "mine"
        assert before - 1e-6 <= datetime.fromisoformat(record["ts"]).timestamp() <= after + 1e-6
    assert records[1]["seq"] == records[0]["seq"] + 1
    assert records[0]["event_id"] != records[1]["event_id"]


FORGED_STEP = {"step_id": "forged-step", "parent_id": "forged-parent"}


def _log_with_forged_step(route: str) -> None:
    log = ll.get_logger("agent")
    if route == "keywords":
        log.info("e", **FORGED_STEP)
    elif route == "bind":
        log.bind(**FORGED_STEP).info("e")
    elif route == "contextvars":
        structlog.contextvars.bind_contextvars(**FORGED_STEP)
        try:
            log.info("e")
        finally:
            structlog.contextvars.clear_contextvars()
    elif route == "static fields":
        log.info("e")
    else:
        logging.getLogger("agent").info("e", extra=dict(FORGED_STEP))


@pytest.mark.parametrize("route", ["keywords", "bind", "contextvars", "static fields", "extra"])
@pytest.mark.parametrize("in_step", [True, False], ids=["in a step", "outside steps"])
def test_a_user_step_id_or_parent_id_is_kept_renamed_and_never_moves_the_record(
    tmp_path: Path, route: str, in_step: bool
) -> None:
    ll.configure(tmp_path, fields=FORGED_STEP if route == "static fields" else None)
    with ll.run("r"):
        if in_step:
            with ll.step("s") as step:
                _log_with_forged_step(route)
        else:
            _log_with_forged_step(route)
    (record,) = [r for r in read_records(tmp_path) if r["event"] == "e"]
    if in_step:
        assert record["step_id"] == step.step_id
    else:
        assert "step_id" not in record
    assert "parent_id" not in record  # only a step's own records have a parent
    assert (record["user_step_id"], record["user_parent_id"]) == ("forged-step", "forged-parent")
