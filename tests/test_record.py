"""The record contract: every line written through the chain carries the stamps."""

from __future__ import annotations

import logging
import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import llmops_logging as ll

from .conftest import assert_contract, read_records


def test_structlog_event_has_every_contract_field(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    before = datetime.now(timezone.utc)
    ll.get_logger("agent").info("tool_call", tool="search", tokens=12)
    (record,) = read_records(tmp_path)
    assert_contract(record)
    assert record["event"] == "tool_call"
    assert record["kind"] == "log"
    assert record["level"] == "info"
    assert record["logger"] == "agent"
    assert record["pid"] == os.getpid()
    assert record["tool"] == "search" and record["tokens"] == 12
    assert uuid.UUID(record["run_id"]).version == 4
    stamped = datetime.fromisoformat(record["ts"])
    assert stamped.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= stamped <= datetime.now(timezone.utc)


def test_field_order_puts_contract_first(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    ll.get_logger("x").info("e", zeta=1)
    line = (tmp_path / "events.jsonl").read_text().strip()
    assert line.startswith('{"ts":"')
    assert line.index('"pid"') < line.index('"zeta"')


def test_seq_counts_up_and_event_ids_are_unique(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("x")
    for i in range(50):
        log.info("n", i=i)
    logging.getLogger("lib").warning("stdlib too")
    records = read_records(tmp_path)
    seqs = [r["seq"] for r in records]
    assert seqs == list(range(seqs[0], seqs[0] + 51))
    assert len({r["event_id"] for r in records}) == 51


def test_default_run_id_is_stable_outside_runs(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("x")
    log.info("a")
    log.info("b")
    a, b = read_records(tmp_path)
    assert a["run_id"] == b["run_id"]


def test_level_filters_and_lowercase_names(tmp_path: Path) -> None:
    ll.configure(tmp_path, level="WARNING")
    log = ll.get_logger("x")
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.warn("w2")
    log.error("e")
    log.critical("c")
    log.log(logging.INFO, "li")
    log.log("error", "le")
    logging.getLogger("lib").info("stdlib info")
    logging.getLogger("lib").error("stdlib error")
    records = read_records(tmp_path)
    assert [(r["event"], r["level"]) for r in records] == [
        ("w", "warning"),
        ("w2", "warning"),
        ("e", "error"),
        ("c", "critical"),
        ("le", "error"),
        ("stdlib error", "error"),
    ]


def test_static_fields_and_user_kind(tmp_path: Path) -> None:
    ll.configure(tmp_path, fields={"service": "agent-7", "env": "test"})
    ll.get_logger("x").info("sample", kind="sample", i=1)
    (record,) = read_records(tmp_path)
    assert record["service"] == "agent-7" and record["env"] == "test"
    assert record["kind"] == "sample"


def test_stamps_win_over_user_fields_of_the_same_name(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    ll.get_logger("x").info("e", seq="mine", pid="mine", level="mine", ts="mine")
    (record,) = read_records(tmp_path)
    assert_contract(record)


def test_bound_and_contextvar_fields(tmp_path: Path) -> None:
    import structlog

    ll.configure(tmp_path)
    log = ll.get_logger("x").bind(user="u1")
    structlog.contextvars.bind_contextvars(request_id="r-9")
    try:
        log.info("e")
        logging.getLogger("lib").info("std")
    finally:
        structlog.contextvars.clear_contextvars()
    a, b = read_records(tmp_path)
    assert a["user"] == "u1" and a["request_id"] == "r-9"
    assert b["request_id"] == "r-9"


def test_exception_records_error_fields(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("x")
    try:
        raise KeyError("missing")
    except KeyError:
        log.exception("lookup_failed")
    log.error("given", exc_info=ValueError("v"))
    a, b = read_records(tmp_path)
    assert a["level"] == "error"
    assert a["error"]["type"] == "KeyError"
    assert a["error"]["message"] == "'missing'"
    assert "raise KeyError" in a["error"]["traceback"]
    assert b["error"]["type"] == "ValueError" and b["error"]["message"] == "v"


def test_log_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "from-env" / "nested"
    monkeypatch.setenv("LLMOPS_LOG_DIR", str(target))
    handler = ll.configure()
    ll.get_logger("x").info("e")
    assert Path(handler.path) == target / "events.jsonl"
    assert read_records(target)[0]["event"] == "e"


def test_default_log_dir_is_data_raw_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LLMOPS_LOG_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    handler = ll.configure()
    assert Path(handler.path) == tmp_path / "data" / "raw_events" / "events.jsonl"


def test_logger_name_defaults_to_calling_module(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    ll.get_logger().info("e")
    (record,) = read_records(tmp_path)
    assert record["logger"] == __name__


def test_async_methods_write_in_order(tmp_path: Path) -> None:
    import asyncio

    ll.configure(tmp_path)
    log = ll.get_logger("x")

    async def main() -> None:
        await log.ainfo("one")
        await log.awarning("two %s", "args")
        await log.adebug("hidden")

    asyncio.run(main())
    assert [r["event"] for r in read_records(tmp_path)] == ["one", "two args"]


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=0, max_value=250_000_000_000 * 10**9))
def test_ts_is_the_iso_form_of_the_instant(ns: int) -> None:
    """Fixed width, microseconds truncated, the cached second never leaks into the next one."""
    from llmops_logging.processors import format_ts

    instant = datetime.fromtimestamp(ns // 10**9, timezone.utc)
    instant = instant.replace(microsecond=ns // 1000 % 10**6)
    assert format_ts(ns) == instant.isoformat(timespec="microseconds")
    later = instant + timedelta(microseconds=1)
    assert format_ts(ns + 1000) == later.isoformat(timespec="microseconds")


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
