"""Killed writers and partial lines: every later record starts on its own line, intact."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import llmops_logging as ll

from ..cli.test_cli_follow import start_tail, stop, wait_for_lines
from ..conftest import cli, log_files

LOOPING_WRITER = """
import sys, itertools
import llmops_logging as ll
ll.configure(sys.argv[1], max_bytes=8192, backup_count=100000)
log = ll.get_logger("doomed")
print("ready", flush=True)
for i in itertools.count():
    log.info("rec", proc=sys.argv[2], i=i, pad="k" * 200)
"""


def _lines(log_dir: Path) -> list[bytes]:
    lines: list[bytes] = []
    for path in log_files(log_dir):
        lines += path.read_bytes().splitlines()
    return lines


def _bytes_written(log_dir: Path) -> int:
    """The size of the log's files now; they may be renamed while we look."""
    total = 0
    for path in log_dir.glob("events.jsonl*"):
        with contextlib.suppress(FileNotFoundError):
            total += path.stat().st_size
    return total


def _parse(line: bytes) -> dict[str, object] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def test_partial_last_line_is_not_glued_to_the_next_record(tmp_path: Path) -> None:
    live = tmp_path / "events.jsonl"
    live.write_bytes(b'{"ts": "2026-01-01T00:00:00.000000+00:00", "event": "torn", "i"')
    ll.configure(tmp_path)
    ll.get_logger("x").info("after", i=1)
    lines = live.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert _parse(lines[0]) is None
    assert _parse(lines[1]) is not None and _parse(lines[1])["event"] == "after"  # type: ignore[index]


def test_sigkilled_writers_leave_later_records_intact(tmp_path: Path) -> None:
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", LOOPING_WRITER, str(tmp_path), f"w{n}"],
            stdout=subprocess.PIPE,
        )
        for n in range(3)
    ]
    for writer in writers:
        assert writer.stdout is not None and writer.stdout.readline().strip() == b"ready"
    deadline = time.monotonic() + 60  # until they wrote plenty, however loaded the machine
    while time.monotonic() < deadline and _bytes_written(tmp_path) < 300 * 300:
        time.sleep(0.1)
    for writer in writers:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
        assert writer.stdout is not None
        writer.stdout.close()
    assert all(w.returncode == -signal.SIGKILL for w in writers)
    with open(tmp_path / "events.jsonl", "ab") as live:  # what a torn write leaves behind
        live.write(b'{"ts":"2026-11-26T00:00:00.000000+00:00","event":"half')
    ll.configure(tmp_path, max_bytes=8192, backup_count=100000)
    log = ll.get_logger("survivor")
    for i in range(300):
        log.info("after", i=i, pad="s" * 200)

    lines = _lines(tmp_path)
    parsed = [_parse(line) for line in lines]
    torn = [line for line, record in zip(lines, parsed, strict=True) if record is None]
    assert torn == [b'{"ts":"2026-11-26T00:00:00.000000+00:00","event":"half']
    after = [r["i"] for r in parsed if r is not None and r["event"] == "after"]
    assert after == list(range(300))
    killed = [r for r in parsed if r is not None and r["event"] == "rec"]
    assert len(killed) > 100  # the killed writers really wrote, and all of it parses


def test_a_record_glued_to_a_fragment_is_still_read(tmp_path: Path) -> None:
    """A writer killed mid-line while another process keeps appending: the survivor's next
    record lands on the fragment's line, and the reader recovers it."""
    ll.configure(tmp_path)
    log = ll.get_logger("survivor")
    log.info("before", i=0)
    with open(tmp_path / "events.jsonl", "ab") as other_writer:
        other_writer.write(b'{"ts":"2026-11-26T00:00:00.000000+00:00","event":"cut sh')
    log.info("glued", i=1)
    log.info("after", i=2)
    events = ll.read_events(tmp_path)
    assert [r["i"] for r in events] == [0, 1, 2]
    assert events.report.bad == [f"{tmp_path / 'events.jsonl'}:2"]
    assert events.report.records == 3


def test_a_line_still_being_appended_is_not_taken_for_a_torn_tail(tmp_path: Path) -> None:
    """A long write in progress shows a tail without a newline; opening the file waits for it
    to finish instead of putting a newline (and so a blank line) before the next record."""
    path = tmp_path / "events.jsonl"
    long_line = b'{"event":"long","pad":"' + b"w" * (64 * 2**20) + b'"}\n'
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    writer = threading.Thread(target=os.write, args=(fd, long_line))
    writer.start()
    try:
        while path.stat().st_size == 0:  # the write has begun
            time.sleep(0.0005)
        in_progress = path.stat().st_size < len(long_line)
        ll.configure(tmp_path, max_bytes=2**30)
        ll.get_logger("t").info("after")
    finally:
        writer.join()
        os.close(fd)
    lines = path.read_bytes().split(b"\n")
    assert len(lines) == 3 and lines[0] == long_line[:-1] and lines[2] == b""
    assert json.loads(lines[1])["event"] == "after"
    assert in_progress  # else the test proved nothing: the write was already done


GLUING_WRITER = """
import sys
import llmops_logging as ll
ll.configure(sys.argv[1])
log = ll.get_logger("survivor")
log.info("before", i=0)
print("ready", flush=True)
sys.stdin.readline()  # meanwhile another writer dies in the middle of a line
log.info("glued", i=1, payload={"ts": "2026-11-26T00:00:00.000000+00:00", "in": [{"ts": "x"}]})
log.info("after", i=2)
"""
PAYLOAD = {"ts": "2026-11-26T00:00:00.000000+00:00", "in": [{"ts": "x"}]}


def test_a_glued_record_with_nested_stamps_is_recovered_whole_everywhere(tmp_path: Path) -> None:
    """read_events, validate and tail -f all recover the record a running writer appends
    right after a killed writer's fragment, even when its values hold `{"ts":` objects."""
    writer = subprocess.Popen(
        [sys.executable, "-c", GLUING_WRITER, str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert writer.stdin is not None and writer.stdout is not None
    assert writer.stdout.readline().strip() == b"ready"
    out = tmp_path.parent / f"{tmp_path.name}-tail.jsonl"
    tail = start_tail(tmp_path, out)
    wait_for_lines(out, 1)  # following: the glued record reaches it by polling
    fd = os.open(tmp_path / "events.jsonl", os.O_WRONLY | os.O_APPEND)
    os.write(fd, b'{"ts":"2026-11-26T00:00:00.000000+00:00","event":"cut sh')  # no newline
    os.close(fd)
    writer.stdin.write(b"go\n")
    writer.stdin.close()
    assert writer.wait(timeout=60) == 0
    writer.stdout.close()
    live = tmp_path / "events.jsonl"
    assert live.read_bytes().count(b"\n") == 3  # the glued line really is one line

    status, err = stop(tail, out, 3)
    assert status == 0, err
    followed = [json.loads(line) for line in out.read_bytes().splitlines()]
    assert [(r["event"], r["i"]) for r in followed] == [("before", 0), ("glued", 1), ("after", 2)]
    assert followed[1]["payload"] == PAYLOAD and "skipped 1 torn" in err

    stream = ll.read_events(tmp_path)
    read = list(stream)
    assert read == followed
    assert stream.report.bad == [f"{live}:2"] and stream.report.records == 3

    done = cli("validate", "--json", tmp_path, status=None)
    verdict = json.loads(done.stdout)
    assert done.returncode == 1
    assert (verdict["valid"], verdict["torn"], verdict["invalid"]) == (3, 1, 0)
    assert verdict["problems"] == [{"where": f"{live}:2", "problem": "torn or not a JSON object"}]
