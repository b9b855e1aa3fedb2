"""stdlib logging records land in the same file with the same fields."""

from __future__ import annotations

import logging
import logging.config
from pathlib import Path

import llmops_logging as ll

from .conftest import assert_contract, read_records


def test_stdlib_record_inside_run_carries_its_id(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("agent") as run:
        logging.getLogger("httpx").info("HTTP Request: %s %s", "POST", "/v1/chat")
    records = read_records(tmp_path)
    (http,) = [r for r in records if r["logger"] == "httpx"]
    assert_contract(http)
    assert http["run_id"] == run.run_id
    assert http["event"] == "HTTP Request: POST /v1/chat"
    assert http["kind"] == "log" and http["level"] == "info"


def test_extra_fields_and_kind_pass_through(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    logging.getLogger("openai").warning(
        "retrying", extra={"attempt": 2, "kind": "retry", "delay_s": 0.5}
    )
    (record,) = read_records(tmp_path)
    assert record["attempt"] == 2 and record["delay_s"] == 0.5
    assert record["kind"] == "retry" and record["level"] == "warning"
    for stdlib_attribute in ("msg", "args", "levelno", "pathname", "message"):
        assert stdlib_attribute not in record


def test_stdlib_exception_becomes_error_field(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        logging.getLogger("old").exception("division failed")
    (record,) = read_records(tmp_path)
    assert record["level"] == "error"
    assert record["error"]["type"] == "ZeroDivisionError"
    assert "1 / 0" in record["error"]["traceback"]


def test_bad_format_arguments_still_write_a_record(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    logging.getLogger("old").info("%d items", "not-a-number")
    ll.get_logger("new").info("%s and %s", "only one")
    a, b = read_records(tmp_path)
    assert a["event"] == "%d items" and "format_error" in a
    assert a["format_args"] == ["'not-a-number'"]
    assert b["event"] == "%s and %s" and "format_error" in b


def test_dict_message(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    logging.getLogger("lib").info({"event": "structured", "n": 3})
    (record,) = read_records(tmp_path)
    assert record["event"] == "structured" and record["n"] == 3


def test_capture_stdlib_false_leaves_root_alone(tmp_path: Path) -> None:
    root = logging.getLogger()
    handlers_before = list(root.handlers)
    ll.configure(tmp_path, capture_stdlib=False)
    logging.getLogger("lib").error("not captured")
    ll.get_logger("x").info("captured")
    assert root.handlers == handlers_before
    assert [r["event"] for r in read_records(tmp_path)] == ["captured"]


def test_handler_and_formatter_from_dictconfig(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"jsonl": {"()": "llmops_logging.JsonlFormatter"}},
            "handlers": {
                "file": {
                    "class": "llmops_logging.RotatingJsonlHandler",
                    "filename": str(path),
                    "max_bytes": 4096,
                    "backup_count": 3,
                    "formatter": "jsonl",
                }
            },
            "loggers": {"dc": {"handlers": ["file"], "level": "INFO", "propagate": False}},
        }
    )
    try:
        logger = logging.getLogger("dc")
        for i in range(100):
            logger.info("line %d", i, extra={"i": i})
    finally:
        for handler in logger.handlers:
            handler.close()
        logger.handlers.clear()
    records = read_records(tmp_path, live="app.jsonl")
    kept = [r["i"] for r in records]
    assert kept == list(range(100 - len(kept), 100))  # the newest survive retention
    assert len(list(tmp_path.glob("app.jsonl.*"))) == 3
    for record in records:
        assert_contract(record)
        assert record["logger"] == "dc"


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
