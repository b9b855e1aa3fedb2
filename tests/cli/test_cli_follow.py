"""`llmops-logs tail -f` in a subprocess while other processes write and rotate the log.

Writers log numbered events into a log that rotates every few kilobytes (and gzips the rotated
files), so the follower crosses hundreds of rotations, several per poll. Then SIGINT: every
number must have been printed exactly once, in each writer's order, and the exit status is 0.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmops_logging.cli.tail import Follower

from ..conftest import cli

WRITER = textwrap.dedent(
    """
    import sys, time, llmops_logging as ll
    log_dir, name, count, compress = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    ll.configure(log_dir, max_bytes=3000, backup_count=100000, compress=compress == "gzip")
    log = ll.get_logger(name)
    for i in range(count):
        log.info("numbered", writer=name, i=i)
        if i % 100 == 0:
            time.sleep(0.005)
    """
)


def start_writer(
    log_dir: Path, name: str, count: int, compress: str = "gzip"
) -> subprocess.Popen[bytes]:
    args = [str(log_dir), name, str(count), compress]
    return subprocess.Popen([sys.executable, "-c", WRITER, *args])


def start_tail(log_dir: Path, out: Path, *options: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "llmops_logging.cli", "tail", "-f", "--json", *options]
    with open(out, "wb") as stream:
        return subprocess.Popen([*command, str(log_dir)], stdout=stream, stderr=subprocess.PIPE)


def numbers_by_writer(out: Path) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for line in out.read_bytes().splitlines():
        record = json.loads(line)
        found.setdefault(record["writer"], []).append(record["i"])
    return found


def wait_for_lines(out: Path, count: int, timeout: float = 30) -> None:
    """Until the follower printed `count` lines: a started interpreter can take seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and out.read_bytes().count(b"\n") < count:
        time.sleep(0.05)


def stop(tail: subprocess.Popen[bytes], out: Path, expected_lines: int) -> tuple[int, str]:
    """Wait until the follower printed everything (or 120 s), then Ctrl-C it."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and out.read_bytes().count(b"\n") < expected_lines:
        assert tail.poll() is None, tail.stderr.read() if tail.stderr else ""
        time.sleep(0.05)
    time.sleep(0.3)  # room for a duplicate to show up, if there were one
    tail.send_signal(signal.SIGINT)
    _, err = tail.communicate(timeout=10)
    return tail.returncode, err.decode()


@pytest.mark.parametrize("writers", [2, 4])
def test_follow_from_the_start_across_rotations_while_processes_write(
    tmp_path: Path, writers: int
) -> None:
    """Each writer's records once and in its own order, although writers in flight append to
    files just rotated (and then gzipped) while others already write the next live file."""
    out = tmp_path / "out.jsonl"
    log_dir = tmp_path / "logs"
    log_dir.mkdir()  # no live file yet: the follower waits for it
    # All history too: a follower slow to start (a loaded machine) still sees every record.
    tail = start_tail(log_dir, out, "-n", "1000000")
    names = "abcd"[:writers]
    processes = [start_writer(log_dir, name, 1500) for name in names]
    for process in processes:
        assert process.wait(timeout=120) == 0
    status, err = stop(tail, out, 1500 * writers)
    assert status == 0, err
    assert "Traceback" not in err
    found = numbers_by_writer(out)
    for name in names:
        numbers = found.get(name, [])
        out_of_order = [(a, b) for a, b in itertools.pairwise(numbers) if b != a + 1]
        assert numbers == list(range(1500)), (name, len(numbers), out_of_order[:5], err)
    rotated = [p for p in log_dir.iterdir() if p.name.startswith("events.jsonl.")]
    assert sum(p.suffix == ".gz" for p in rotated) > 100


def test_follow_joins_a_log_midway_with_its_history(tmp_path: Path) -> None:
    """Started while the writer runs, `-n` large: history and followed records meet exactly."""
    out = tmp_path / "out.jsonl"
    writer = start_writer(tmp_path, "a", 3000)
    time.sleep(0.4)
    tail = start_tail(tmp_path, out, "-n", "100000")
    assert writer.wait(timeout=60) == 0
    status, err = stop(tail, out, 3000)
    assert status == 0, err
    assert numbers_by_writer(out) == {"a": list(range(3000))}
    assert sum(p.suffix == ".gz" for p in tmp_path.iterdir()) > 50


def test_follow_waits_for_a_partial_line_to_end(tmp_path: Path) -> None:
    live = tmp_path / "events.jsonl"
    live.write_bytes(b'{"writer":"a","i":0}\n{"writer":"a",')
    out = tmp_path / "out.jsonl"
    tail = start_tail(tmp_path, out)
    wait_for_lines(out, 1)
    time.sleep(0.5)  # room for the unfinished line to show up, if it were printed
    assert numbers_by_writer(out) == {"a": [0]}  # the unfinished line is not printed yet
    with open(live, "ab") as stream:
        stream.write(b'"i":1}\n')
    status, err = stop(tail, out, 2)
    assert status == 0, err
    assert numbers_by_writer(out) == {"a": [0, 1]}


def test_follow_takes_one_log(tmp_path: Path) -> None:
    done = cli("tail", "-f", tmp_path, tmp_path, status=None)
    assert done.returncode == 2 and "follows one log" in done.stderr


def test_a_late_line_in_a_rotated_file_keeps_its_process_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer in flight appends to the file just rotated, then to the new live file, both
    while a poll is under way: its records still come out once each, in `seq` order."""
    live = tmp_path / "events.jsonl"

    def line(seq: int) -> bytes:
        return json.dumps({"event": "n", "pid": 7, "seq": seq}).encode() + b"\n"

    live.write_bytes(line(1))
    in_flight = os.open(live, os.O_WRONLY | os.O_APPEND)  # the writer's descriptor
    fcntl.flock(in_flight, fcntl.LOCK_SH)  # held by the writer, as the handler does
    follower = Follower(str(tmp_path))
    try:
        assert [r["seq"] for r in follower.start(10)] == [1]
        os.rename(live, tmp_path / "events.jsonl.000001")  # another process rotates
        live.write_bytes(b"")
        assert follower.poll() == []  # the follower moves to the new live file
        real_drain = Follower._drain
        late = [line(2), line(3)]

        def drain(self: Follower, tracked: Any, sink: Callable[[Any], Any]) -> None:
            if tracked is self._live and late:  # the writer, in flight, as the poll reads
                os.write(in_flight, late.pop(0))  # into the rotated file
                with open(live, "ab") as stream:
                    stream.write(late.pop(0))  # then, having seen the rotation, live
            real_drain(self, tracked, sink)

        monkeypatch.setattr(Follower, "_drain", drain)
        printed = follower.poll() + follower.poll()
        os.close(in_flight)  # the writer lets go of the rotated file
        printed += follower.poll() + follower.poll()
        assert [r["seq"] for r in printed] == [2, 3]
        assert not follower._watched  # released: no longer watched
    finally:
        follower.close()


def test_follow_names_a_link_planted_as_the_live_file(tmp_path: Path) -> None:
    """The follower neither prints another file's lines through a link nor keeps quiet."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / "events.jsonl.000001").write_bytes(b'{"writer":"a","i":0}\n')
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_bytes(b'{"writer":"planted","i":0}\n')
    (log_dir / "events.jsonl").symlink_to(elsewhere)
    out = tmp_path / "out.jsonl"
    tail = start_tail(log_dir, out)
    status, err = stop(tail, out, 1)
    assert status == 0, err
    assert numbers_by_writer(out) == {"a": [0]}
    assert err.count("events.jsonl: a symbolic link, not read") == 1, err


def _numbered(seq: int) -> bytes:
    return json.dumps({"event": "n", "pid": 7, "seq": seq}).encode() + b"\n"


def test_follow_reads_a_file_rotated_before_it_saw_the_live_file(tmp_path: Path) -> None:
    """Started on an empty directory; by its next poll a writer wrote, rotated and started
    the next live file: the rotated file's records come first, none is skipped."""
    follower = Follower(str(tmp_path))
    try:
        assert follower.start(10) == []
        live = tmp_path / "events.jsonl"
        live.write_bytes(_numbered(1) + _numbered(2))
        os.rename(live, tmp_path / "events.jsonl.000001")
        live.write_bytes(_numbered(3))
        printed = follower.poll() + follower.poll()
        assert [r["seq"] for r in printed] == [1, 2, 3]
    finally:
        follower.close()


def test_follow_counts_an_oversize_line_as_oversize_not_torn(tmp_path: Path) -> None:
    """A line over the reader's 16 MiB limit, in the history and among the followed lines:
    skipped and reported as longer than the limit, never as torn, and the records around it
    are printed."""
    live = tmp_path / "events.jsonl"
    huge = b'{"event":"huge","pad":"' + b"x" * (17 * 2**20) + b'"}\n'
    live.write_bytes(_numbered(1) + huge + _numbered(2))
    out = tmp_path / "out.jsonl"
    tail = start_tail(tmp_path, out)
    wait_for_lines(out, 2)
    with open(live, "ab") as stream:
        stream.write(huge + _numbered(3))
    status, err = stop(tail, out, 3)
    assert status == 0, err
    assert [json.loads(x)["seq"] for x in out.read_bytes().splitlines()] == [1, 2, 3]
    assert "skipped 2 lines longer than the limit, unread" in err, err
    assert "torn" not in err, err
