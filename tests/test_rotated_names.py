"""Which files are rotated files of a log: the writer (which prunes and compresses them) and the
reader (which reads them) take the same names, and leave every other name alone."""

from __future__ import annotations

from pathlib import Path

import pytest

import llmops_logging as ll

FOREIGN = [
    "events.jsonl.\u0661\u0662\u0663\u0664\u0665\u0666",  # Arabic-Indic digits
    "events.jsonl.000002\n",  # a trailing newline
    "events.jsonl.0000003",  # a leading zero past six digits
    "events.jsonl.4",  # logrotate's
    "events.jsonl.000005.GZ",
]


@pytest.mark.parametrize("name", FOREIGN, ids=repr)
def test_a_file_not_of_the_writers_naming_is_left_alone_by_the_writer_and_unread(
    tmp_path: Path, name: str
) -> None:
    planted = tmp_path / name
    planted.write_bytes(b'{"ts":"2026-01-01T00:00:00.000000+00:00","planted":true}\n')
    planted.chmod(0o600)
    ll.configure(tmp_path, max_bytes=800, backup_count=1, compress=True)
    log = ll.get_logger("rot")
    for i in range(40):
        log.info("rec", i=i, pad="x" * 60)
    ll.reset()
    assert planted.read_bytes().endswith(b'"planted":true}\n')  # neither pruned nor compressed
    rotated = sorted(p.name for p in tmp_path.glob("events.jsonl.*") if p.name != name)
    assert rotated and all(n.endswith(".gz") for n in rotated)
    numbers = [int(n.split(".")[2]) for n in rotated]
    assert max(numbers) < 100  # numbering went on from the writer's own files only
    with ll.read_events(tmp_path) as stream:
        records = list(stream)
    assert not any(r.get("planted") for r in records)
    assert stream.report.unread == [str(planted)]
