"""`validate`: fastjsonschema's verdict agrees with jsonschema's, which names the problems."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import fastjsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import llmops_logging as ll
from llmops_logging.cli.validate import is_foreign, problems, record_schema

jsonschema = pytest.importorskip("jsonschema")

RECORD = {
    "ts": "2026-11-26T13:05:26.123456+00:00", "run_id": "2b6c78b6-4a9c-4ca4-b2ad-089f0cd4f604",
    "event": "run_error", "kind": "run_error", "level": "error", "logger": "llmops_logging",
    "event_id": "45ebc1479fbbf17a-c", "seq": 12, "pid": 4656, "name": "smoke",
    "duration_s": 0.1, "counts": {"sample": 10},
    "error": {"type": "ValueError", "message": "boom", "traceback": "Traceback ..."},
}  # fmt: skip


@cache
def _fast() -> Any:
    """fastjsonschema's validator, compiled here once (a compile takes milliseconds)."""
    return fastjsonschema.compile(record_schema())


@cache
def _reference() -> Any:
    return jsonschema.Draft202012Validator(record_schema())


def fast_ok(record: Any) -> bool:
    try:
        _fast()(record)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


def jsonschema_ok(record: Any) -> bool:
    return bool(_reference().is_valid(record))


def mutated(path: str, value: Any) -> dict[str, Any]:
    """RECORD with `a.b` set to value (or removed, for the DELETE marker)."""
    record = copy.deepcopy(RECORD)
    *parents, key = path.split(".")
    target = record
    for parent in parents:
        target = target[parent]
    if value is DELETE:
        del target[key]
    else:
        target[key] = value
    return record


class _Delete:
    """The value that removes a field (its repr names it, so test ids are the same in every
    process, as pytest-xdist requires)."""

    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()
MUTATIONS = [
    *((field, DELETE) for field in RECORD),
    ("ts", "2026-11-26T13:05:26Z"), ("ts", "2026-11-26 13:05:26.123456+00:00"), ("ts", 17),
    ("level", "INFO"), ("level", "warn"), ("seq", 0), ("seq", True), ("seq", 1.0),
    ("pid", "4656"), ("pid", -1), ("kind", ""), ("run_id", None), ("event", ["x"]),
    ("duration_s", -0.5), ("duration_s", "1s"), ("duration_s", False),
    ("error", "boom"), ("error.type", None), ("error.traceback", DELETE),
    ("kind", "step_ok"), ("kind", "log"), ("kind", "sample"), ("ok_rate", 1.5),
    ("ok_rate", 0.5), ("step_id", ""), ("parent_id", 3), ("name", 7), ("extra", {"a": [1]}),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value"), MUTATIONS, ids=lambda v: repr(v)[:30])
def test_fast_verdict_agrees_with_jsonschema(path: str, value: Any) -> None:
    """fastjsonschema decides alone when it finds a record valid: it must never pass what
    jsonschema, the reference, fails (and `problems` then lists jsonschema's findings)."""
    record = mutated(path, value)
    assert fast_ok(record) == jsonschema_ok(record)
    assert (not problems(record)) == jsonschema_ok(record), problems(record)


def test_records_the_library_writes_are_valid(tmp_path: Any) -> None:
    import logging

    ll.configure(tmp_path)
    log = ll.get_logger("t")
    with ll.run("r", a=1) as run, ll.step("s", b=2), ll.step("inner"):
        log.info("sample", kind="sample", i=1, ok=True)
        logging.getLogger("lib").warning("from %s", "stdlib")
        try:
            raise KeyError("k")
        except KeyError:
            log.exception("failed")
        run.set(ok_rate=1.0)
    try:
        with ll.run("bad"), ll.step("s"):
            raise ValueError("v")
    except ValueError:
        pass
    ll.reset()
    records = list(ll.read_events(tmp_path))
    assert {"run_start", "step_start", "step_ok", "step_error", "run_error", "sample"} <= {
        r["kind"] for r in records
    }
    for record in records:
        assert problems(record) == [], record
        assert jsonschema_ok(record)
        assert not is_foreign(record)


def test_problems_name_the_field() -> None:
    assert problems(mutated("error.type", None)) == ["error.type: None is not of type 'string'"]
    assert problems(mutated("seq", DELETE)) == ["seq: missing"]


def test_every_problem_of_a_bad_record_is_reported() -> None:
    record = {**mutated("seq", DELETE), "ts": "yesterday", "level": "warn", "kind": "run_ok"}
    del record["name"]
    found = problems(record)
    assert "seq: missing" in found and "name: missing" in found
    assert any(p.startswith("ts: 'yesterday' does not match") for p in found)
    assert any(p.startswith("level: 'warn' is not one of") for p in found)
    assert len(found) == 4, found


values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(-2, 2, allow_nan=False),
    st.sampled_from(["", "x", "info", "run_ok", "step_error", "2026-11-26T13:05:26.123456+00:00"]),
    st.dictionaries(st.sampled_from(["type", "message", "traceback"]), st.text(max_size=3)),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*RECORD, "step_id", "parent_id", "ok_rate"]), values))
def test_random_records_get_the_same_verdict(changes: dict[str, Any]) -> None:
    record = {**RECORD, **changes}
    assert fast_ok(record) == jsonschema_ok(record)
    assert (not problems(record)) == jsonschema_ok(record)
