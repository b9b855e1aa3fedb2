"""Any value logs: one strict JSON line per call, never an exception in the caller."""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llmops_logging as ll
from llmops_logging import _config

from .conftest import assert_contract, read_records


def _strict(line: bytes) -> dict[str, Any]:
    def reject(token: str) -> Any:
        raise ValueError(token)

    value = json.loads(line, parse_constant=reject)
    assert isinstance(value, dict)
    return value


class Color(enum.Enum):
    RED = "red"


@dataclass
class Point:
    x: int
    y: object


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    __str__ = __repr__


class Model:
    """Shaped like a pydantic model (an SDK response object)."""

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        return {"id": "resp_1", "usage": {"input_tokens": 3}}


def _hostile() -> dict[str, Any]:
    circular: dict[str, Any] = {"name": "loop"}
    circular["self"] = circular
    looped: list[Any] = [1]
    looped.append(looped)
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    return {
        "bytes": b"\x00\xffbin",
        "set": {3, 1, 2},
        "frozen": frozenset({"a"}),
        "dt": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        "naive": datetime(2026, 1, 2),
        "day": date(2026, 1, 2),
        "decimal": Decimal("1.10"),
        "path": Path("/tmp/x"),
        "enum": Color.RED,
        "uuid": UUID(int=1),
        "exc": ValueError("bad value"),
        "circular": circular,
        "looped": looped,
        "bad_repr": BadRepr(),
        "keys": {1: "int", None: "none", (1, 2): "tuple", 2.5: "float"},
        "big": 2**100,
        "neg_big": -(2**70),
        "nan": math.nan,
        "inf": [math.inf, -math.inf],
        "surrogate": "lone \udc80 surrogate",
        "deep": deep,
        "point": Point(1, BadRepr()),
        "model": Model(),
        "type": int,
        "func": len,
    }


def test_hostile_values_each_give_a_strict_line(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("x")
    values = _hostile()
    for key, value in values.items():
        log.info("one", key=key, value=value)
    log.info("all", **values)
    log.info(42)  # an event that is not text: it is written as text like every other
    log.info(BadRepr())
    logging_record = __import__("logging").getLogger("lib")
    logging_record.info("stdlib %s", BadRepr(), extra={"payload": values["circular"]})
    lines = (tmp_path / "events.jsonl").read_bytes().splitlines()
    assert len(lines) == len(values) + 4
    records = [_strict(line) for line in lines]
    for record in records:
        assert_contract(record)
    by_key = {r["key"]: r["value"] for r in records if r["event"] == "one"}
    assert by_key["bytes"] == "\x00\\xffbin"
    assert by_key["set"] == [1, 2, 3]
    assert by_key["dt"] == "2026-01-02T03:04:05+00:00"
    assert by_key["decimal"] == "1.10" and by_key["path"] == "/tmp/x"
    assert by_key["enum"] == "red"
    assert by_key["exc"] == "ValueError: bad value"
    assert by_key["circular"] == {"name": "loop", "self": "[circular]"}
    assert by_key["looped"] == [1, "[circular]"]
    assert by_key["bad_repr"] == "<unrepresentable BadRepr>"
    assert by_key["keys"] == {"1": "int", "null": "none", "(1, 2)": "tuple", "2.5": "float"}
    assert by_key["big"] == str(2**100) and by_key["neg_big"] == str(-(2**70))
    assert by_key["nan"] is None and by_key["inf"] == [None, None]
    assert by_key["surrogate"] == "lone \\udc80 surrogate"
    assert "[max depth]" in json.dumps(by_key["deep"])
    assert by_key["point"] == {"x": 1, "y": "<unrepresentable BadRepr>"}
    assert by_key["model"] == {"id": "resp_1", "usage": {"input_tokens": 3}}
    assert records[-2]["event"] == "<unrepresentable BadRepr>"
    assert records[-1]["event"] == "stdlib %s"
    assert records[-1]["format_args"] == ["<unrepresentable BadRepr>"]
    assert records[-1]["payload"] == {"name": "loop", "self": "[circular]"}


def test_oversized_record_is_truncated_with_a_marker(tmp_path: Path) -> None:
    ll.configure(tmp_path, max_record_bytes=64 * 1024)
    log = ll.get_logger("x")
    log.info("huge", prompt="p" * 1_000_000, small="kept")
    log.info("wide", **{f"k{i}": "v" * 1000 for i in range(500)})
    log.info("long list", items=list(range(200_000)))
    lines = (tmp_path / "events.jsonl").read_bytes().splitlines()
    assert len(lines) == 3
    for line in lines:
        assert len(line) + 1 <= 64 * 1024
        record = _strict(line)
        assert_contract(record)
        assert record["truncated"] is True
    huge = _strict(lines[0])
    assert huge["small"] == "kept"
    assert huge["prompt"].startswith("ppp") and "[truncated" in huge["prompt"]


def test_a_failing_processor_still_writes_a_record(tmp_path: Path) -> None:
    ll.configure(tmp_path)

    def broken(logger: Any, method_name: str, event_dict: Any) -> Any:
        if event_dict.get("explode"):
            raise RuntimeError("processor bug")
        return event_dict

    _config._processors.insert(2, broken)
    ll.get_logger("x").info("kaboom", explode=True)
    __import__("logging").getLogger("lib").warning("also", extra={"explode": True})
    a, b = read_records(tmp_path)
    assert a["event"] == "kaboom" and a["logging_error"] == "RuntimeError: processor bug"
    assert b["event"] == "also" and b["logging_error"] == "RuntimeError: processor bug"
    assert_contract(a)


json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec=None, exclude_categories=()))
    | st.binary()
    | st.datetimes()
    | st.decimals(allow_nan=True)
    | st.uuids()
    | st.builds(BadRepr)
)
any_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.frozensets(st.integers() | st.text(), max_size=3)
        | st.dictionaries(st.text() | st.integers() | st.none(), children, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=any_values, event=st.text())
def test_generated_values_give_exactly_one_strict_line(
    tmp_path_factory: pytest.TempPathFactory, value: Any, event: str
) -> None:
    handler = _config.current_handler() or ll.configure(tmp_path_factory.mktemp("hyp"))
    path = Path(handler.path)
    size = path.stat().st_size if path.exists() else 0
    ll.get_logger("hyp").info(event, value=value)
    with open(path, "rb") as stream:
        stream.seek(size)
        written = stream.read()
    assert written.endswith(b"\n") and written.count(b"\n") == 1
    record = _strict(written)
    assert_contract(record) if isinstance(record["event"], str) else None
    assert "value" in record


class CountingRepr:
    """Counts how often its `repr` runs (a model's repr may be slow, or have effects)."""

    calls = 0

    def __repr__(self) -> str:
        CountingRepr.calls += 1
        return "CountingRepr(token=abc123def)"  # a secret in it: the slow path


def test_repr_runs_once_per_value(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    for log in (
        lambda v: ll.get_logger("x").info("obj", value=v, nested={"list": [v]}),
        lambda v: __import__("logging").getLogger("lib").warning("obj", extra={"value": v}),
    ):
        value, CountingRepr.calls = CountingRepr(), 0
        log(value)
        assert CountingRepr.calls == 1
    records = read_records(tmp_path)
    assert [r["value"] for r in records] == ["CountingRepr(token=[REDACTED])"] * 2


def test_a_huge_integer_costs_only_itself(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    ll.get_logger("x").info("big", big=10**10000, other="kept", n=5, small_big=2**70)
    __import__("logging").getLogger("lib").warning("big", extra={"big": -(10**10000), "n": 5})
    structlog_record, stdlib_record = read_records(tmp_path)
    assert structlog_record["other"] == "kept" and structlog_record["n"] == 5
    assert structlog_record["small_big"] == str(2**70)
    assert structlog_record["big"] == f"<int of {(10**10000).bit_length()} bits>"
    assert stdlib_record["n"] == 5 and stdlib_record["big"].startswith("<int of")


class Touchy:
    """A key that hashes while it is put in a dict, then refuses to hash or print."""

    broken = False

    def __hash__(self) -> int:
        if Touchy.broken:
            raise RuntimeError("no hash")
        return 1

    def __str__(self) -> str:
        raise RuntimeError("no str")

    __repr__ = __str__


def test_a_key_that_cannot_hash_or_print_loses_only_itself(tmp_path: Path) -> None:
    payload = {Touchy(): "value kept", "ok": 2}
    Touchy.broken = True
    try:
        ll.configure(tmp_path)
        ll.get_logger("x").info("keys", payload=payload, other="kept")
        __import__("logging").getLogger("lib").warning("keys", extra={"payload": payload})
    finally:
        Touchy.broken = False
    for record in read_records(tmp_path):
        assert_contract(record)
        assert record["payload"] == {"<unrepresentable Touchy>": "value kept", "ok": 2}
    assert read_records(tmp_path)[0]["other"] == "kept"


def test_numbers_of_other_libraries_stay_numbers(tmp_path: Path) -> None:
    np = __import__("pytest").importorskip("numpy")
    ll.configure(tmp_path)
    values = {"f": np.float64(0.75), "f32": np.float32(0.5), "i": np.int64(3),
              "u": np.uint8(7), "b": np.bool_(True), "zero_d": np.array(2.5)}  # fmt: skip
    ll.get_logger("x").info("np", **values, usage={"input_tokens": np.int64(12)})
    __import__("logging").getLogger("lib").warning("np", extra=values)
    with ll.run("scores") as run:
        run.set(ok_rate=np.float64(0.75))
    structlog_record, stdlib_record, _, run_ok = read_records(tmp_path)
    expected = {"f": 0.75, "f32": 0.5, "i": 3, "u": 7, "b": True, "zero_d": 2.5}
    for record in (structlog_record, stdlib_record):
        got = {k: record[k] for k in expected}
        assert got == expected and [type(v) for v in got.values()] == [
            type(v) for v in expected.values()
        ]
    assert structlog_record["usage"] == {"input_tokens": 12}
    assert run_ok["ok_rate"] == 0.75


def test_numbers_are_recognised_without_importing_numpy(tmp_path: Path) -> None:
    code = (
        "import sys, llmops_logging as ll\n"
        "class Scalar:\n"
        "    shape = ()\n"
        "    def item(self): return 0.25\n"
        f"ll.configure({str(tmp_path)!r})\n"
        "ll.get_logger('x').info('duck', value=Scalar())\n"
        "assert 'numpy' not in sys.modules, 'numpy was imported'\n"
    )
    __import__("subprocess").run([__import__("sys").executable, "-c", code], check=True,
                                 timeout=120)  # fmt: skip
    (record,) = read_records(tmp_path)
    assert record["value"] == 0.25


def test_a_million_keys_cost_bounded_time_and_memory(tmp_path: Path) -> None:
    import time
    import tracemalloc

    from llmops_logging._render import ITEMS_KEY, MAX_ITEMS

    ll.configure(tmp_path, max_record_bytes=1 << 30)
    log = ll.get_logger("x")
    small = {f"k{i}": i for i in range(MAX_ITEMS)}
    huge = {f"k{i}": i for i in range(1_000_000)}
    started = time.process_time()
    log.info("small", data=small, other="kept")
    small_cpu = max(time.process_time() - started, 1e-3)
    tracemalloc.start()
    try:
        started = time.process_time()
        log.info("huge", data=huge, other="kept")
        huge_cpu = time.process_time() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    assert huge_cpu < 20 * small_cpu, (huge_cpu, small_cpu)
    _, record = read_records(tmp_path)
    assert record["other"] == "kept" and record["truncated"] is True
    assert len(record["data"]) == MAX_ITEMS + 1
    assert record["data"][ITEMS_KEY] == f"...[truncated {1_000_000 - MAX_ITEMS} items]"
    assert record["data"]["k0"] == 0
