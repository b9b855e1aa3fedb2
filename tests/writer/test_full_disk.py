"""No state of the file system raises a signal in the application: a full disk and a lock file
truncated by someone else give errors (counted, reported once), never SIGBUS."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import read_records


@pytest.fixture
def small_tmpfs() -> Iterator[Path]:
    """A real 256 KiB file system (tmpfs), so that it can be filled."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not sys.platform.startswith("linux"):
        pytest.skip("mounting a small tmpfs needs root on Linux")
    mount_point = Path(tempfile.mkdtemp(prefix="llmops-tmpfs-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if mounted.returncode != 0:
        mount_point.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], timeout=60, check=False)
        with contextlib.suppress(OSError):
            mount_point.rmdir()


def _fill(path: Path) -> None:
    """Write `path` until the file system has no block left."""
    chunk = b"\0" * 4096
    with open(path, "wb", buffering=0) as filler:
        while True:
            try:
                filler.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
        with contextlib.suppress(OSError):  # the last partial page, byte by byte
            while filler.write(b"\0"):
                pass


PHASED_WRITER = textwrap.dedent(
    """
    import sys
    import llmops_logging as ll
    handler = ll.configure(sys.argv[1], max_bytes=16 * 1024, backup_count=1000, check_interval=0)
    log = ll.get_logger("disk")
    for command in sys.stdin:
        phase, n = command.split()
        for i in range(int(n)):
            log.info("rec", phase=phase, i=i, pad="x" * 100)
        print(handler.dropped, flush=True)
    """
)


def test_a_full_disk_drops_and_counts_records_then_writing_resumes(small_tmpfs: Path) -> None:
    log_dir = small_tmpfs / "logs"
    log_dir.mkdir()
    filler = small_tmpfs / "filler"
    _fill(filler)  # full before the first record: the lock file is created on a full disk
    writer = subprocess.Popen(
        [sys.executable, "-c", PHASED_WRITER, str(log_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdin is not None and writer.stdout is not None
        writer.stdin.write("full 100\n")
        writer.stdin.flush()
        dropped_while_full = int(writer.stdout.readline() or -1)
        filler.unlink()
        writer.stdin.write("free 300\n")  # 300 x ~250 B: rotates a few times
        writer.stdin.flush()
        dropped_after = int(writer.stdout.readline() or -1)
        writer.stdin.close()
        returncode = writer.wait(timeout=120)
        err = writer.stderr.read() if writer.stderr else ""
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(timeout=60)
    assert returncode == 0, f"writer ended with {returncode}: {err}"
    records = read_records(log_dir)
    full = [r["i"] for r in records if r["phase"] == "full"]
    assert len(full) + dropped_while_full == 100  # each record written or counted
    assert dropped_while_full > 0
    assert dropped_after == dropped_while_full  # nothing lost once there was room again
    assert [r["i"] for r in records if r["phase"] == "free"] == list(range(300))
    assert err.count("cannot write") == 1 and "No space left on device" in err
    assert err.count(f"again; {dropped_while_full} records dropped") == 1


TRUNCATED_LOCK_WRITER = textwrap.dedent(
    """
    import sys
    import llmops_logging as ll
    handler = ll.configure(sys.argv[1], max_bytes=4096, backup_count=100_000, compress=False)
    log = ll.get_logger("lock")
    print("ready", flush=True)
    for i in range(int(sys.argv[2])):
        log.info("rec", i=i, pad="y" * 40)
    print(handler.dropped, flush=True)
    """
)


def test_a_lock_file_truncated_while_writing_raises_no_signal(tmp_path: Path) -> None:
    n = 6000
    lock = tmp_path / ".events.jsonl.lock"
    writer = subprocess.Popen(
        [sys.executable, "-c", TRUNCATED_LOCK_WRITER, str(tmp_path), str(n)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    truncations = 0
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 120
        while writer.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(FileNotFoundError):
                os.truncate(lock, 0)
                truncations += 1
            time.sleep(0.0005)
        out, err = writer.communicate(timeout=120)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(timeout=60)
    assert writer.returncode == 0, f"writer ended with {writer.returncode}: {err}"
    assert truncations > 0
    assert int(out.strip()) == 0
    records = read_records(tmp_path)
    assert sorted(r["i"] for r in records) == list(range(n))
    assert all(json.dumps(r) for r in records)
