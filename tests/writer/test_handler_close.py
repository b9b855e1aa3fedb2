"""A closed handler: records logged after close() still land, and no descriptor stays open."""

from __future__ import annotations

import os
from pathlib import Path

import llmops_logging as ll

from ..conftest import read_records


def test_closed_handler_writes_late_records_without_keeping_files(tmp_path: Path) -> None:
    handler = ll.RotatingJsonlHandler(tmp_path / "events.jsonl")
    handler.write_line(b'{"i":0}\n')
    handler.close()
    before = len(os.listdir("/proc/self/fd"))
    for i in range(1, 20):
        assert handler.write_line(b'{"i":%d}\n' % i)
    assert len(os.listdir("/proc/self/fd")) == before
    assert [r["i"] for r in read_records(tmp_path)] == list(range(20))
