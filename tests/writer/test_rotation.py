"""Size rotation by rename: every record exactly once, in order, no file past max_bytes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import llmops_logging as ll

from ..conftest import log_files, raw_lines, read_records


def _write(count: int, pad: int = 60, start: int = 0) -> None:
    log = ll.get_logger("rot")
    for i in range(start, start + count):
        log.info("rec", i=i, pad="x" * pad)


def test_rotation_keeps_every_record_once_in_order(tmp_path: Path) -> None:
    ll.configure(tmp_path, max_bytes=2000, backup_count=1000)
    _write(500)
    files = log_files(tmp_path)
    assert len(files) > 20
    for path in files:
        assert path.stat().st_size <= 2000
    assert [r["i"] for r in read_records(tmp_path)] == list(range(500))


def test_rotated_names_are_numbered_and_never_reused(tmp_path: Path) -> None:
    ll.configure(tmp_path, max_bytes=1000, backup_count=3)
    _write(40)
    first = sorted(p.name for p in tmp_path.glob("events.jsonl.*"))
    _write(40, start=40)
    second = sorted(p.name for p in tmp_path.glob("events.jsonl.*"))
    assert len(first) == len(second) == 3
    assert max(first) < min(second)  # retention dropped old names, new numbers went up
    assert all(name[len("events.jsonl.") :].isdigit() for name in second)
    assert sorted(os.listdir(tmp_path)) == [".events.jsonl.lock", "events.jsonl", *second]


def test_retention_keeps_the_newest_records(tmp_path: Path) -> None:
    ll.configure(tmp_path, max_bytes=1500, backup_count=2)
    _write(300)
    kept = [r["i"] for r in read_records(tmp_path)]
    assert len(log_files(tmp_path)) == 3
    assert kept == list(range(300 - len(kept), 300))


def test_a_record_larger_than_max_bytes_gets_a_file_of_its_own(tmp_path: Path) -> None:
    ll.configure(tmp_path, max_bytes=500, backup_count=10)
    log = ll.get_logger("rot")
    log.info("small", i=0)
    log.info("big", i=1, pad="y" * 2000)
    log.info("small", i=2)
    files = log_files(tmp_path)
    assert [len(raw_lines(p)) for p in files] == [1, 1, 1]
    assert [r["i"] for r in read_records(tmp_path)] == [0, 1, 2]


def test_rotation_off_when_max_bytes_or_backup_count_is_zero(tmp_path: Path) -> None:
    ll.configure(tmp_path / "a", max_bytes=0)
    _write(100)
    ll.configure(tmp_path / "b", max_bytes=500, backup_count=0)
    _write(100)
    for sub in ("a", "b"):
        assert [p.name for p in log_files(tmp_path / sub)] == ["events.jsonl"]
        assert len(read_records(tmp_path / sub)) == 100


def test_external_rename_is_followed_at_once_with_check_interval_zero(tmp_path: Path) -> None:
    """A logrotate-style rename by someone else: the handler reopens the live path."""
    ll.configure(tmp_path, check_interval=0)
    _write(3)
    os.rename(tmp_path / "events.jsonl", tmp_path / "moved.jsonl")
    _write(3, start=3)
    assert [r["i"] for r in read_records(tmp_path)] == [3, 4, 5]
    assert [r["i"] for r in read_records(tmp_path, live="moved.jsonl")] == [0, 1, 2]


def test_external_rename_is_followed_within_check_interval(tmp_path: Path) -> None:
    ll.configure(tmp_path, check_interval=0.2)
    _write(3)
    os.rename(tmp_path / "events.jsonl", tmp_path / "moved.jsonl")
    _write(1, start=3)  # within the interval: still the renamed file, nothing lost
    time.sleep(0.25)
    _write(2, start=4)
    assert [r["i"] for r in read_records(tmp_path)] == [4, 5]
    assert [r["i"] for r in read_records(tmp_path, live="moved.jsonl")] == [0, 1, 2, 3]


def test_rotation_by_another_process_is_seen_before_the_next_record(tmp_path: Path) -> None:
    """The shared counter, not the periodic stat, makes writers follow a rotation."""
    first = ll.RotatingJsonlHandler(tmp_path / "events.jsonl", max_bytes=300, backup_count=9)
    second = ll.RotatingJsonlHandler(tmp_path / "events.jsonl", max_bytes=300, backup_count=9)
    try:
        for i in range(12):
            writer = first if i % 3 else second
            writer.write_line(b'{"i":%d,"pad":"%s"}\n' % (i, b"q" * 80))
    finally:
        first.close()
        second.close()
    files = log_files(tmp_path)
    assert len(files) >= 4
    # Each writer reads the size afresh once the other has appended: no file past max_bytes.
    assert all(path.stat().st_size <= 300 for path in files)
    assert [r["i"] for r in read_records(tmp_path)] == list(range(12))


def test_a_signal_handler_that_logs_during_rotation_loses_nothing(tmp_path: Path) -> None:
    """The handler's lock is reentrant, so a signal handler's record can arrive in the middle
    of an opening or a rotation; it is appended on its own, and no rotated file is replaced."""
    ll.configure(tmp_path, max_bytes=20_000, backup_count=100_000)
    log = ll.get_logger("sig")
    alarms = [0]

    def on_alarm(signum: int, frame: object) -> None:
        alarms[0] += 1
        log.info("alarm", n=alarms[0], pad="a" * 60)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
    count = 0
    try:
        while alarms[0] < 200 and count < 500_000:
            log.info("rec", i=count, pad="x" * 60)
            count += 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, previous)
    assert alarms[0] >= 200, f"the timer fired {alarms[0]} times in {count} records"
    records = read_records(tmp_path)
    assert sorted(r["i"] for r in records if r["event"] == "rec") == list(range(count))
    assert sorted(r["n"] for r in records if r["event"] == "alarm") == list(range(1, alarms[0] + 1))
    assert len(log_files(tmp_path)) > 20


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
