"""Behaviours found missing in review: each was a failure before its fix."""

from __future__ import annotations

import asyncio
import logging
import logging.config
import os
from pathlib import Path

import llmops_logging as ll
from llmops_logging.testing import capture_events

from .conftest import assert_contract, log_files, read_records


def test_field_names_that_shadow_parameters_do_not_raise(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("x")
    log.info("e", self="s", level="l")
    log.info(event="named")
    log.log("warning", "logged", level=3)
    with ll.run("r", self="s"):
        pass
    records = read_records(tmp_path)
    assert [r["event"] for r in records[:3]] == ["e", "named", "logged"]
    assert records[0]["self"] == "s" and records[2]["level"] == "warning"


def test_odd_events_levels_and_kinds_keep_the_contract(tmp_path: Path) -> None:
    ll.configure(tmp_path, level=1)
    log = ll.get_logger("x")
    log.info()
    log.info(42)
    log.log(25, "between info and warning")
    log.info("empty kind", kind="")
    logging.getLogger("lib").log(5, "below debug")
    logging.getLogger("lib").log(45, "between error and critical")
    records = read_records(tmp_path)
    for record in records:
        assert_contract(record)
    assert [r["event"] for r in records[:2]] == ["", "42"]
    assert [r["level"] for r in records[2:]] == ["info", "info", "debug", "error"]
    assert records[3]["kind"] == "log"


def test_stack_info_on_both_routes(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    ll.get_logger("x").info("structlog", stack_info=True)
    logging.getLogger("lib").info("stdlib", stack_info=True)
    a, b = read_records(tmp_path)
    assert "test_stack_info_on_both_routes" in a["stack"] and "stack_info" not in a
    assert "test_stack_info_on_both_routes" in b["stack"]


def test_standalone_formatter_redacts_and_keeps_one_message(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"jsonl": {"class": "llmops_logging.JsonlFormatter"}},
            "handlers": {
                "file": {
                    "class": "llmops_logging.RotatingJsonlHandler",
                    "filename": str(path),
                    "formatter": "jsonl",
                }
            },
            "loggers": {"standalone": {"handlers": ["file"], "level": "INFO"}},
        }
    )
    logger = logging.getLogger("standalone")
    try:
        logger.info("calling with api_key=sk-abcdefghijklmnopqrstuvwx", extra={"event": "x"})
    finally:
        for handler in logger.handlers:
            handler.close()
        logger.handlers.clear()
    (record,) = read_records(tmp_path, live="app.jsonl")
    assert b"sk-abcdefghijklmnopqrstuvwx" not in path.read_bytes()
    assert record["event"].startswith("calling with api_key=") and "message" not in record


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


def test_capture_sees_code_that_configures_logging_itself(tmp_path: Path) -> None:
    with capture_events() as records:
        ll.configure(tmp_path)
        ll.get_logger("x").info("after reconfigure")
    assert [r["event"] for r in records] == ["after reconfigure"]


def test_closed_handler_writes_late_records_without_keeping_files(tmp_path: Path) -> None:
    handler = ll.RotatingJsonlHandler(tmp_path / "events.jsonl")
    handler.write_line(b'{"i":0}\n')
    handler.close()
    before = len(os.listdir("/proc/self/fd"))
    for i in range(1, 20):
        assert handler.write_line(b'{"i":%d}\n' % i)
    assert len(os.listdir("/proc/self/fd")) == before
    assert [r["i"] for r in read_records(tmp_path)] == list(range(20))


def test_a_recreated_lock_file_never_costs_a_rotated_file(tmp_path: Path) -> None:
    first = ll.RotatingJsonlHandler(tmp_path / "events.jsonl", max_bytes=200, backup_count=99)
    first.check_interval = 0
    try:
        for i in range(10):
            first.write_line(b'{"i":%d,"pad":"%s"}\n' % (i, b"a" * 60))
        (tmp_path / ".events.jsonl.lock").unlink()
        second = ll.RotatingJsonlHandler(tmp_path / "events.jsonl", max_bytes=200, backup_count=99)
        try:
            for i in range(10, 30):
                writer = first if i % 2 else second
                writer.write_line(b'{"i":%d,"pad":"%s"}\n' % (i, b"a" * 60))
        finally:
            second.close()
    finally:
        first.close()
    assert sorted(r["i"] for r in read_records(tmp_path)) == list(range(30))
    assert len(log_files(tmp_path)) > 5
