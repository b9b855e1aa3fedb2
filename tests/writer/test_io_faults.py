"""I/O faults never reach the application: records are counted, reported once, and writing
resumes when the cause is gone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import llmops_logging as ll

from ..conftest import read_records

FSIZE_WRITER = """
import resource, sys, logging
import llmops_logging as ll
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
handler = ll.configure(sys.argv[1], max_bytes=0)
log = ll.get_logger("big")
for i in range(500):
    log.info("rec", i=i, pad="f" * 100)
    logging.getLogger("lib").info("stdlib %d", i)
print(handler.dropped, flush=True)
print("still running", flush=True)
"""


def test_file_size_limit_keeps_the_application_running(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", FSIZE_WRITER, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    dropped, still = done.stdout.split("\n")[:2]
    assert still == "still running"
    reports = [line for line in done.stderr.splitlines() if "cannot write" in line]
    assert len(reports) == 1  # once per episode, not once per record
    assert "File too large" in reports[0] or "short write" in reports[0]
    assert "Traceback" not in done.stderr
    data = (tmp_path / "events.jsonl").read_bytes()
    assert len(data) <= 20000
    lines = data.split(b"\n")
    complete = [json.loads(line) for line in lines[:-1]]  # every complete line parses
    assert len(complete) + int(dropped) == 1000  # each record written or counted as dropped


def test_deleted_directory_is_recreated(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    handler = ll.configure(log_dir, check_interval=0)
    log = ll.get_logger("x")
    log.info("before")
    shutil.rmtree(log_dir)
    log.info("after")
    assert handler.dropped == 0
    assert [r["event"] for r in read_records(log_dir)] == ["after"]


def test_unwritable_path_drops_reports_once_and_recovers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_dir = tmp_path / "logs"
    handler = ll.configure(log_dir, check_interval=0)
    log = ll.get_logger("x")
    log.info("one")
    shutil.rmtree(log_dir)
    log_dir.write_text("a file where the directory was")
    for i in range(5):
        log.info("lost", i=i)
    assert handler.dropped == 5
    log_dir.unlink()
    log.info("back")
    err = capsys.readouterr().err
    assert err.count("cannot write") == 1 and "dropping records" in err
    assert "again; 5 records dropped" in err
    assert [r["event"] for r in read_records(log_dir)] == ["back"]
