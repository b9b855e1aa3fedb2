"""The fused default write path writes what the processor chain writes, byte for byte.

Each event is logged twice by the same `configure()`: once the way the default configuration
writes it (`_fused.FusedWrite`), once through the processor chain. The two lines must be the
same bytes apart from `ts`, `event_id` and `seq`, for events that take every branch: nested
values, secrets in values, keys and the logger's name, fields named like stamps, values JSON
cannot hold, and values past the record's budget.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import structlog

import llmops_logging as ll
from llmops_logging import _fused, _logger

SECRET = "sk-proj-4f9aQ2xL7mN3pR8sT1vW6yZ0bC5dE"


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    token: str


class Opaque:
    def __repr__(self) -> str:
        return f"<Opaque api_key={SECRET}>"


def _raise_and_log(log: Any) -> None:
    try:
        raise ValueError(f"bad request, password={SECRET}")
    except ValueError:
        log.info("failed", exc_info=True)


def _events() -> list[Callable[[Any], None]]:
    """Calls that each log one event; the logger is passed in."""
    return [
        lambda log: log.info("plain", kind="sample", i=1, ok=True),
        lambda log: log.info("plain", kind="sample", i=2, ok=False, note="fresh text"),
        lambda log: log.info("nested", data={"a": [1, 2, {"b": "c"}], "t": (1, "x")}),
        lambda log: log.info("secret", note=f"Authorization: Bearer {SECRET}"),
        lambda log: log.info("secret", password="hunter2", user="ann"),
        lambda log: log.info("secret", headers=[("Authorization", "Basic dXNlcjpwYXNz")]),
        lambda log: log.info("secret", nested={"deep": {"api_key": SECRET}}),
        lambda log: log.info("secret", **{f"password={SECRET}": 1}),
        lambda log: log.info(f"message with {SECRET}", i=3),
        lambda log: log.info("hello %s", f"token={SECRET}"),
        lambda log: log.info("kinds", kind=f"bearer {SECRET}"),
        lambda log: log.info("collide", ts="mine", level="x", seq=5, run_id="r", pid=0),
        lambda log: log.info("collide", logger="me", event_id="e", user_ts="taken"),
        lambda log: log.info("collide", event="also an event", kind="k"),
        lambda log: log.info("tally", kind="run_ok", counts={"log": 2}, dropped={}),
        lambda log: log.info("values", color=Color.RED, point=Point(1, SECRET)),
        lambda log: log.info("values", raw=b"\xff\x00bytes", tags={"b", "a"}, n=Decimal("1.5")),
        lambda log: log.info("values", obj=Opaque(), at=datetime(2026, 1, 2, tzinfo=timezone.utc)),
        lambda log: log.info("values", id=uuid.UUID(int=7), big=2**70, nan=float("nan")),
        lambda log: log.info("values", text="lone \ud800 surrogate", **{"k\udc80": 1}),
        lambda log: log.info("huge", text="x" * 300_000, small=1),
        lambda log: log.info("huge", rows=list(range(20_000)), small=2),
        lambda log: log.info("huge", wide={f"k{n}": n for n in range(20_000)}),
        lambda log: log.info("huge", **{f"f{n}": "v" for n in range(300)}),
        lambda log: log.info("long key", **{"k" * 2000: "v"}),
        _raise_and_log,
        lambda log: log.warning("levels", i=4),
        lambda log: ll.get_logger(f"agent token={SECRET}").info("named", i=5),
        lambda log: log.bind(bound="yes", secret_token="t0k3n-value").info("bound", i=6),
    ]


_VARYING = re.compile(rb'"(ts|event_id)":"[^"]*"|"seq":\d+')


def _comparable(line: bytes) -> bytes:
    """The line with its time, id and sequence number blanked: the rest must be equal."""
    return _VARYING.sub(b"_", line)


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def test_fused_path_and_chain_write_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ll.configure(tmp_path)
    fused, chain = _logger.Sink.fused, _logger.Sink.fused_chain
    assert fused is not None and chain is not None  # the default configure() has one
    taken = []

    def counting(logger: Any, method_name: str, event_dict: Any) -> None:
        taken.append(method_name)
        fused(logger, method_name, event_dict)

    monkeypatch.setattr(_logger.Sink, "fused", counting)
    log = ll.get_logger("agent")
    for event in _events():
        event(log)
    assert len(taken) == len(_events())  # every event took the fused path
    monkeypatch.setattr(_logger.Sink, "fused_chain", None)  # now the processor chain
    for event in _events():
        event(log)
    ll.reset()
    lines = _lines(tmp_path / "events.jsonl")
    assert len(lines) == 2 * len(_events())
    half = len(_events())
    for via_fused, via_chain in zip(lines[:half], lines[half:], strict=True):
        assert _comparable(via_fused) == _comparable(via_chain)
    assert SECRET.encode() not in b"".join(lines)


def test_a_chain_with_a_processor_of_its_own_is_not_fused(tmp_path: Path) -> None:
    """Sampling (or anything else in the chain) keeps the chain; and a processor inserted
    into the default chain afterwards runs too."""
    ll.configure(tmp_path, sample={"noisy": 0.0})
    assert _logger.Sink.fused_chain is None
    ll.get_logger("x").info("dropped", kind="noisy")
    ll.get_logger("x").info("kept", kind="sample")
    ll.configure(tmp_path)
    assert _logger.Sink.fused_chain is not None
    from llmops_logging import _config

    def tag(logger: Any, method_name: str, event_dict: Any) -> Any:
        event_dict["tagged"] = True
        return event_dict

    _config._processors.insert(1, tag)
    ll.get_logger("x").info("tagged")
    ll.reset()
    records = [line for line in _lines(tmp_path / "events.jsonl") if b"single_process" not in line]
    assert [b'"event":"kept"' in records[0], b'"tagged":true' in records[1]] == [True, True]
    assert len(records) == 2


_RUN_VARYING = re.compile(rb'"(run_id|step_id|parent_id)":"[^"]*"|"duration_s":[0-9.e-]+')


def _session(log: Any) -> None:
    """Plain events (the direct route once their logger, run and step are known clean) and
    others, in a run and a step."""
    with ll.run("direct", user="ann"):
        log.info("first", i=0)  # the parts, until the logger's name and the run id are
        log.info("second", i=0)  # known clean (by the redactor, then by its check)
        log.info("plain", kind="sample", i=1, ok=True, x=1.5, none=None)
        log.info("default kind", i=2)
        log.info("fresh", note="a string not seen before")  # scanned here, found clean
        log.info("secret", note=f"Authorization: Bearer {SECRET}")
        log.info("list", headers=[("Authorization", "Basic dXNlcjpwYXNz")])
        log.bind(bound=3).warning("bound", i=3)
        with ll.step("think"):
            log.info("in step", i=4)
            log.info("in step again", kind="sample", i=5)
        with structlog.contextvars.bound_contextvars(request="r1"):
            log.info("bound context", i=6)
        log.info("context unbound", i=7)


@pytest.fixture
def parts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The events that took the fused path's parts (the chain's steps), not its direct route."""
    taken: list[str] = []
    run_parts = _fused.FusedWrite._parts

    def counting(self: Any, logger: Any, method_name: str, event_dict: Any) -> None:
        taken.append(event_dict.get("event"))
        run_parts(self, logger, method_name, event_dict)

    monkeypatch.setattr(_fused.FusedWrite, "_parts", counting)
    return taken


def test_the_direct_route_writes_what_the_chain_writes_in_runs_and_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts: list[str]
) -> None:
    """Same bytes as the chain (a step's id last, the run's closing counts include every
    event), with the run and step ids blanked: they differ between the two sessions."""
    ll.configure(tmp_path)
    log = ll.get_logger("direct")
    _session(log)
    direct = {"plain", "default kind", "fresh", "bound", "in step again", "context unbound"}
    assert direct.isdisjoint(parts) and {"secret", "list", "bound context"} <= set(parts)
    monkeypatch.setattr(_logger.Sink, "fused_chain", None)  # now the processor chain
    _session(log)
    ll.reset()
    lines = _lines(tmp_path / "events.jsonl")
    half = len(lines) // 2
    assert half == 16 and len(lines) == 2 * half  # with the starts and ends of run and step
    for via_fused, via_chain in zip(lines[:half], lines[half:], strict=True):
        assert _RUN_VARYING.sub(b"_", _comparable(via_fused)) == _RUN_VARYING.sub(
            b"_", _comparable(via_chain)
        )
    assert SECRET.encode() not in b"".join(lines) and b"dXNlcjpwYXNz" not in b"".join(lines)


def test_a_run_with_a_conversation_leaves_the_direct_route_to_other_runs(
    tmp_path: Path, parts: list[str]
) -> None:
    """A run's conversation and user ids are written on its records by the chain's renderer;
    the other runs of the process, before and after it, keep the direct route."""
    ll.configure(tmp_path)
    log = ll.get_logger("direct")
    for name, ids in [("before", {}), ("chat", {"conversation_id": "c-1"}), ("after", {})]:
        with ll.run(name, **ids):
            for i in range(3):
                log.info(f"{name} {i}", i=i)
    ll.reset()
    records = [orjson.loads(line) for line in _lines(tmp_path / "events.jsonl")]
    said = {r["event"]: r for r in records if r.get("i") is not None}
    assert [said[f"chat {i}"]["gen_ai"]["conversation"]["id"] for i in range(3)] == ["c-1"] * 3
    assert not [r for e, r in said.items() if not e.startswith("chat") and "gen_ai" in r]
    assert {"chat 0", "chat 1", "chat 2"} <= set(parts)
    assert {"before 2", "after 1", "after 2"}.isdisjoint(parts)
