"""`export --format otlp` writes what an OpenTelemetry backend accepts and keeps, whatever the
log: each line parses as an `ExportTraceServiceRequest`; ids, times and integers are in OTLP/JSON's
forms and ranges; a span id appears once in the whole export and every parent exists; no span is
its own ancestor; no record is lost without being counted."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import llmops_logging as ll
from llmops_logging.cli import main

from ..conftest import read_records

pytest.importorskip("opentelemetry.proto")
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

Span = dict[str, Any]
UINT64 = 2**64 - 1
HEX16 = re.compile(r"[0-9a-f]{16}")
HEX32 = re.compile(r"[0-9a-f]{32}")
INT = re.compile(r"-?[0-9]+")
T0 = "2026-11-30T10:00:00.000000+00:00"
RUN = "7b4e3c58-0a47-4b46-9a8f-1d2e3f405162"


def _values(attributes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = [a["key"] for a in attributes]
    assert len(keys) == len(set(keys)), f"attribute keys repeat: {keys}"
    found = [a["value"] for a in attributes]
    for value in list(found):
        found += value.get("arrayValue", {}).get("values", [])
    return found


def _time(text: Any) -> int:
    assert isinstance(text, str) and re.fullmatch(r"[0-9]+", text), text
    assert int(text) <= UINT64
    return int(text)


def validated(out: Path) -> list[Span]:
    """Every span of the export, after checking each line with the OTLP message types and the
    OTLP/JSON rules protobuf's own parser lets through (hex ids, 64-bit integers as strings)."""
    spans: list[Span] = []
    for line in out.read_text().splitlines():
        json_format.Parse(line, ExportTraceServiceRequest())  # unknown fields, types, ranges
        request = json.loads(line)
        for resource in request["resourceSpans"]:
            _values(resource["resource"]["attributes"])
            for scope in resource["scopeSpans"]:
                spans += scope["spans"]
    ids = [s["spanId"] for s in spans]
    assert len(ids) == len(set(ids)), "a span id is written twice"
    by_id = {s["spanId"]: s for s in spans}
    for span in spans:
        assert HEX32.fullmatch(span["traceId"]) and span["traceId"] != "0" * 32
        assert HEX16.fullmatch(span["spanId"]) and span["spanId"] != "0" * 16
        start, end = _time(span["startTimeUnixNano"]), _time(span["endTimeUnixNano"])
        assert start <= end, span
        values = _values(span["attributes"])
        for event in span.get("events", []):
            _time(event["timeUnixNano"])
            values += _values(event["attributes"])
        for value in values:
            if "intValue" in value:
                assert isinstance(value["intValue"], str) and INT.fullmatch(value["intValue"])
        if "parentSpanId" in span:
            parent = by_id.get(span["parentSpanId"])
            assert parent is not None, f"the parent of {span['name']} is not in the export"
            assert parent["traceId"] == span["traceId"]
        seen = {span["spanId"]}
        walk = span
        while "parentSpanId" in walk:
            walk = by_id[walk["parentSpanId"]]
            assert walk["spanId"] not in seen, f"{span['name']} is its own ancestor"
            seen.add(walk["spanId"])
    return spans


def export(log: Path, tmp_path: Path) -> Path:
    out = tmp_path / "traces.otlp.jsonl"
    assert main(["export", "--format", "otlp", "--out", str(out), str(log)]) == 0
    return out


def write_lines(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def line(kind: str, ts: Any = T0, run_id: str = RUN, **fields: Any) -> dict[str, Any]:
    return {"ts": ts, "run_id": run_id, "event": kind, "kind": kind, "level": "info", **fields}


def attrs(span: Span) -> dict[str, Any]:
    return {a["key"]: a["value"] for a in span["attributes"]}


def events_and_dropped(spans: list[Span]) -> int:
    return sum(len(s.get("events", [])) + s.get("droppedEventsCount", 0) for s in spans)


# -- span ids --------------------------------------------------------------------------------


def test_runs_open_past_the_limit_never_repeat_a_span_and_lose_no_record(
    tmp_path: Path,
) -> None:
    """300 runs open at once (the writer holds 256): each is written in parts, once each."""
    ll.configure(tmp_path / "logs")
    log = ll.get_logger("agent")
    log.info("before any run")

    async def one(i: int) -> None:
        with ll.run(f"r{i}"):
            await asyncio.sleep(0)
            with ll.step("plan"):
                log.info("thinking", i=i)
                await asyncio.sleep(0)
                with ll.step("act"):
                    await asyncio.sleep(0)
            log.info("between steps")
            await asyncio.sleep(0)

    async def all_runs() -> None:
        await asyncio.gather(*(one(i) for i in range(300)))

    asyncio.run(all_runs())
    ll.reset()
    records = read_records(tmp_path / "logs")
    out = export(tmp_path / "logs", tmp_path)
    spans = validated(out)
    runs = {r["run_id"] for r in records if r["kind"] == "run_start"}
    assert len(out.read_text().splitlines()) > len(runs) + 1  # runs were written in parts
    assert len({s["traceId"] for s in spans}) == len(runs) + 1  # and the records outside runs
    # Each step's end is on exactly one span (a step open when its run was cut also has a
    # part without a status, ending where the cut was made).
    ended = Counter(attrs(s)["step_id"]["stringValue"] for s in spans
                    if s.get("status") and "step_id" in attrs(s))  # fmt: skip
    assert ended == Counter(r["step_id"] for r in records if r["kind"] == "step_ok")
    ends = [s for s in spans if s["name"].startswith("run r") and s.get("status")]
    assert len(ends) == len(runs)  # each run's end, with its status, on exactly one span
    events = [r for r in records if r["kind"] == "log"]
    assert events_and_dropped(spans) == len(events)


def test_a_run_past_the_span_limit_is_written_in_parts_without_a_repeat(tmp_path: Path) -> None:
    ll.configure(tmp_path / "logs")
    with ll.run("long"), ll.step("outer") as outer:
        for _ in range(10_050):
            with ll.step("inner"):
                pass
    ll.reset()
    out = export(tmp_path / "logs", tmp_path)
    assert len(out.read_text().splitlines()) >= 2  # the finished spans went out early
    spans = validated(out)
    assert len(spans) == 10_052
    by_name: dict[str, list[Span]] = {}
    for span in spans:
        by_name.setdefault(span["name"], []).append(span)
    [root], [outer_span] = by_name["run long"], by_name["outer"]
    assert "parentSpanId" not in root and outer_span["parentSpanId"] == root["spanId"]
    assert root["status"]["code"] == outer_span["status"]["code"] == 1
    assert {s["parentSpanId"] for s in by_name["inner"]} == {outer_span["spanId"]}
    record = next(r for r in read_records(tmp_path / "logs") if r.get("step_id") == outer.step_id)
    wanted = json.dumps([record["run_id"], outer.step_id], separators=(",", ":"))
    assert outer_span["spanId"] == hashlib.sha256(wanted.encode()).hexdigest()[:16]


def test_a_step_id_forged_into_two_runs_gives_two_span_ids(tmp_path: Path) -> None:
    other = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"
    log = write_lines(
        tmp_path / "events.jsonl",
        [
            line("llm_call", step_id="same", duration_s=0.5),
            line("llm_call", run_id=other, step_id="same", duration_s=0.5),
            line("llm_call", run_id=RUN.upper(), step_id="same", duration_s=0.5),
        ],
    )
    spans = validated(export(log, tmp_path))
    assert len(spans) == 3
    assert len({s["traceId"] for s in spans}) == 3  # an upper-case run id is another run
    assert spans[0]["traceId"] == RUN.replace("-", "")


# -- events ----------------------------------------------------------------------------------


def test_events_past_the_cap_are_counted_and_warned_and_the_error_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ll.configure(tmp_path / "logs")
    log = ll.get_logger("agent")
    with pytest.raises(KeyError), ll.run("chatty"), ll.step("busy"):
        for i in range(300):
            log.info("progress", i=i)
        log.error("giving up", reason="quota")
        raise KeyError("quota")
    ll.reset()
    capsys.readouterr()
    spans = validated(export(tmp_path / "logs", tmp_path))
    [busy] = [s for s in spans if s["name"] == "busy"]
    names = [e["name"] for e in busy["events"]]
    assert names[:128] == ["progress"] * 128
    assert "giving up" in names  # an error-level record is kept past the cap
    assert names[-1] == "exception" and busy["status"]["code"] == 2
    exception = attrs(busy["events"][-1])
    assert exception["exception.type"] == {"stringValue": "KeyError"}
    assert busy["droppedEventsCount"] == 301 - (len(names) - 1) == 172
    warning = capsys.readouterr().err
    assert "172 events left out of 1 span" in warning and "droppedEventsCount" in warning


def test_records_outside_any_run_or_step_become_events_of_a_root(tmp_path: Path) -> None:
    log = write_lines(
        tmp_path / "events.jsonl",
        [line("log", note="a"), line("log", note="b", step_id="gone"), line("sample", i=1)],
    )
    [root] = validated(export(log, tmp_path))
    assert root["name"] == "run -" and "status" not in root
    assert [attrs(e)["note"]["stringValue"] for e in root["events"][:2]] == ["a", "b"]
    assert len(root["events"]) == 3


def test_an_event_without_a_text_name_is_named_as_other_values_are(tmp_path: Path) -> None:
    """No `event` field is `-` (as a run without a name); a number or an object is its JSON,
    not Python's spelling of it (`None`, `{'a': 1}`)."""
    records = [line("log", note="a"), line("log"), line("log"), line("log"), line("log")]
    del records[1]["event"]
    records[2]["event"] = None
    records[3]["event"] = {"a": [1, True]}
    records[4]["event"] = 7
    [root] = validated(export(write_lines(tmp_path / "events.jsonl", records), tmp_path))
    assert [e["name"] for e in root["events"]] == ["log", "-", "-", '{"a":[1,true]}', "7"]


def test_a_step_or_agent_named_by_no_text_is_named_by_its_json(tmp_path: Path) -> None:
    """A foreign writer's step or agent step whose `name` is a list (and whose agent has no
    name of its own): the span is named by the JSON that was logged, not Python's spelling."""
    agent = {"gen_ai": {"operation": {"name": "invoke_agent"}}}
    records = [line("run_start")]
    for n, extra in enumerate(({}, agent)):
        step = {"step_id": f"s{n}", "name": ["a", n]}
        records += [line("step_start", **step, **extra), line("step_ok", **step, **extra)]
    records.append(line("run_ok"))
    spans = validated(export(write_lines(tmp_path / "events.jsonl", records), tmp_path))
    names = sorted(span["name"] for span in spans if "parentSpanId" in span)
    assert names == ['["a",0]', 'invoke_agent ["a",1]']


def test_an_error_is_the_status_an_exception_event_and_its_other_fields(tmp_path: Path) -> None:
    error = {"type": "RateLimitError", "message": "429", "traceback": "Traceback ...", "code": 429}
    log = write_lines(
        tmp_path / "events.jsonl",
        [
            line("llm_call", step_id="c", error=error, duration_s=0.1),
            line("step_error", step_id="s", name="s", error="quota gone"),
        ],
    )
    spans = {s["name"]: s for s in validated(export(log, tmp_path))}
    call, step = spans["llm_call"], spans["s"]
    assert call["status"] == {"code": 2, "message": "RateLimitError: 429"}
    [exception] = call["events"]
    assert attrs(exception) == {
        "exception.type": {"stringValue": "RateLimitError"},
        "exception.message": {"stringValue": "429"},
        "exception.stacktrace": {"stringValue": "Traceback ..."},
    }
    assert attrs(call)["error.code"] == {"intValue": "429"}
    assert not any(k.startswith("error.") and k != "error.code" for k in attrs(call))
    assert step["status"]["code"] == 2 and attrs(step)["error"] == {"stringValue": "quota gone"}


# -- numbers and times -----------------------------------------------------------------------

HOSTILE_DURATIONS = [
    1e300, 5e9, 1.8e10, 18446744073709551615, -1, -1e300, 0, "NaN", "Infinity", "1e9", None,
    True, [1], {"s": 1}, 1e-300,
]  # fmt: skip
HOSTILE_TIMES = [
    "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999+00:00",
    "1969-12-31T23:59:59.999999+00:00", "2554-07-21T23:34:33.709551+00:00",
    "2026-11-30T10:00:00", "yesterday", "", 1700000000, None, ["2026"],
    "2026-11-30T10:00:00.000000+14:00",
]  # fmt: skip


def test_any_number_or_time_exports_with_ordered_times_in_range(tmp_path: Path) -> None:
    records = []
    for n, duration in enumerate(HOSTILE_DURATIONS):
        records.append(line("llm_call", step_id=f"call{n}", duration_s=duration))
        records.append(line("step_ok", step_id=f"step{n}", duration_s=duration, name="s"))
    for n, ts in enumerate(HOSTILE_TIMES):
        records.append(line("step_start", ts=ts, step_id=f"when{n}", name="w"))
        records.append(line("log", ts=ts, step_id=f"when{n}"))
        records.append(line("step_ok", ts=T0, step_id=f"when{n}", name="w", duration_s=1.0))
        records.append(line("step_start", ts=T0, step_id=f"late{n}", name="l"))
        records.append(line("step_error", ts=ts, step_id=f"late{n}", name="l", error={}))
    spans = validated(export(write_lines(tmp_path / "events.jsonl", records), tmp_path))
    assert len(spans) == 2 * len(HOSTILE_DURATIONS) + 2 * len(HOSTILE_TIMES)
    t0 = int(datetime.fromisoformat(T0).timestamp()) * 10**9
    by_id = {attrs(s)["step_id"]["stringValue"]: s for s in spans}
    # 5e9 s before T0 is before 1970: the start is 0, not negative.
    assert by_id["call1"]["startTimeUnixNano"] == "0"
    assert by_id["call1"]["endTimeUnixNano"] == str(t0)
    assert by_id["call0"]["startTimeUnixNano"] == "0"
    assert by_id["call6"]["startTimeUnixNano"] == str(t0)  # 0 s
    for n in (4, 5, 7, 8, 9, 10, 11, 12, 13):  # not a duration: the span starts where it ends
        assert by_id[f"call{n}"]["startTimeUnixNano"] == str(t0), n
    assert by_id["when0"]["startTimeUnixNano"] == "0"  # year 1: clamped to the epoch
    assert by_id["when1"]["startTimeUnixNano"] == str(t0)  # past 2^64 ns: no later than its end


def test_times_are_integer_nanoseconds_of_the_records(tmp_path: Path) -> None:
    start, end = "2026-11-30T10:00:00.123456+00:00", "2026-11-30T10:00:02.654321+00:00"
    log = write_lines(
        tmp_path / "events.jsonl",
        [
            line("step_start", ts=start, step_id="s", name="s"),
            line("log", ts="2026-11-30T10:00:01.000001+00:00", step_id="s"),
            line("step_ok", ts=end, step_id="s", name="s", duration_s=2.530865),
            line("llm_call", ts=end, step_id="c", parent_id="s", duration_s=0.25),
        ],
    )
    spans = {s["name"]: s for s in validated(export(log, tmp_path))}
    epoch = 1796032800  # 2026-11-30T10:00:00Z
    assert datetime.fromisoformat(T0).timestamp() == epoch
    step, call = spans["s"], spans["llm_call"]
    assert step["startTimeUnixNano"] == str(epoch * 10**9 + 123_456_000)
    assert step["endTimeUnixNano"] == str((epoch + 2) * 10**9 + 654_321_000)
    assert step["events"][0]["timeUnixNano"] == str((epoch + 1) * 10**9 + 1_000)
    assert call["startTimeUnixNano"] == str((epoch + 2) * 10**9 + 404_321_000)


def test_the_librarys_own_times_read_as_any_iso_time(tmp_path: Path) -> None:
    """`ts` in the library's shape takes a short cut (one parse per second): it must give what
    the full parse gives, before the epoch (clamped to 0), at its edges and for dates that do
    not exist, in any order of records."""
    from llmops_logging.cli.export import _otlp_values

    times = [
        "1969-12-31T23:59:59.999999+00:00", "1970-01-01T00:00:00.000000+00:00",
        "1970-01-01T00:00:00.000001+00:00", "2026-11-30T10:00:00.123456+00:00",
        "2026-11-30T10:00:00.999999+00:00", "2026-11-30T10:00:01.000000+00:00",
        "2026-02-30T10:00:00.000000+00:00", "2026-11-30T24:00:00.000000+00:00",
        "9999-12-31T23:59:59.999999+00:00", "0001-01-01T00:00:00.000000+00:00",
        "2026-11-30T10:00:00.12345a+00:00", "2026-11-30T10:00:00.123456-01:00",
    ]  # fmt: skip
    full = {ts: _otlp_values.nanos(ts.replace("+00:00", "Z")) for ts in times}
    assert full["1969-12-31T23:59:59.999999+00:00"] == 0
    assert full["2026-02-30T10:00:00.000000+00:00"] is None
    for ts in times + times[::-1] + times:
        assert _otlp_values.nanos(ts) == full[ts], ts


def test_a_time_read_again_gives_its_own_instant_whatever_came_before(tmp_path: Path) -> None:
    """Times are kept parsed, by their text: one instant written with other offsets, other
    fraction lengths or as a number, in turn, each gives its own nanoseconds."""
    epoch = 1796032800  # 2026-11-30T10:00:00Z
    times: list[tuple[Any, int | None]] = [
        ("2026-11-30T10:00:00.123456+00:00", 123_456_000),
        ("2026-11-30T10:00:00.123456+05:30", 123_456_000 - 19_800 * 10**9),
        ("2026-11-30T10:00:00.123456-00:30", 123_456_000 + 1_800 * 10**9),
        ("2026-11-30T10:00:00.123456Z", 123_456_000),
        ("2026-11-30T10:00:00+00:00", 0),
        ("2026-11-30T10:00:00.1+00:00", 100_000_000),
        ("2026-11-30T10:00:00.1234567+00:00", 123_456_700),
        ("2026-11-30T10:00:00.123456789123+02:00", 123_456_789 - 7_200 * 10**9),
        ("2026-11-30T10:00:00.123456", None),  # no offset: no instant
        (epoch, None),
    ]
    records = []
    for n, (ts, _) in enumerate(times * 2):
        records.append(line("step_start", ts=ts, step_id=f"s{n}", name="s"))
        records.append(line("step_ok", ts="2026-11-30T12:00:00+00:00", step_id=f"s{n}", name="s"))
    spans = validated(export(write_lines(tmp_path / "events.jsonl", records), tmp_path))
    starts = {attrs(s)["step_id"]["stringValue"]: int(s["startTimeUnixNano"]) for s in spans}
    for n, (ts, offset) in enumerate(times * 2):
        expected = epoch * 10**9 + (7_200 * 10**9 if offset is None else offset)  # else: its end
        assert starts[f"s{n}"] == expected, ts


def _typed(value: Any) -> dict[str, Any]:
    """The OTLP/JSON `AnyValue` of a scalar, by its type."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": value}


def test_equal_values_of_other_types_keep_their_type_in_json_and_protobuf(
    tmp_path: Path,
) -> None:
    """Attributes that spans repeat are made and encoded once: `1`, `True`, `1.0` and `"1"`
    under one key (and `0`, `False`, `0.0`, `-0.0`, `""`) stay an int, a bool, a double and
    text in both protocols, in any order; two keys of one value keep their own keys."""
    values: list[Any] = [1, True, 1.0, "1", 0, False, 0.0, -0.0, "", "True"]
    values += values[::-1] + values
    records = [
        line("llm_call", step_id=f"c{n}", x=v, y={"z": v}, gen_ai={"request": {"model": v}})
        for n, v in enumerate(values)
    ]
    log = write_lines(tmp_path / "events.jsonl", records)
    spans = {attrs(s)["step_id"]["stringValue"]: s for s in validated(export(log, tmp_path))}
    out = tmp_path / "traces.pb"
    args = ["export", "--format", "otlp", "--protocol", "http/protobuf", "--out", str(out)]
    assert main([*args, str(log)]) == 0
    request = ExportTraceServiceRequest()
    request.ParseFromString(out.read_bytes())
    decoded = {}
    for span in request.resource_spans[0].scope_spans[0].spans:
        found = {a.key: a.value for a in span.attributes}
        decoded[found["step_id"].string_value] = found
    for n, value in enumerate(values):
        got = attrs(spans[f"c{n}"])
        for key in ("x", "y.z", "gen_ai.request.model"):
            assert got[key] == _typed(value), (n, key, value)
            if isinstance(value, float):
                assert str(got[key]["doubleValue"]) == str(value)  # -0.0 is not 0.0
            member = next(iter(_typed(value)))
            field = {"boolValue": "bool_value", "intValue": "int_value"}.get(
                member, "double_value" if member == "doubleValue" else "string_value"
            )
            assert decoded[f"c{n}"][key].WhichOneof("value") == field, (n, key, value)
            assert str(getattr(decoded[f"c{n}"][key], field)) == str(value), (n, key)


def test_integers_are_strings_and_out_of_range_values_are_text(tmp_path: Path) -> None:
    log = write_lines(
        tmp_path / "events.jsonl",
        [
            line(
                "llm_call",
                step_id="c",
                gen_ai={"usage": {"input_tokens": 120}},
                big=18446744073709551615,
                low=-(2**63),
                ratio=0.5,
                flags=[1, True, "x"],
            )
        ],
    )
    [span] = validated(export(log, tmp_path))
    got = attrs(span)
    assert got["gen_ai.usage.input_tokens"] == {"intValue": "120"}
    assert got["big"] == {"stringValue": "18446744073709551615"}
    assert got["low"] == {"intValue": str(-(2**63))}
    assert got["ratio"] == {"doubleValue": 0.5}
    assert got["flags"] == {
        "arrayValue": {"values": [{"intValue": "1"}, {"boolValue": True}, {"stringValue": "x"}]}
    }


# -- parents ---------------------------------------------------------------------------------


def test_forged_parents_never_make_a_span_its_own_ancestor(tmp_path: Path) -> None:
    ll.configure(tmp_path / "logs")
    with ll.run("forged") as run:
        run_id = run.run_id
        with ll.step("real"):
            pass
    ll.reset()
    live = tmp_path / "logs" / "events.jsonl"
    forged = [
        line("step_start", run_id=run_id, step_id="self", parent_id="self", name="self"),
        line("step_start", run_id=run_id, step_id="A", parent_id="B", name="A"),
        line("step_start", run_id=run_id, step_id="B", parent_id="A", name="B"),
        line("llm_call", run_id=run_id, step_id="X", parent_id="Z", duration_s=0.1),
        line("llm_call", run_id=run_id, step_id="Y", parent_id="X", duration_s=0.1),
        line("llm_call", run_id=run_id, step_id="Z", parent_id="Y", duration_s=0.1),
        line("llm_call", run_id=run_id, step_id="child", parent_id="A", duration_s=0.1),
        line("step_ok", run_id=run_id, step_id="self", parent_id="self", name="self"),
    ]
    records = read_records(tmp_path / "logs")
    live.write_text("".join(json.dumps(r) + "\n" for r in records[:-1] + forged + records[-1:]))
    spans = validated(export(tmp_path / "logs", tmp_path))
    by_step = {attrs(s)["step_id"]["stringValue"]: s for s in spans if "step_id" in attrs(s)}
    [root] = [s for s in spans if s["name"] == "run forged"]
    assert by_step["self"]["parentSpanId"] == root["spanId"]
    # A cycle is cut at the span that came first, which hangs from the root.
    assert by_step["A"]["parentSpanId"] == root["spanId"]
    assert by_step["B"]["parentSpanId"] == by_step["A"]["spanId"]
    assert by_step["X"]["parentSpanId"] == root["spanId"]
    assert by_step["Z"]["parentSpanId"] == by_step["Y"]["spanId"]
    assert by_step["Y"]["parentSpanId"] == by_step["X"]["spanId"]
    assert by_step["child"]["parentSpanId"] == by_step["A"]["spanId"]


def test_the_same_log_gives_the_same_export(tmp_path: Path) -> None:
    records = [line("step_start", step_id=f"s{i}", parent_id=f"s{(i + 1) % 5}") for i in range(5)]
    log = write_lines(tmp_path / "events.jsonl", records)
    first = export(log, tmp_path).read_bytes()
    assert export(log, tmp_path).read_bytes() == first
    validated(tmp_path / "traces.otlp.jsonl")


# -- attributes ------------------------------------------------------------------------------


def test_paths_that_flatten_to_one_name_keep_both_values(tmp_path: Path) -> None:
    clash = {"http.status": 200, "http": {"status": 503}}
    log = write_lines(
        tmp_path / "events.jsonl",
        [
            line("step_start", step_id="s", name="s", **clash),
            line("log", step_id="s", **clash, a={"b.c": 1, "b": {"c": 2}}, **{"a.b\\.c": 3}),
            line("step_ok", step_id="s", name="s", **{"x.y": 1, "x": {"y.z": 2, "y": {"z": 3}}}),
        ],
    )
    [span] = validated(export(log, tmp_path))
    got = attrs(span)
    assert got["http.status"] == {"intValue": "503"}
    assert got["http\\.status"] == {"intValue": "200"}
    assert got["x.y"] == {"intValue": "1"}
    assert got["x.y.z"] == {"intValue": "3"} and got["x.y\\.z"] == {"intValue": "2"}
    event = attrs(span["events"][0])
    assert event["http.status"] == {"intValue": "503"}
    assert event["http\\.status"] == {"intValue": "200"}
    # a.b\.c is both the escaped name of ["a", "b.c"] and a key of its own: the key gives way.
    assert event["a.b.c"] == {"intValue": "2"}
    assert event["a.b\\.c"] == {"intValue": "1"}
    assert event["a\\.b\\\\\\.c"] == {"intValue": "3"}
