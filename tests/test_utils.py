"""The seed's helpers in llmops_logging.utils."""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

import llmops_logging as ll
from llmops_logging import utils

from .conftest import TS_RE


def test_helpers_are_reexported() -> None:
    for name in utils.__all__:
        assert getattr(ll, name) is getattr(utils, name)


def test_timer_measures_a_block() -> None:
    with ll.Timer() as timer:
        time.sleep(0.02)
    assert 0.02 <= timer.elapsed < 2
    frozen = timer.elapsed
    time.sleep(0.01)
    assert timer.elapsed == frozen
    assert ll.Timer().elapsed == 0.0
    with pytest.raises(RuntimeError):
        ll.Timer().stop()


def test_ids_and_timestamps() -> None:
    run_ids = {ll.new_run_id() for _ in range(100)}
    assert len(run_ids) == 100
    assert all(uuid.UUID(r).version == 4 for r in run_ids)
    stamp = ll.now_iso()
    assert TS_RE.match(stamp)
    assert abs((datetime.fromisoformat(stamp) - datetime.now(timezone.utc)).total_seconds()) < 2


def test_seeded_jitter_repeats() -> None:
    ll.random_seed(123)
    first = [ll.jitter(0.7) for _ in range(100)]
    ll.random_seed(123)
    assert [ll.jitter(0.7) for _ in range(100)] == first
    assert 40 < sum(first) < 95
    assert all(ll.jitter(1.0) for _ in range(20)) and not any(ll.jitter(0.0) for _ in range(20))
    assert ll.jitter(0.5, random.Random(1)) == ll.jitter(0.5, random.Random(1))
    with pytest.raises(ValueError):
        ll.jitter(1.5)


def test_write_jsonl_appends_one_line_per_record(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "out.jsonl"
    assert ll.write_jsonl(path, [{"a": 1}, {"b": "é", "c": {1, 2}}]) == 2
    assert ll.write_jsonl(path, iter([{"d": None}])) == 1
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert [json.loads(x) for x in lines[:-1]] == [{"a": 1}, {"b": "é", "c": [1, 2]}, {"d": None}]
