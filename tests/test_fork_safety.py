"""A fork at any moment, even while another thread is inside the careful write path, leaves
the child with a clean handler: every record of every process is written exactly once, and
no file grows past `max_bytes` by more than the lines other writers had in flight."""

from __future__ import annotations

import gzip
import os
import threading
import time
from pathlib import Path

import pytest

import llmops_logging as ll

from .conftest import log_files, read_records

MAX_BYTES = 4096
CHILDREN = 16
PER_CHILD = 60

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _wait_all(pids: list[int], timeout: float = 120.0) -> list[int]:
    """Exit statuses of the children; a child still running at the deadline is killed."""
    statuses = {}
    deadline = time.monotonic() + timeout
    while len(statuses) < len(pids) and time.monotonic() < deadline:
        for pid in pids:
            if pid not in statuses:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    statuses[pid] = os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    for pid in pids:
        if pid not in statuses:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            statuses[pid] = -9
    return [statuses[pid] for pid in pids]


def _uncompressed_size(path: Path) -> int:
    if path.name.endswith(".gz"):
        return len(gzip.decompress(path.read_bytes()))
    return path.stat().st_size


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_forks_during_a_write_leave_every_child_a_clean_handler(
    tmp_path: Path, compress: bool
) -> None:
    # check_interval=0: the logging thread is inside the careful path at nearly every fork
    handler = ll.configure(
        tmp_path, max_bytes=MAX_BYTES, backup_count=100_000, compress=compress, check_interval=0
    )
    log = ll.get_logger("fork")
    stop = threading.Event()
    written = [0]

    def spin() -> None:
        while not stop.is_set():
            log.info("thread", i=written[0], pad="t" * 60)
            written[0] += 1

    thread = threading.Thread(target=spin)
    thread.start()
    pids: list[int] = []
    try:
        time.sleep(0.05)
        for child in range(CHILDREN):
            pid = os.fork()
            if pid == 0:  # the child: log, then leave without running pytest's teardown
                code = 1
                try:
                    child_log = ll.get_logger("child")
                    for i in range(PER_CHILD):
                        child_log.info("child", c=child, i=i, pad="c" * 60)
                    code = 0
                finally:
                    os._exit(code)
            pids.append(pid)
            time.sleep(0.005)
    finally:
        stop.set()
        thread.join(timeout=120)
    assert _wait_all(pids) == [0] * CHILDREN
    ll.reset()

    records = read_records(tmp_path)
    thread_records = [r["i"] for r in records if r["event"] == "thread"]
    assert sorted(thread_records) == list(range(written[0]))
    for child, pid in enumerate(pids):
        mine = [r["i"] for r in records if r["event"] == "child" and r["c"] == child]
        assert mine == list(range(PER_CHILD)), f"child {child} (pid {pid})"
        assert {r["pid"] for r in records if r["event"] == "child" and r["c"] == child} == {pid}
    assert handler.dropped == 0
    # The documented slack: one line per other process appending at that moment.
    line = max(len(raw) for raw in (tmp_path / "events.jsonl").read_bytes().splitlines()) + 1
    slack = CHILDREN * line
    sizes = {p.name: _uncompressed_size(p) for p in log_files(tmp_path)}
    assert max(sizes.values()) <= MAX_BYTES + slack, sizes
