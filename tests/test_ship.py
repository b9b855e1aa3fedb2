"""`llmops-logs ship` delivers a log's runs to an OTLP/HTTP receiver as the spans
`export --format otlp` writes of the same log (same ids, parents, names, statuses and
attributes), at least once, whatever the receiver does (down, 503 bursts, 429 with Retry-After,
slow answers, a batch refused with 400) and however often ship is killed; and a header's secret
value never shows."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.proto")

from ._otlp_receiver import Receiver, Span
from .conftest import cli

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
for _name in list(ENV):
    if _name.startswith("OTEL_"):
        del ENV[_name]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.stop()


def app(log_dir: Path, runs: int, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests._ship_app", str(log_dir), str(runs), *extra],
        env=ENV, cwd=ROOT, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip


def ship_args(log_dir: Path, receiver: Receiver, *extra: str) -> list[str]:
    checkpoint = log_dir.parent / "ship.checkpoint.json"
    return [
        sys.executable, "-m", "llmops_logging.cli", "ship", str(log_dir), "--to", receiver.url,
        "--checkpoint", str(checkpoint), *extra,
    ]  # fmt: skip


def ship(
    log_dir: Path, receiver: Receiver, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ship_args(log_dir, receiver, "--once", *extra),
        env=env or ENV, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def exported(log_dir: Path) -> dict[tuple[str, str], Span]:
    """The spans `export --format otlp` writes of the log (the command run in this process)."""
    out = log_dir.parent / "export.otlp.jsonl"
    cli("export", log_dir, "--format", "otlp", "--out", out, env=ENV)
    spans = {}
    for line in out.read_text().splitlines():
        for resource_spans in json.loads(line)["resourceSpans"]:
            for scope in resource_spans["scopeSpans"]:
                for span in scope["spans"]:
                    spans[span["traceId"], span["spanId"]] = span
    return spans


def _value(value: dict[str, Any]) -> Any:
    if "arrayValue" in value:
        return [_value(v) for v in value["arrayValue"].get("values", [])]
    ((kind, found),) = value.items()
    return float(found) if kind == "doubleValue" else found


def essence(span: Span) -> dict[str, Any]:
    """What a backend shows of a span, in one form for protobuf and JSON."""
    return {
        "name": span["name"],
        "parent": span.get("parentSpanId"),
        "kind": span["kind"],
        "start": int(span["startTimeUnixNano"]),
        "end": int(span["endTimeUnixNano"]),
        "status": span.get("status", {}).get("code"),
        "attributes": {a["key"]: _value(a["value"]) for a in span.get("attributes", [])},
        "events": [e["name"] for e in span.get("events", [])],
    }


def assert_same_spans(received: dict[tuple[str, str], Span], expected: dict[Any, Span]) -> None:
    assert set(received) == set(expected)
    for key, span in expected.items():
        got, want = essence(received[key]), essence(span)
        assert got == want, key


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
def test_ship_once_delivers_the_spans_export_writes(
    tmp_path: Path, receiver: Receiver, protocol: str
) -> None:
    log_dir = tmp_path / "logs"
    app(log_dir, 40)
    done = ship(log_dir, receiver, "--protocol", protocol)
    assert done.returncode == 0, done.stderr
    expected = exported(log_dir)
    assert len(expected) == 40 * 4  # run, agent, llm call, tool
    assert_same_spans(receiver.spans, expected)
    for trace_id, span_id in receiver.spans:
        assert len(bytes.fromhex(trace_id)) == 16 and len(bytes.fromhex(span_id)) == 8
    (headers,) = {(h["content-type"], h["content-encoding"]) for h in receiver.headers}
    assert headers == (
        {"http/protobuf": "application/x-protobuf"}.get(protocol, "application/json"),
        "gzip",
    )
    # Shipped again from its checkpoint: nothing new, nothing sent.
    requests = receiver.requests
    assert ship(log_dir, receiver, "--protocol", protocol).returncode == 0
    assert receiver.requests == requests


def test_ship_retries_through_503_429_slow_answers_and_an_outage(
    tmp_path: Path, receiver: Receiver
) -> None:
    log_dir = tmp_path / "logs"
    app(log_dir, 30)
    receiver.plan(503, count=3)
    receiver.plan(429, Retry_After="1")
    receiver.plan(200, delay=0.5)
    receiver.plan(503, count=2)
    started = time.monotonic()
    done = ship(log_dir, receiver, "--batch", "20")
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started >= 1.0  # Retry-After waited for
    assert "HTTP 503; retrying" in done.stderr
    assert_same_spans(receiver.spans, exported(log_dir))
    app(log_dir, 5)
    receiver.stop()  # down until ship has seen it down
    shipping = subprocess.Popen(
        ship_args(log_dir, receiver, "--once"), env=ENV, stderr=subprocess.PIPE, text=True
    )
    assert shipping.stderr is not None
    assert "ConnectionRefusedError; retrying" in shipping.stderr.readline()
    receiver.start()
    assert shipping.wait(timeout=60) == 0
    assert_same_spans(receiver.spans, exported(log_dir))


def test_a_ship_killed_while_the_backend_is_down_loses_nothing(
    tmp_path: Path, receiver: Receiver
) -> None:
    log_dir = tmp_path / "logs"
    app(log_dir, 10)
    receiver.stop()
    shipping = subprocess.Popen(
        ship_args(log_dir, receiver, "--once"), env=ENV, stderr=subprocess.PIPE, text=True
    )
    assert shipping.stderr is not None
    assert "retrying" in shipping.stderr.readline()
    shipping.send_signal(signal.SIGKILL)
    shipping.wait()
    receiver.start()
    assert ship(log_dir, receiver).returncode == 0
    assert_same_spans(receiver.spans, exported(log_dir))


def test_a_refused_batch_is_set_aside_and_the_rest_delivered(
    tmp_path: Path, receiver: Receiver
) -> None:
    log_dir = tmp_path / "logs"
    app(log_dir, 30)
    receiver.plan(200)
    receiver.plan(400)
    done = ship(log_dir, receiver, "--batch", "16")
    assert done.returncode == 0, done.stderr
    assert "HTTP 400" in done.stderr and "refused" in done.stderr
    expected = exported(log_dir)
    aside = tmp_path / "ship.checkpoint.json.rejected.jsonl"
    (line,) = aside.read_text().splitlines()
    refused = {
        (s["traceId"], s["spanId"])
        for r in json.loads(line)["resourceSpans"]
        for scope in r["scopeSpans"]
        for s in scope["spans"]
    }
    assert len(refused) == 16
    assert refused.isdisjoint(receiver.spans)
    assert set(receiver.spans) | refused == set(expected)


SECRET = "sk-live-8c1f0e2d4b6a"


def test_a_header_secret_never_shows(tmp_path: Path, receiver: Receiver) -> None:
    log_dir = tmp_path / "logs"
    app(log_dir, 3)
    receiver.plan(503)
    receiver.plan(401)
    done = ship(log_dir, receiver, "--header", f"x-api-key={SECRET}")
    assert done.returncode == 1
    assert "HTTP 401" in done.stderr
    checkpoint = tmp_path / "ship.checkpoint.json"
    done2 = ship(log_dir, receiver, "--header", f"x-api-key={SECRET}", "--header", "bad")
    env = {**ENV, "OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Bearer%20{SECRET}"}
    done3 = ship(log_dir, receiver, env=env)
    assert done3.returncode == 0, done3.stderr
    assert receiver.headers[-1]["authorization"] == f"Bearer {SECRET}"
    assert receiver.headers[1]["x-api-key"] == SECRET
    for text in (done.stdout, done.stderr, done2.stdout, done2.stderr, done3.stdout, done3.stderr,
                 checkpoint.read_text()):  # fmt: skip
        assert SECRET not in text


def test_the_otel_environment_names_the_endpoint(tmp_path: Path, receiver: Receiver) -> None:
    log_dir = tmp_path / "logs"
    app(log_dir, 2)
    env = {
        **ENV,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.port}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
    }
    args = [sys.executable, "-m", "llmops_logging.cli", "ship", str(log_dir), "--once",
            "--checkpoint", str(tmp_path / "c.json"), "--project", "demo"]  # fmt: skip
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert receiver.headers[0]["content-type"] == "application/json"
    assert len(receiver.spans) == 8
    (resource,) = receiver.resources
    assert {"key": "openinference.project.name", "value": {"stringValue": "demo"}} in resource
    assert {"key": "service.name", "value": {"stringValue": "demo"}} in resource


def test_an_open_run_is_sent_when_it_ends_or_its_writer_dies(
    tmp_path: Path, receiver: Receiver
) -> None:
    log_dir = tmp_path / "logs"
    hanging = subprocess.Popen(
        [sys.executable, "-m", "tests._ship_app", str(log_dir), "1", "--hang"],
        env=ENV, cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert hanging.stdout is not None and hanging.stdout.readline() == "open\n"
        assert ship(log_dir, receiver).returncode == 0
        names = {s["name"]: s for s in receiver.spans.values()}
        assert "finished child" in names and "run hanging" not in names  # open: not yet
        child = names["finished child"]
        state = json.loads((tmp_path / "ship.checkpoint.json").read_text())
        assert len(state["runs"]) == 1
    finally:
        hanging.send_signal(signal.SIGKILL)
        hanging.wait()
    assert ship(log_dir, receiver).returncode == 0
    names = {s["name"]: s for s in receiver.spans.values()}
    root = names["run hanging"]
    assert root["status"] == {"code": 2, "message": "unfinished"}
    assert child["parentSpanId"] == root["spanId"] and child["traceId"] == root["traceId"]
    state = json.loads((tmp_path / "ship.checkpoint.json").read_text())
    assert state["runs"] == []


def test_a_run_silent_past_the_open_timeout_is_closed(tmp_path: Path, receiver: Receiver) -> None:
    log_dir = tmp_path / "logs"
    hanging = subprocess.Popen(
        [sys.executable, "-m", "tests._ship_app", str(log_dir), "0", "--hang"],
        env=ENV, cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert hanging.stdout is not None and hanging.stdout.readline() == "open\n"
        assert ship(log_dir, receiver, "--open-timeout", "3600").returncode == 0
        assert {s["name"] for s in receiver.spans.values()} == {"finished child"}
        time.sleep(0.2)
        assert ship(log_dir, receiver, "--open-timeout", "0.1").returncode == 0
        assert "run hanging" in {s["name"] for s in receiver.spans.values()}
    finally:
        hanging.send_signal(signal.SIGKILL)
        hanging.wait()


def _ship_in_child(args: list[str]) -> None:
    from llmops_logging.cli import main

    os._exit(main(args))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork beside the receiver's threads
def test_ship_killed_at_random_points_delivers_every_span_at_least_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    """SIGKILL twenty times while the app logs through rotation and gzip; the receiver
    sometimes fails too. In the end it holds exactly the spans export writes."""
    log_dir = tmp_path / "logs"
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests._ship_app", str(log_dir), "400", str(stop),
         "--pause", "0.03"],
        env=ENV, cwd=ROOT,
    )  # fmt: skip
    chance = random.Random(os.environ.get("SHIP_KILL_SEED", "7"))
    context = multiprocessing.get_context("fork")  # a real process, without an interpreter start
    args = ship_args(log_dir, receiver, "--batch", "64")[3:]
    from llmops_logging.cli import _command
    from llmops_logging.cli.ship import proto

    _command("ship"), proto  # imported once here, not in each child
    try:
        while not (log_dir / "events.jsonl").exists():
            assert writer.poll() is None, "the app ended before it logged"
            time.sleep(0.01)
        for kill in range(20):
            if kill % 5 == 4:
                receiver.plan(503, count=2)
            requests = receiver.requests
            shipping = context.Process(target=_ship_in_child, args=(args,))
            shipping.start()
            deadline = time.monotonic() + 10
            while receiver.requests == requests and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(chance.uniform(0, 0.2))
            assert shipping.pid is not None
            os.kill(shipping.pid, signal.SIGKILL)
            shipping.join()
            assert shipping.exitcode == -signal.SIGKILL
    finally:
        stop.touch()
        writer.wait(timeout=60)
    rotated = [p.name for p in log_dir.iterdir() if p.name.endswith(".gz")]
    assert len(rotated) >= 3, "the app did not rotate and compress"
    done = ship(log_dir, receiver)
    assert done.returncode == 0, done.stderr
    expected = exported(log_dir)
    assert len(expected) > 200
    assert_same_spans(receiver.spans, expected)


def test_records_whose_kind_is_not_text_are_shipped_as_export_writes_them(
    tmp_path: Path, receiver: Receiver
) -> None:
    log_dir = tmp_path / "logs"
    app(log_dir, 2)
    lines = (log_dir / "events.jsonl").read_text().splitlines(keepends=True)
    run_id = json.loads(lines[0])["run_id"]
    foreign = [
        {"ts": "2026-01-01T00:00:01Z", "run_id": run_id, "kind": ["step_start"], "step_id": "x"},
        {"ts": "2026-01-01T00:00:01Z", "run_id": run_id, "kind": {"run_ok": 1}},
        {"ts": "2026-01-01T00:00:02Z", "run_id": run_id, "kind": 7, "step_id": "x"},
    ]
    inside = [json.dumps(record) + "\n" for record in foreign]  # after the run's start
    (log_dir / "events.jsonl").write_text("".join(lines[:1] + inside + lines[1:]))
    done = ship(log_dir, receiver)
    assert done.returncode == 0, done.stderr
    assert_same_spans(receiver.spans, exported(log_dir))


def test_a_record_of_an_ended_run_goes_under_a_root_of_its_own_as_export_writes_it(
    tmp_path: Path, receiver: Receiver
) -> None:
    """A record logged for a run after its end (a thread that outlived the run) must not give
    a second span under the id of the run's root, already sent; nor show a crash that was
    not: it goes on under a root of its own, with export's ids, and no error status."""
    log_dir = tmp_path / "logs"
    app(log_dir, 2)
    lines = (log_dir / "events.jsonl").read_text().splitlines(keepends=True)
    first = json.loads(lines[0])
    last = json.loads(lines[-1])
    late = {**json.loads(lines[2]), "event": "late", "ts": "2099-01-01T00:00:00.000001+00:00"}
    late.update(seq=last["seq"] + 1, event_id=f"{last['event_id']}-late")  # logged last
    late.pop("step_id", None)
    late.pop("parent_id", None)
    (log_dir / "events.jsonl").write_text("".join(lines) + json.dumps(late) + "\n")
    assert late["run_id"] == first["run_id"] and first["kind"] == "run_start"
    done = ship(log_dir, receiver)
    assert done.returncode == 0, done.stderr
    expected = exported(log_dir)
    roots = [s for s in expected.values() if s["traceId"] == first["run_id"].replace("-", "")
             and "parentSpanId" not in s]  # fmt: skip
    assert sorted(s["name"] for s in roots) == ["run -", "run support"]
    assert_same_spans(receiver.spans, expected)
    assert max(receiver.received.values()) == 1
    late_root = next(s for s in roots if s["name"] == "run -")
    assert [e["name"] for e in receiver.spans[first["run_id"].replace("-", ""),
            late_root["spanId"]]["events"]] == ["late"]  # fmt: skip
    assert essence(receiver.spans[first["run_id"].replace("-", ""), late_root["spanId"]])[
        "status"] is None  # fmt: skip


def test_forged_parents_never_make_a_shipped_span_its_own_ancestor(
    tmp_path: Path, receiver: Receiver
) -> None:
    """A step that names itself as its parent, and two steps open at once that name each
    other: every span shipped has a parent chain that ends at the run's root (a backend
    cannot draw a span under itself), and the step naming itself is under the root, as
    export writes it."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir(mode=0o700)
    run = {"run_id": "r-forged", "level": "info", "pid": 1}
    at = "2026-01-01T00:00:0{}.000000+00:00"

    def step(second: int, kind: str, step_id: str, parent: str, **end: float) -> dict[str, Any]:
        return {**run, "ts": at.format(second), "kind": kind, "event": step_id,
                "name": step_id, "step_id": step_id, "parent_id": parent, **end}  # fmt: skip

    records = [
        {**run, "ts": at.format(0), "kind": "run_start", "event": "run_start", "name": "job"},
        step(1, "step_start", "self", "self"),
        step(2, "step_ok", "self", "self", duration_s=1.0),
        step(3, "step_start", "a", "b"),
        step(3, "step_start", "b", "a"),
        step(4, "step_ok", "a", "b", duration_s=1.0),
        step(5, "step_ok", "b", "a", duration_s=2.0),
        {**run, "ts": at.format(6), "kind": "run_ok", "event": "run_ok", "name": "job",
         "duration_s": 6.0},
    ]  # fmt: skip
    (log_dir / "events.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    done = ship(log_dir, receiver, "--no-pid-check")
    assert done.returncode == 0, done.stderr
    spans = {span_id: span for (_, span_id), span in receiver.spans.items()}
    assert len(spans) == 4
    for span_id in spans:
        seen = {span_id}
        parent = spans[span_id].get("parentSpanId")
        while parent is not None:
            assert parent not in seen, (span_id, spans[span_id]["name"])
            seen.add(parent)
            parent = spans[parent].get("parentSpanId")
    expected = {span_id: span for (_, span_id), span in exported(log_dir).items()}
    (named_itself,) = [k for k, s in expected.items() if s["name"] == "self"]
    assert essence(spans[named_itself]) == essence(expected[named_itself])


def _record(seq: int, run_id: str, kind: str, event: str, **fields: Any) -> dict[str, Any]:
    return {"ts": datetime.now(timezone.utc).isoformat(), "run_id": run_id, "event": event,
            "kind": kind, "level": "info", "logger": "app", "event_id": f"e-{seq}", "seq": seq,
            "pid": 7, **fields}  # fmt: skip


def test_a_late_part_keeps_its_ids_across_reads_restarts_and_reordering(
    tmp_path: Path, receiver: Receiver
) -> None:
    """A late record's ids hash its place among the file's lines, as export's do, whatever
    the order its process's `seq` puts it in (a thread stamps before it writes) and however
    the reads fall; a second `ship` takes the ended runs from the checkpoint. Run q stays open
    across the two (recent times); r's late part, logged long ago, is closed when read."""
    r, q = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
    first = [
        _record(1, r, "run_start", "run_start", name="r"),
        _record(2, q, "run_start", "run_start", name="q"),
        _record(3, r, "run_ok", "run_ok", name="r", duration_s=1.0),
    ]
    then = [
        _record(5, q, "log", "q event"),  # written before the late record, its seq later
        {**_record(4, r, "log", "late"), "ts": "2026-01-01T00:00:00.000000+00:00"},
        _record(6, q, "run_ok", "run_ok", name="q", duration_s=1.0),
    ]
    log_dir = tmp_path / "logs"
    log_dir.mkdir(mode=0o700)
    log = log_dir / "events.jsonl"
    log.write_text("".join(json.dumps(record) + "\n" for record in first))
    done = ship(log_dir, receiver, "--no-pid-check")
    assert done.returncode == 0 and "1 run still open" in done.stdout, done.stdout
    with log.open("a") as out:
        out.write("".join(json.dumps(record) + "\n" for record in then))
    done = ship(log_dir, receiver, "--no-pid-check")
    assert done.returncode == 0 and "0 runs still open" in done.stdout, done.stdout
    expected = exported(log_dir)
    late = [s for s in expected.values() if s["traceId"] == r.replace("-", "")]
    assert sorted(s["name"] for s in late) == ["run -", "run r"]
    assert_same_spans(receiver.spans, expected)
    assert max(receiver.received.values()) == 1
