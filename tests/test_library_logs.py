"""configure(levels=...) for other libraries' loggers, and Python warnings as records."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest

import llmops_logging as ll

from .conftest import assert_contract, read_records


def test_levels_quiet_named_loggers_and_reset_restores_them(tmp_path: Path) -> None:
    logging.getLogger("httpcore2").setLevel(logging.NOTSET)
    ll.configure(tmp_path, level="DEBUG", levels={"httpx2": "WARNING", "httpcore2": 30})
    logging.getLogger("httpx2").info("HTTP Request: POST /v1/messages")
    logging.getLogger("httpcore2.http11").debug("send_request_headers.started")
    logging.getLogger("httpx2").warning("Retrying request")
    logging.getLogger("anthropic").debug("Request options")
    events = [r["event"] for r in read_records(tmp_path)]
    assert events == ["Retrying request", "Request options"]

    ll.reset()
    assert logging.getLogger("httpx2").level == logging.NOTSET
    assert logging.getLogger("httpcore2").level == logging.NOTSET


def test_a_new_configure_gives_back_levels_it_no_longer_sets(tmp_path: Path) -> None:
    logging.getLogger("openai").setLevel(logging.INFO)
    ll.configure(tmp_path, levels={"openai": "ERROR", "httpx2": "ERROR"})
    ll.configure(tmp_path, levels={"httpx2": "DEBUG"})
    assert logging.getLogger("openai").level == logging.INFO
    assert logging.getLogger("httpx2").level == logging.DEBUG
    ll.reset()
    assert logging.getLogger("httpx2").level == logging.NOTSET
    logging.getLogger("openai").setLevel(logging.NOTSET)


def test_an_unknown_level_name_fails_before_anything_changes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="LOUD"):
        ll.configure(tmp_path, levels={"httpx2": "LOUD"})
    assert ll.current_handler() is None
    assert logging.getLogger("httpx2").level == logging.NOTSET


def test_warnings_become_records_with_their_category_and_place(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("warned") as run:
        warnings.warn("temperature is deprecated; use sampling", DeprecationWarning, stacklevel=1)
        warnings.warn_explicit(
            "token sk-abcdefghijklmnopqrstuvwxyz0123 seen", UserWarning, "agent.py", 7
        )
    records = [r for r in read_records(tmp_path) if r["kind"] == "warning"]
    first, second = records
    for record in records:
        assert_contract(record)
        assert record["level"] == "warning" and record["logger"] == "py.warnings"
        assert record["run_id"] == run.run_id
    assert first["event"] == "temperature is deprecated; use sampling"
    assert first["warning"] == {
        "category": "DeprecationWarning",
        "filename": __file__,
        "lineno": first["warning"]["lineno"],
    }
    assert isinstance(first["warning"]["lineno"], int) and first["warning"]["lineno"] > 0
    assert second["warning"] == {"category": "UserWarning", "filename": "agent.py", "lineno": 7}
    assert "sk-abc" not in second["event"] and "[REDACTED]" in second["event"]


def test_warnings_follow_the_py_warnings_level_and_can_be_left_alone(tmp_path: Path) -> None:
    ll.configure(tmp_path, levels={"py.warnings": "ERROR"})
    warnings.warn("quiet", UserWarning, stacklevel=1)
    assert read_records(tmp_path) == []
    before = warnings.showwarning
    ll.reset()
    assert warnings.showwarning is not before
    ll.configure(tmp_path, capture_warnings=False)
    with pytest.warns(UserWarning, match="not a record"):
        warnings.warn("not a record", UserWarning, stacklevel=1)
    assert read_records(tmp_path) == []
