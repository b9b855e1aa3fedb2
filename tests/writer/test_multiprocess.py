"""Several processes write and rotate one log: nothing lost, duplicated or torn."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

import llmops_logging as ll

from ..conftest import FORKS_BESIDE_THREADS, log_files, read_records

MAX_BYTES = 16 * 1024
RECORDS = 1500
PAD = "p" * 120

WRITER = """
import sys
import llmops_logging as ll
log_dir, proc, count, max_bytes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
compress = sys.argv[6] == "gzip"
handler = ll.configure(log_dir, max_bytes=max_bytes, backup_count=100000, compress=compress)
log = ll.get_logger("writer")
for i in range(count):
    log.info("rec", proc=proc, i=i, pad=sys.argv[5])
sys.exit(1 if handler.dropped else 0)
"""


def _check_log(log_dir: Path, expected: dict[str, int], in_flight: int) -> None:
    records = read_records(log_dir)  # raises on a torn or non-JSON line
    seen = Counter((r["proc"], r["i"]) for r in records if r["event"] == "rec")
    expected_keys = {(proc, i) for proc, count in expected.items() for i in range(count)}
    assert set(seen) == expected_keys, "lost records"
    assert max(seen.values()) == 1, "duplicated records"
    by_proc: dict[str, list[int]] = defaultdict(list)
    for record in records:
        by_proc[record["proc"]].append(record["i"])
    for proc, numbers in by_proc.items():
        assert numbers == sorted(numbers), f"{proc} out of order across files"
    line_size = max(len(line) for line in (log_dir / "events.jsonl").read_bytes().splitlines())
    for path in log_files(log_dir):
        assert path.stat().st_size <= MAX_BYTES + in_flight * (line_size + 1), path


@pytest.mark.parametrize("compression", ["plain", "gzip"])
def test_independent_processes_share_one_log(tmp_path: Path, compression: str) -> None:
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                str(tmp_path),
                f"p{n}",
                str(RECORDS),
                str(MAX_BYTES),
                PAD,
                compression,
            ]
        )
        for n in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    assert len(log_files(tmp_path)) > 20
    _check_log(tmp_path, {f"p{n}": RECORDS for n in range(4)}, in_flight=4)


def _forked_writer(proc: str) -> None:
    log = ll.get_logger("child")
    for i in range(RECORDS):
        log.info("rec", proc=proc, i=i, pad=PAD)
    handler = ll.current_handler()
    sys.exit(1 if handler is None or handler.dropped else 0)


@FORKS_BESIDE_THREADS
def test_forked_children_inherit_the_handler(tmp_path: Path) -> None:
    ll.configure(tmp_path, max_bytes=MAX_BYTES, backup_count=100000)
    log = ll.get_logger("parent")
    log.info("rec", proc="parent", i=0, pad=PAD)  # the parent opens its files before forking
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_forked_writer, args=(f"c{n}",)) for n in range(3)]
    for child in children:
        child.start()
    for i in range(1, RECORDS):
        log.info("rec", proc="parent", i=i, pad=PAD)
    for child in children:
        child.join(timeout=120)
    assert [c.exitcode for c in children] == [0, 0, 0]
    _check_log(tmp_path, {"parent": RECORDS, **{f"c{n}": RECORDS for n in range(3)}}, 4)

    records = read_records(tmp_path)
    seqs: dict[int, list[int]] = defaultdict(list)
    for record in records:
        seqs[record["pid"]].append(record["seq"])
    assert len(seqs) == 4
    for pid, numbers in seqs.items():
        if pid != records[0]["pid"]:
            assert sorted(numbers) == list(range(1, RECORDS + 1)), "a child's seq has gaps"
    child_run_ids = {r["run_id"] for r in records if r["proc"] != "parent"}
    assert records[0]["run_id"] not in child_run_ids  # each process has its own default run


APPENDER = """
import sys
import llmops_logging as ll
handler = ll.RotatingJsonlHandler(sys.argv[1], max_bytes=int(sys.argv[2]), backup_count=99)
for i in range(int(sys.argv[3])):
    handler.write_line(b'{"w":"b","i":%d,"pad":"%s"}\\n' % (i, b"q" * 80))
handler.close()
sys.exit(1 if handler.dropped else 0)
"""


def test_a_writer_counts_what_another_process_appended_since_its_last_record(
    tmp_path: Path,
) -> None:
    """Between two records of one writer, another process fills the file to within a line
    of max_bytes: the writer's next record rotates first, as if it had written them all.
    A size known only from the writer's own records would append past max_bytes."""
    path = tmp_path / "events.jsonl"
    max_bytes = 1000
    line = b'{"w":"a","i":%d,"pad":"%s"}\n'
    size = len(line % (0, b"q" * 80))
    others = max_bytes // size - 1  # with the first record: full to within one more line
    handler = ll.RotatingJsonlHandler(path, max_bytes=max_bytes, backup_count=99)
    try:
        assert handler.write_line(line % (0, b"q" * 80))
        appender = [sys.executable, "-c", APPENDER, str(path), str(max_bytes), str(others)]
        assert subprocess.run(appender, timeout=60).returncode == 0
        assert path.stat().st_size + size > max_bytes  # the next record cannot fit
        assert handler.write_line(line % (1, b"q" * 80))
    finally:
        handler.close()
    files = log_files(tmp_path)
    assert [p.stat().st_size <= max_bytes for p in files] == [True, True]
    order = [(r["w"], r["i"]) for r in read_records(tmp_path)]
    assert order == [("a", 0), *(("b", i) for i in range(others)), ("a", 1)]
