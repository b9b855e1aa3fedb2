"""Another program removing the live file (`rm`) or truncating it in place (copy-truncate)
is noticed and reported once, with a count of the records that may have gone with it; the
handler then goes on in a fresh file."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import llmops_logging as ll

from ..conftest import read_records

REMOVED = re.compile(r"removed by another program; up to (\d+) record\(s\)")


def test_a_removed_live_file_is_reported_with_what_may_be_lost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = ll.configure(tmp_path, check_interval=0.3)
    log = ll.get_logger("rm")
    for i in range(5):
        log.info("before", i=i)
    (tmp_path / "events.jsonl").unlink()
    err = ""
    after = 0
    deadline = time.monotonic() + 30
    while not REMOVED.search(err) and time.monotonic() < deadline:
        log.info("after", i=after)
        after += 1
        time.sleep(0.01)
        err += capsys.readouterr().err
    match = REMOVED.search(err)
    assert match, err
    for i in range(3):
        log.info("later", i=i)
    err += capsys.readouterr().err
    assert len(REMOVED.findall(err)) == 1  # one report per episode
    found = [r["i"] for r in read_records(tmp_path) if r["event"] == "after"]
    lost = after - len(found)
    assert found == list(range(lost, after))  # the lost ones are the first after the rm
    assert int(match.group(1)) >= lost  # every lost record was counted
    assert [r["i"] for r in read_records(tmp_path) if r["event"] == "later"] == [0, 1, 2]
    assert handler.dropped == 0


def test_a_removal_checked_before_every_record_counts_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ll.configure(tmp_path, check_interval=0)
    log = ll.get_logger("rm")
    log.info("first")
    log.info("second")  # written after the check that still saw the file
    shutil.rmtree(tmp_path)
    log.info("third")
    err = capsys.readouterr().err
    assert "up to 1 record(s)" in err
    assert [r["event"] for r in read_records(tmp_path)] == ["third"]


def test_a_copy_truncate_by_another_tool_is_reported_and_writing_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = ll.configure(tmp_path, check_interval=3600)
    log = ll.get_logger("ct")
    for i in range(5):
        log.info("rec", i=i)
    live = tmp_path / "events.jsonl"
    copy = tmp_path.parent / f"{tmp_path.name}-copy.jsonl"
    shutil.copyfile(live, copy)  # what logrotate's copytruncate does
    with open(live, "r+b") as f:
        f.truncate(0)
    for i in range(5, 10):
        log.info("rec", i=i)
    err = capsys.readouterr().err
    assert err.count("truncated by another program") == 1
    assert handler.dropped == 0
    copied = [r["i"] for r in read_records(copy.parent, copy.name)]
    assert copied == list(range(5))
    assert [r["i"] for r in read_records(tmp_path)] == list(range(5, 10))  # from offset 0
    copy.unlink()


SHORT_PROCESS = """
import os, sys
import llmops_logging as ll
ll.configure(sys.argv[1], check_interval=3600)
log = ll.get_logger("short")
for i in range(3):
    log.info("before", i=i)
os.unlink(os.path.join(sys.argv[1], "events.jsonl"))
log.info("after")
log.info("after")
"""


def test_a_short_process_whose_live_file_is_removed_reports_it_at_exit(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SHORT_PROCESS, str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    match = REMOVED.search(done.stderr)
    assert match, done.stderr
    assert int(match.group(1)) >= 2  # the two records written after the removal
    assert len(REMOVED.findall(done.stderr)) == 1
    assert not (tmp_path / "events.jsonl").exists()


def test_closing_the_handler_reports_a_removal_the_periodic_check_has_not_seen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = ll.configure(tmp_path, check_interval=3600)
    log = ll.get_logger("rm")
    log.info("first")
    (tmp_path / "events.jsonl").unlink()
    log.info("second")
    assert not REMOVED.search(capsys.readouterr().err)  # the check is an hour away
    handler.close()
    match = REMOVED.search(capsys.readouterr().err)
    assert match and int(match.group(1)) >= 1


def test_closing_the_handler_after_a_rename_reports_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = ll.configure(tmp_path, check_interval=3600)
    ll.get_logger("mv").info("first")
    (tmp_path / "events.jsonl").rename(tmp_path / "events.jsonl.000001")  # logrotate
    handler.close()
    assert "another program" not in capsys.readouterr().err
    assert [r["event"] for r in read_records(tmp_path)] == ["first"]
