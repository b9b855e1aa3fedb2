"""configure() replaces the earlier setup: one handler, one line per record, no leaked fds."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

import llmops_logging as ll

from .conftest import read_records


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_configure_twice_writes_each_record_once(tmp_path: Path) -> None:
    log = ll.get_logger("x")  # obtained before configure: must follow it
    ll.configure(tmp_path)
    log.info("first")
    ll.configure(tmp_path)
    log.info("second")
    logging.getLogger("lib").warning("third")
    assert [r["event"] for r in read_records(tmp_path)] == ["first", "second", "third"]
    ours = [h for h in logging.getLogger().handlers if isinstance(h, ll.RotatingJsonlHandler)]
    assert len(ours) == 1


def test_reconfigure_moves_cached_loggers_to_the_new_file_and_level(tmp_path: Path) -> None:
    log = ll.get_logger("x")
    ll.configure(tmp_path / "a")
    log.info("to a")
    ll.configure(tmp_path / "b", level="ERROR")
    log.info("filtered")
    log.error("to b")
    assert [r["event"] for r in read_records(tmp_path / "a")] == ["to a"]
    assert [r["event"] for r in read_records(tmp_path / "b")] == ["to b"]


def test_repeated_configure_leaks_no_descriptors(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    ll.get_logger("x").info("warm up")
    before = _open_fds()
    for i in range(30):
        ll.configure(tmp_path, max_bytes=200)
        ll.get_logger("x").info("again", i=i, pad="x" * 150)
    assert _open_fds() <= before + 1


def test_reset_restores_root_logger(tmp_path: Path) -> None:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    ll.configure(tmp_path, level="DEBUG")
    assert root.level == logging.DEBUG
    ll.reset()
    assert root.level == level and root.handlers == handlers


def test_unknown_level_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        ll.configure(tmp_path, level="LOUD")


def test_log_file_mode_is_private_by_default(tmp_path: Path) -> None:
    handler = ll.configure(tmp_path)
    ll.get_logger("x").info("e")
    assert (os.stat(handler.path).st_mode & 0o777) == 0o600
    ll.configure(tmp_path / "shared", file_mode=0o640)
    ll.get_logger("x").info("e")
    assert (os.stat(tmp_path / "shared" / "events.jsonl").st_mode & 0o777) == 0o640


def test_console_echo_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ll.configure(tmp_path, console=True)
    ll.get_logger("x").info("visible_event", answer=42)
    err = capsys.readouterr().err
    assert "visible_event" in err and "answer" in err and "42" in err
    assert read_records(tmp_path)[0]["answer"] == 42


def test_capture_events_helper(tmp_path: Path) -> None:
    from llmops_logging.testing import capture_events

    with capture_events() as records:
        ll.get_logger("x").info("captured", n=1)
    assert [(r["event"], r["n"]) for r in records] == [("captured", 1)]
    ll.configure(tmp_path)
    with capture_events() as records:
        ll.get_logger("x").info("tapped")
    ll.get_logger("x").info("after")
    assert [r["event"] for r in records] == ["tapped"]
    assert [r["event"] for r in read_records(tmp_path)] == ["tapped", "after"]


def test_records_are_on_disk_at_interpreter_exit(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import llmops_logging as ll, logging, sys\n"
        f"ll.configure({str(tmp_path)!r})\n"
        "ll.get_logger('x').info('last words')\n"
        "logging.getLogger('lib').info('stdlib last words')\n"
        "sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert [r["event"] for r in read_records(tmp_path)] == ["last words", "stdlib last words"]


def test_capture_sees_code_that_configures_logging_itself(tmp_path: Path) -> None:
    from llmops_logging.testing import capture_events

    with capture_events() as records:
        ll.configure(tmp_path)
        ll.get_logger("x").info("after reconfigure")
    assert [r["event"] for r in records] == ["after reconfigure"]


def test_a_jsonl_path_names_the_live_file_and_the_rest_are_keywords(tmp_path: Path) -> None:
    handler = ll.configure(tmp_path / "logs" / "agent.jsonl", max_bytes=10_000)
    ll.get_logger("x").info("hello")
    ll.reset()
    assert handler.path == str(tmp_path / "logs" / "agent.jsonl")
    assert not (tmp_path / "logs" / "agent.jsonl").is_dir()
    assert [r["event"] for r in read_records(tmp_path / "logs", "agent.jsonl")] == ["hello"]
    with pytest.raises(TypeError):
        ll.configure(tmp_path, "events.jsonl")  # type: ignore[misc]


def test_llmops_log_dir_with_a_tilde_is_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LLMOPS_LOG_DIR", "~/agent-logs")
    handler = ll.configure()
    ll.get_logger("x").info("at home")
    ll.reset()
    assert handler.path == str(tmp_path / "agent-logs" / "events.jsonl")
    assert [r["event"] for r in read_records(tmp_path / "agent-logs")] == ["at home"]


def test_level_names_accept_aliases_and_any_case(tmp_path: Path) -> None:
    for name in ("warn", "WARN", "Warning", "warning"):
        ll.configure(tmp_path, level=name)
        log = ll.get_logger("x")
        log.info(f"dropped {name}")
        log.warning(f"kept {name}")
        ll.reset()
    events = [r["event"] for r in read_records(tmp_path)]
    assert events == ["kept warn", "kept WARN", "kept Warning", "kept warning"]
