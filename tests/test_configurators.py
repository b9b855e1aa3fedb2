"""Other code configuring logging after `configure()`: every line in the file stays a record."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import structlog

import llmops_logging as ll

from .conftest import assert_contract, read_records

ROOT = Path(__file__).resolve().parent.parent


def _tag(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_dict["framework"] = "fw"
    return event_dict


FRAMEWORK_SETUPS: dict[str, dict[str, Any]] = {
    "console renderer": {
        "processors": [structlog.processors.add_log_level, structlog.dev.ConsoleRenderer()],
    },
    "json renderer, filtering wrapper": {
        "processors": [structlog.processors.TimeStamper(), structlog.processors.JSONRenderer()],
        "wrapper_class": structlog.make_filtering_bound_logger(logging.INFO),
    },
    "print logger": {
        "processors": [_tag, structlog.processors.JSONRenderer()],
        "logger_factory": structlog.PrintLoggerFactory(),
    },
    "its own wrapper and logger factory": {
        "processors": [structlog.processors.JSONRenderer()],
        "wrapper_class": structlog.make_filtering_bound_logger(logging.INFO),
        "logger_factory": structlog.PrintLoggerFactory(io.StringIO()),
    },
    "stdlib wrapper": {
        "processors": [structlog.stdlib.add_log_level, structlog.processors.JSONRenderer()],
        "logger_factory": structlog.stdlib.LoggerFactory(),
        "wrapper_class": structlog.stdlib.BoundLogger,
    },
}


@pytest.mark.parametrize("setup", [*FRAMEWORK_SETUPS, "ours extended"])
def test_a_later_structlog_or_basic_config_writes_only_records(tmp_path: Path, setup: str) -> None:
    early = ll.get_logger("early")  # before configure(): a structlog proxy
    ll.configure(tmp_path)
    if setup == "ours extended":  # a framework prepending its processor to the chain in force
        structlog.configure(processors=[_tag, *structlog.get_config()["processors"]])
    else:
        structlog.configure(**FRAMEWORK_SETUPS[setup])
    logging.basicConfig()
    logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(message)s")
    loggers = {"early": early, "later": structlog.get_logger("fw"), "ours": ll.get_logger("x")}
    for who, log in loggers.items():
        with ll.run("job", who=who) as run:
            log.info("hello", who=who)
            log.warning("careful", who=who)
        assert run.run_id
    logging.getLogger("lib").warning("stdlib once")
    records = read_records(tmp_path)
    for record in records:
        assert_contract(record)
    kinds = Counter(r["kind"] for r in records)
    assert kinds["run_start"] == kinds["run_ok"] == 3
    seqs = [r["seq"] for r in records]
    assert seqs == list(range(1, len(records) + 1))
    assert [r["event"] for r in records].count("stdlib once") == 1
    ours = [r for r in records if r.get("who") == "ours" and r["kind"] == "log"]
    assert [(r["event"], r["level"]) for r in ours] == [("hello", "info"), ("careful", "warning")]


RELOADING = """
import importlib, logging, sys
import llmops_logging as ll
import llmops_logging._config
log_dir = sys.argv[1]
ll.configure(log_dir)
logging.getLogger("lib").warning("before the reload")
reloaded = importlib.reload(llmops_logging._config)
reloaded.configure(log_dir)
logging.getLogger("lib").warning("after the reload")
ll.get_logger("x").info("structlog after the reload")
for name in [m for m in sys.modules if m.startswith("llmops_logging")]:
    del sys.modules[name]
import llmops_logging as fresh
assert fresh is not ll
fresh.configure(log_dir)
logging.getLogger("lib").warning("after a fresh import")
fresh.get_logger("x").info("structlog from the fresh copy")
ll.get_logger("x").info("structlog from the old copy")
mine = [h for h in logging.getLogger().handlers if hasattr(h, "write_line")]
print(len(mine))
fresh.reset()
print(len([h for h in logging.getLogger().handlers if hasattr(h, "write_line")]))
"""


def test_a_reloaded_or_reimported_package_leaves_one_handler(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", RELOADING, str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "0"]
    records = read_records(tmp_path)
    for record in records:
        assert_contract(record)
    assert [r["event"] for r in records] == [
        "before the reload",
        "after the reload",
        "structlog after the reload",
        "after a fresh import",
        "structlog from the fresh copy",
        "structlog from the old copy",
    ]
    assert [r["seq"] for r in records] == list(range(1, 7))
