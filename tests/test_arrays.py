"""Arrays of other libraries (numpy, anything with a `tolist` of known size) become JSON lists,
cut at the record's budget like any list, without the library importing numpy itself."""

from __future__ import annotations

import array
import logging
import math
import subprocess
import sys
from pathlib import Path

import pytest

import llmops_logging as ll
from llmops_logging._render import DEFAULT_MAX_RECORD_BYTES

from .conftest import assert_contract, read_records
from .test_record_budget import counted_calls

np = pytest.importorskip("numpy")


@pytest.mark.parametrize("redact", [True, False], ids=["redacted", "unredacted"])
def test_arrays_are_written_as_json_lists(tmp_path: Path, redact: bool) -> None:
    ll.configure(tmp_path, redact=redact)
    values = {
        "matrix": np.arange(6).reshape(2, 3),
        "f32": np.array([0.5, 1.5], dtype=np.float32),
        "flags": np.array([True, False]),
        "odd": np.array([math.nan, math.inf, -math.inf, 2.0]),
        "empty": np.array([]),
        "words": np.array(["a", "b"]),
        "stdlib": array.array("d", [1.0, 2.5]),
    }
    ll.get_logger("x").info("arrays", **values, user_id="u-42")
    logging.getLogger("lib").warning("arrays", extra=values)
    for record in read_records(tmp_path):
        assert_contract(record)
        assert record["matrix"] == [[0, 1, 2], [3, 4, 5]]
        assert record["f32"] == [0.5, 1.5] and record["flags"] == [True, False]
        assert record["odd"] == [None, None, None, 2.0]  # strict JSON, like any float
        assert record["empty"] == [] and record["words"] == ["a", "b"]
        assert record["stdlib"] == [1.0, 2.5]
        assert "truncated" not in record


@pytest.mark.parametrize("redact", [True, False], ids=["redacted", "unredacted"])
def test_a_large_array_is_cut_with_a_marker(tmp_path: Path, redact: bool) -> None:
    ll.configure(tmp_path, redact=redact)
    flat, wide = np.arange(10_000_000), np.ones((10_000, 1_000))
    with counted_calls():
        ll.get_logger("x").info("big", flat=flat, wide=wide, user_id="u-42")
    (line,) = (tmp_path / "events.jsonl").read_bytes().splitlines()
    assert len(line) + 1 <= DEFAULT_MAX_RECORD_BYTES
    (record,) = read_records(tmp_path)
    assert record["user_id"] == "u-42" and record["truncated"] is True
    from llmops_logging._render import record_budget  # what the budget allows

    items, _ = record_budget(DEFAULT_MAX_RECORD_BYTES)
    kept = record["flat"][:-1]
    assert kept == list(range(len(kept))) and 100 < len(kept) < items
    assert record["flat"][-1] == f"...[truncated {10_000_000 - len(kept)} items]"
    rows = record["wide"][:-1]
    assert rows and all(row == [1.0] * 1_000 for row in rows)
    assert record["wide"][-1] == f"...[truncated {10_000 - len(rows)} items]"


def test_arrays_are_recognised_without_importing_numpy(tmp_path: Path) -> None:
    code = (
        "import sys, llmops_logging as ll\n"
        "class Grid:\n"
        "    shape = (2, 2)\n"
        "    def tolist(self): return [[1, 2], [3, 4]]\n"
        f"ll.configure({str(tmp_path)!r})\n"
        "ll.get_logger('x').info('duck', grid=Grid())\n"
        "assert 'numpy' not in sys.modules, 'numpy was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    (record,) = read_records(tmp_path)
    assert record["grid"] == [[1, 2], [3, 4]]
