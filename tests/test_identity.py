"""Record identity across processes: `event_id` is unique in a log that forked children share.

`seq` restarts at 1 in every process, so `(pid, seq)` alone would repeat after a fork; the
children's `event_id`s must still differ from each other's and from the parent's.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from pathlib import Path

import llmops_logging as ll

from .conftest import FORKS_BESIDE_THREADS, assert_contract, read_records

PER_PROCESS = 50


def _write(tag: str, count: int = PER_PROCESS) -> None:
    log = ll.get_logger("identity")
    for i in range(count):
        log.info("rec", who=tag, i=i)


def _assert_unique_ids(records: list[dict[str, object]], tags: list[str]) -> None:
    for record in records:
        assert_contract(record)
    assert Counter(r["who"] for r in records) == dict.fromkeys(tags, PER_PROCESS)
    assert len({r["pid"] for r in records}) == len(tags)
    repeated = [i for i, n in Counter(r["event_id"] for r in records).items() if n > 1]
    assert not repeated, f"event_id written more than once: {repeated[:5]}"
    # Each child counts from 1 again, so its ids must differ from the parent's by more than seq.
    for child in tags[1:]:
        assert min(int(str(r["seq"])) for r in records if r["who"] == child) == 1


@FORKS_BESIDE_THREADS
def test_event_ids_are_unique_across_os_fork_children_and_the_parent(tmp_path: Path) -> None:
    ll.configure(tmp_path, max_bytes=1 << 30)
    _write("parent")
    children = []
    for n in range(3):
        pid = os.fork()
        if pid == 0:  # the child: write, then leave without running the parent's cleanup
            code = 1
            try:
                _write(f"child{n}")
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    for pid in children:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    ll.reset()
    _assert_unique_ids(read_records(tmp_path), ["parent", "child0", "child1", "child2"])


def _mp_child(tag: str) -> None:
    _write(tag)


@FORKS_BESIDE_THREADS
def test_event_ids_are_unique_across_multiprocessing_fork_workers(tmp_path: Path) -> None:
    ll.configure(tmp_path, max_bytes=1 << 30)
    _write("parent")
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_mp_child, args=(f"worker{n}",)) for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    ll.reset()
    _assert_unique_ids(read_records(tmp_path), ["parent", "worker0", "worker1", "worker2"])
