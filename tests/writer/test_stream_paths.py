"""Paths that are not regular files (a FIFO, a device, `/dev/stdout`) are written straight
through: every record arrives whole, with no rotation, no size check and no lock file."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import llmops_logging as ll

from ..conftest import assert_contract

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX paths only")


def _read_lines(fd: int, want: int, out: list[bytes], timeout: float = 60.0) -> None:
    """Collect lines from a non-blocking FIFO reader until `want` arrived or time runs out."""
    buffer = b""
    deadline = time.monotonic() + timeout
    while len(out) < want and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            continue
        if not chunk:  # no writer attached (yet, or any more)
            time.sleep(0.01)
            continue
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        out.extend(lines)


def test_a_fifo_gets_every_record_without_rotation_or_lock(tmp_path: Path) -> None:
    fifo = tmp_path / "events.jsonl"
    os.mkfifo(fifo, 0o600)
    n = 400  # about 100 KiB: more than the pipe holds, so the reader must keep up
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    lines: list[bytes] = []
    thread = threading.Thread(target=_read_lines, args=(reader, n, lines))
    thread.start()
    try:
        handler = ll.configure(tmp_path, max_bytes=500, backup_count=2)
        log = ll.get_logger("fifo")
        for i in range(n):
            log.info("rec", i=i, pad="p" * 150)
        ll.reset()
    finally:
        thread.join(timeout=120)
        os.close(reader)
    records = [json.loads(line) for line in lines]
    assert [r["i"] for r in records] == list(range(n))
    for record in records:
        assert_contract(record)
    assert handler.dropped == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.jsonl"]  # no lock, no rotation


DICTCONFIG_WRITER = textwrap.dedent(
    """
    import logging, logging.config, sys
    path = sys.argv[1]
    logging.config.dictConfig({
        "version": 1,
        "handlers": {"out": {
            "class": "llmops_logging.RotatingJsonlHandler",
            "filename": path, "max_bytes": 300, "backup_count": 2,
        }},
        "root": {"handlers": ["out"], "level": "INFO"},
    })
    for i in range(60):
        logging.getLogger("app").info("line %d", i)
    print(f"dropped={logging.getLogger().handlers[0].dropped}", file=sys.stderr)
    """
)


def _run_dictconfig(path: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", DICTCONFIG_WRITER, path], timeout=120, check=False, **kwargs
    )  # type: ignore[call-overload, no-any-return]


def test_dictconfig_to_dev_stdout_writes_each_record_to_the_pipe() -> None:
    lock = Path("/dev/.stdout.lock")
    existed = lock.exists()
    try:
        done = _run_dictconfig("/dev/stdout", capture_output=True)
        created = lock.exists() and not existed
    finally:
        if not existed:
            with contextlib.suppress(OSError):
                lock.unlink()
    assert done.returncode == 0, done.stderr
    assert b"dropped=0" in done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["event"] for r in records] == [f"line {i}" for i in range(60)]
    assert {r["logger"] for r in records} == {"app"}
    assert not created


def test_a_link_to_stdout_redirected_to_a_file_appends_to_that_file(tmp_path: Path) -> None:
    """A link the user made (in their own directory) is followed; `/proc/self/fd/1` is what
    `/dev/stdout` names. The file is someone else's to manage: no rotation, no lock."""
    link_dir = tmp_path / "links"
    link_dir.mkdir(mode=0o700)
    link = link_dir / "out.jsonl"
    link.symlink_to("/proc/self/fd/1")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "stdout.txt"
    out.write_bytes(b"first line of the program\n")
    with open(out, "ab") as stdout:
        done = _run_dictconfig(str(link), stdout=stdout, stderr=subprocess.PIPE)
    assert done.returncode == 0, done.stderr
    assert b"dropped=0" in done.stderr
    first, *lines = out.read_bytes().splitlines()
    assert first == b"first line of the program"
    assert [json.loads(line)["event"] for line in lines] == [f"line {i}" for i in range(60)]
    assert sorted(p.name for p in out_dir.iterdir()) == ["stdout.txt"]
    assert sorted(p.name for p in link_dir.iterdir()) == ["out.jsonl"]
    assert link.is_symlink()


def test_dev_null_takes_records_without_a_lock_file() -> None:
    lock = Path("/dev/.null.lock")
    existed = lock.exists()
    handler = ll.RotatingJsonlHandler("/dev/null", max_bytes=100, backup_count=1)
    try:
        for i in range(50):
            assert handler.write_line(b'{"i":%d,"pad":"%s"}\n' % (i, b"n" * 60))
        created = lock.exists() and not existed
    finally:
        handler.close()
        if not existed:
            with contextlib.suppress(OSError):
                lock.unlink()
    assert handler.dropped == 0
    assert not created
