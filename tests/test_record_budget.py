"""One log call does bounded work whatever its arguments.

A record visits at most a budget of items and characters (a shared object counts each time it
is reached); what lies past it is cut with the usual markers, and a record still too long for
`max_record_bytes` keeps its small fields and cuts its largest values first. Work is counted,
not timed: every Python and C function call made during the log call, through a profile hook
that stops the call once it has made more than `CALLS` of them (an unbounded walk would make
millions); memory is the peak that `tracemalloc` saw.
"""

from __future__ import annotations

import json
import sys
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import llmops_logging as ll
from llmops_logging._render import DEFAULT_MAX_RECORD_BYTES

from .conftest import assert_contract, read_records

CALLS = 1_000_000
"""Function calls one log call may make: a few times what a walk of the budget makes."""
SECRET = "sk-proj-4f9aQ2xL7mN3pR8sT1vW6yZ0bC5dEhJk"


class WorkExceeded(BaseException):  # not caught by the library's `except Exception`
    pass


@contextmanager
def counted_calls(limit: int = CALLS) -> Iterator[list[int]]:
    """Counts the function calls made inside; raises `WorkExceeded` (a `BaseException`, which
    the library lets through) into the code running when the count passes `limit`."""
    count = [0]

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" or event == "c_call":
            count[0] += 1
            if count[0] > limit:
                sys.setprofile(None)
                raise WorkExceeded

    sys.setprofile(profile)
    try:
        yield count
    finally:
        sys.setprofile(None)


def shared_tree(leaf: Any, levels: int = 20) -> Any:
    """2**levels references to `leaf` through `levels` shared lists: `x = [x, x]`."""
    for _ in range(levels):
        leaf = [leaf, leaf]
    return leaf


def wide_rows() -> list[dict[str, str]]:
    row = {f"field_{j}": f"value {j}" for j in range(1000)}
    return [row] * 10_000


def one_call(tmp_path: Path, redact: bool, **fields: Any) -> tuple[dict[str, Any], int, int]:
    """Log one record with `fields`; the record read back, the calls made, the line's size."""
    ll.configure(tmp_path, redact=redact, capture_stdlib=False)
    log = ll.get_logger("batch")
    with counted_calls() as calls:
        log.info("batch", **fields)
    (line,) = (tmp_path / "events.jsonl").read_bytes().splitlines()
    (record,) = read_records(tmp_path)
    return record, calls[0], len(line) + 1


def leaves(value: Any) -> int:
    if isinstance(value, dict):
        return sum(leaves(v) for v in value.values())
    if isinstance(value, list):
        return sum(leaves(v) for v in value)
    return 1


@pytest.mark.parametrize("redact", [True, False], ids=["redacted", "unredacted"])
def test_shared_references_are_cut_at_the_budget(tmp_path: Path, redact: bool) -> None:
    record, calls, size = one_call(tmp_path, redact, tree=shared_tree("leaf"), user_id="u-42", i=3)
    assert calls <= CALLS
    assert_contract(record)
    assert record["user_id"] == "u-42" and record["i"] == 3
    assert record["truncated"] is True and size <= DEFAULT_MAX_RECORD_BYTES
    from llmops_logging._render import record_budget  # what the budget allows

    items, _ = record_budget(DEFAULT_MAX_RECORD_BYTES)
    assert 1000 < leaves(record["tree"]) <= items
    text = json.dumps(record["tree"])
    assert "...[truncated 1 items]" in text and '"leaf"' in text


@pytest.mark.parametrize("redact", [True, False], ids=["redacted", "unredacted"])
def test_rows_of_a_wide_dict_are_cut_and_the_ids_beside_them_kept(
    tmp_path: Path, redact: bool
) -> None:
    rows = wide_rows()
    record, calls, size = one_call(tmp_path, redact, rows=rows, user_id="u-42", doc_id="d-7", i=3)
    assert calls <= CALLS
    assert_contract(record)
    assert (record["user_id"], record["doc_id"], record["i"]) == ("u-42", "d-7", 3)
    assert record["truncated"] is True and size <= DEFAULT_MAX_RECORD_BYTES
    written = record["rows"]
    assert written[0] == rows[0]  # whole rows first, then the cut
    kept = len(written) - 1
    assert written[-1] == f"...[truncated {10_000 - kept} items]"
    assert 2 <= kept < 100


def test_shared_references_take_bounded_memory(tmp_path: Path) -> None:
    ll.configure(tmp_path, capture_stdlib=False)
    log = ll.get_logger("batch")
    tree, rows = shared_tree("t" * 100), wide_rows()
    with counted_calls(2 * CALLS):  # the guard first: tracemalloc makes an unbounded walk crawl
        log.info("guard", tree=tree, rows=rows)
    tracemalloc.start()
    try:
        log.info("tree", tree=tree, rows=rows, user_id="u-42")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    assert read_records(tmp_path)[-1]["user_id"] == "u-42"


def test_a_secret_past_the_budget_is_never_written(tmp_path: Path) -> None:
    late = [{"note": f"key {SECRET} at the end"}]
    record, calls, _ = one_call(
        tmp_path, True, rows=wide_rows() + late, header=f"Bearer {SECRET}", user_id="u-42"
    )
    assert calls <= CALLS
    data = (tmp_path / "events.jsonl").read_bytes()
    assert SECRET[3:].encode() not in data and SECRET[-12:].encode() not in data
    assert record["header"] == "Bearer [REDACTED]" and record["user_id"] == "u-42"
    assert record["rows"][-1].startswith("...[truncated ")


def test_a_shrunk_record_keeps_every_small_field_and_cuts_the_largest_first(
    tmp_path: Path,
) -> None:
    ll.configure(tmp_path, capture_stdlib=False)
    small = {f"score_{n}": n / 7 for n in range(40)}
    ll.get_logger("x").info(
        "big", prompt="p" * 300_000, context="c" * 100_000, user_id="u-42", doc_id="d-7",
        i=3, **small,
    )  # fmt: skip
    (line,) = (tmp_path / "events.jsonl").read_bytes().splitlines()
    assert len(line) + 1 <= DEFAULT_MAX_RECORD_BYTES
    (record,) = read_records(tmp_path)
    assert_contract(record)
    assert record["truncated"] is True
    assert (record["user_id"], record["doc_id"], record["i"]) == ("u-42", "d-7", 3)
    assert {k: record[k] for k in small} == small
    assert record["context"] == "c" * 100_000  # smaller than its share: kept whole
    assert record["prompt"].startswith("p" * 100_000)  # the largest, cut to the room left
    assert record["prompt"].endswith(" chars]") and "...[truncated " in record["prompt"]


def test_many_wide_fields_keep_the_small_ones(tmp_path: Path) -> None:
    ll.configure(tmp_path, capture_stdlib=False, max_record_bytes=64 * 1024)
    wide = {f"k{n}": "v" * 2000 for n in range(300)}
    ll.get_logger("x").info("wide", **wide, user_id="u-42", i=3)
    (line,) = (tmp_path / "events.jsonl").read_bytes().splitlines()
    assert 48 * 1024 < len(line) + 1 <= 64 * 1024  # cut no more than the room needs
    (record,) = read_records(tmp_path)
    assert_contract(record)
    assert record["user_id"] == "u-42" and record["i"] == 3 and record["truncated"] is True
    assert all(record[k].startswith("vvv") for k in wide)  # each wide field keeps its share
