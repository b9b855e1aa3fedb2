"""A fork at any moment, even while another thread is inside the careful write path, leaves
the child with a clean handler: every record of every process is written exactly once, and
no file grows past `max_bytes` by more than the lines other writers had in flight."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import llmops_logging as ll

from ..conftest import log_files, read_records

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


_ROOT = Path(__file__).resolve().parents[2]

_WORKER_SCRIPT = """
import os, sys, time
import llmops_logging as ll
from llmops_logging.llm import _call

log_dir = sys.argv[1]
ll.configure(log_dir)

def dropped_and_recorded(model):
    call = ll.llm_call(model, provider="p").start()
    _call.ensure_worker()  # what a watched stream does before its finalizer can fire
    _call.abandon(call)  # what that finalizer does when the stream is dropped half-read
    deadline = time.monotonic() + 30
    live = os.path.join(log_dir, "events.jsonl")
    while time.monotonic() < deadline:
        if os.path.exists(live) and f'"chat {model}"' in open(live).read():
            return True
        time.sleep(0.01)
    return False

assert dropped_and_recorded("in-parent")
pid = os.fork()
if pid == 0:  # no exit handlers: only the worker can write the record
    os._exit(0 if dropped_and_recorded("in-child") else 3)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_a_forked_child_records_the_calls_it_abandons(tmp_path: Path) -> None:
    """The parent's finishing worker does not exist in a child: the child starts its own."""
    env = {**os.environ, "PYTHONPATH": str(_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _WORKER_SCRIPT, str(tmp_path)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    calls = {r["event"]: r for r in read_records(tmp_path) if r["kind"] == "llm_call"}
    assert set(calls) == {"chat in-parent", "chat in-child"}
    assert calls["chat in-child"]["stream_incomplete"] is True
    assert calls["chat in-child"]["pid"] != calls["chat in-parent"]["pid"]


_PRICES_SCRIPT = """
import importlib.machinery, json, os, sys, threading, time

parent = os.getpid()
inside, gate = threading.Event(), threading.Event()

class HoldTheLoad:
    # genai_prices takes a second to import: hold its import half done while the parent forks
    def find_spec(self, name, path=None, target=None):
        if name != "genai_prices":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module
        def exec_module(module):
            if os.getpid() == parent:
                inside.set()
                gate.wait()
            run(module)
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, HoldTheLoad())
import llmops_logging as ll

log_dir = sys.argv[1]
ll.configure(log_dir)

def priced(caller):
    with ll.llm_call("gpt-4o-mini", provider="openai", caller=caller) as call:
        call.set_usage(1000, 100)
    with open(os.path.join(log_dir, "events.jsonl")) as live:
        mine = [r for r in map(json.loads, live) if r.get("caller") == caller]
    return "cost_usd" in mine[-1]

def priced_within(caller, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if priced(caller):
            return True
        time.sleep(0.05)
    return False

assert not priced("parent")  # the first call starts the load, and it is held
assert inside.wait(30)
pid = os.fork()
if pid == 0:
    os._exit(0 if priced_within("child", 30) else 3)
gate.set()
assert priced_within("parent", 30)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_a_child_forked_mid_price_load_prices_its_calls(tmp_path: Path) -> None:
    """The load runs in a thread of the parent, which a child does not have: the child loads
    the table again, and not from the modules that thread left half-imported."""
    pytest.importorskip("genai_prices")
    env = {**os.environ, "PYTHONPATH": str(_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _PRICES_SCRIPT, str(tmp_path)],
        capture_output=True, text=True, timeout=180, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    calls = [r for r in read_records(tmp_path) if r["kind"] == "llm_call"]
    child = [r for r in calls if r["caller"] == "child"]
    assert child[-1]["cost_usd"] > 0 and child[-1]["cost_source"].startswith("genai-prices")
    assert {r["pid"] for r in child} != {r["pid"] for r in calls if r["caller"] == "parent"}
