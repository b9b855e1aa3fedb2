"""`export --format otlp`: runs as OpenTelemetry traces, in OTLP/JSON, for any tracing backend.

Each line of the output is one `ExportTraceServiceRequest` holding one run: the layout of the
OpenTelemetry Collector's file exporter, which its `otlpjsonfile` receiver reads back, and a
line is written as soon as its run ends, so memory holds only the runs still open.

- The run is the root span; its `trace_id` is the run id's 32 hex digits (a uuid4 is exactly
  that), or the first 32 hex digits of its SHA-256 when the run id is not a uuid.
- Each step and each `llm_call` is a span whose `span_id` is the first 16 hex digits of the
  SHA-256 of its `step_id`, and whose parent is its `parent_id`'s span, else the run's.
- Attributes are the record's own fields flattened with `.`, so `gen_ai` becomes the GenAI
  semantic conventions' `gen_ai.request.model`, `gen_ai.usage.input_tokens`, ...; an error
  sets the span's status to ERROR and adds an `exception` event; other records inside a step
  become its events.

As the OTLP/JSON encoding requires, ids are hex strings and 64-bit integers are strings.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import IO, Any

import orjson

from ..._contract import CORE_FIELDS, ERROR, EVENT, KIND, LEVEL, RUN_ID, TS
from ..stats import ERROR_LEVELS

Record = dict[str, Any]
MAX_OPEN_RUNS = 256
MAX_EVENTS = 128
MAX_SPANS = 10_000
"""A run with more spans (or records outside any run) is written in several requests."""
SPAN_KIND_INTERNAL = 1
SPAN_KIND_CLIENT = 3
STATUS_OK = 1
STATUS_ERROR = 2
_CORE = frozenset(CORE_FIELDS)
_SPAN_KINDS = {"step_start", "step_ok", "step_error", "llm_call"}
_NAME = "llmops_logging"


def trace_id(run_id: str) -> str:
    """A run id's trace id: its own 32 hex digits when it is a uuid."""
    try:
        return uuid.UUID(run_id).hex
    except ValueError:
        return hashlib.sha256(run_id.encode()).hexdigest()[:32]


def span_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _nanos(ts: Any) -> int | None:
    if not isinstance(ts, str):
        return None
    try:
        when = datetime.fromisoformat(ts)
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000


def _value(value: Any) -> dict[str, Any]:
    """An OTLP AnyValue."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        if -(2**63) <= value < 2**63:
            return {"intValue": str(value)}
        return {"stringValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_value(v) for v in value]}}
    return {"stringValue": orjson.dumps(value).decode()}


def _attributes(fields: Record, prefix: str = "") -> list[dict[str, Any]]:
    """Fields flattened to dotted keys; lists of objects (messages) stay as JSON text."""
    out: list[dict[str, Any]] = []
    for key, value in fields.items():
        name = f"{prefix}{key}"
        if type(value) is str:  # the common case first: most fields are text
            out.append({"key": name, "value": {"stringValue": value}})
        elif isinstance(value, dict) and value:
            out.extend(_attributes(value, f"{name}."))
        elif value is None:
            continue
        elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
            out.append({"key": name, "value": {"stringValue": orjson.dumps(value).decode()}})
        else:
            out.append({"key": name, "value": _value(value)})
    return out


class _Trace:
    """The spans of one run, filled in as its records arrive."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.trace_id = trace_id(run_id)
        self.root = span_id(f"run:{run_id}")
        self.spans: dict[str, dict[str, Any]] = {}
        self.last: int | None = None

    def span(self, key: str, name: str, parent: str | None, kind: int) -> dict[str, Any]:
        span = self.spans.get(key)
        if span is None:
            span = self.spans[key] = {
                "traceId": self.trace_id,
                "spanId": self.root if key == self.root else span_id(key),
                "name": name,
                KIND: kind,
                "attributes": {},
                "events": [],
                "start": None,
                "end": None,
                "status": None,
            }
            if parent is not None:
                span["parentSpanId"] = parent
        return span

    def add(self, record: Record) -> None:
        kind = record.get(KIND)
        at = _nanos(record.get(TS))
        if at is not None:
            self.last = at if self.last is None else max(self.last, at)
        step = record.get("step_id")
        if kind in ("run_start", "run_ok", "run_error"):
            span = self.span(self.root, f"run {record.get('name', '-')}", None, SPAN_KIND_INTERNAL)
        elif kind in _SPAN_KINDS and isinstance(step, str):
            parent = record.get("parent_id")
            span = self.span(
                step,
                str(record.get(EVENT)) if kind == "llm_call" else str(record.get("name", "-")),
                span_id(parent) if isinstance(parent, str) else self.root,
                SPAN_KIND_CLIENT if kind == "llm_call" else SPAN_KIND_INTERNAL,
            )
        else:
            owner = self.spans.get(step) if isinstance(step, str) else None
            owner = owner or self.spans.get(self.root)
            if owner is not None and len(owner["events"]) < MAX_EVENTS and at is not None:
                fields = {k: v for k, v in record.items() if k not in _CORE and k != "step_id"}
                fields[LEVEL] = record.get(LEVEL)
                owner["events"].append(
                    {
                        "timeUnixNano": str(at),
                        "name": str(record.get(EVENT)),
                        "attributes": _attributes(fields),
                    }
                )
            return
        fields = {k: v for k, v in record.items() if k not in _CORE and k != ERROR}
        span["attributes"].update({a["key"]: a for a in _attributes(fields)})
        if kind in ("run_start", "step_start"):
            span["start"] = at
            return
        span["end"] = at
        duration = record.get("duration_s")
        if span["start"] is None and at is not None and isinstance(duration, (int, float)):
            span["start"] = at - int(duration * 1e9)
        error = record.get(ERROR)
        if str(kind).endswith("_error") or record.get(LEVEL) in ERROR_LEVELS or error is not None:
            span["status"] = {"code": STATUS_ERROR}
            if isinstance(error, dict):
                span["status"]["message"] = f"{error.get('type')}: {error.get('message')}"
                span["events"].append(
                    {
                        "timeUnixNano": str(at or 0),
                        "name": "exception",
                        "attributes": _attributes(
                            {
                                "exception.type": error.get("type"),
                                "exception.message": error.get("message"),
                                "exception.stacktrace": error.get("traceback"),
                            }
                        ),
                    }
                )
        else:
            span["status"] = {"code": STATUS_OK}

    def request(self) -> dict[str, Any]:
        """The run as one ExportTraceServiceRequest; spans never closed end at its last record."""
        spans = []
        for span in self.spans.values():
            start = span.pop("start")
            end = span.pop("end")
            status = span.pop("status")
            end = end if end is not None else self.last
            start = start if start is not None else end
            span["startTimeUnixNano"] = str(start or 0)
            span["endTimeUnixNano"] = str(end or 0)
            span["attributes"] = list(span["attributes"].values())
            if status is not None:
                span["status"] = status
            if span.get("parentSpanId") == self.root and self.root not in self.spans:
                del span["parentSpanId"]  # records outside any run: no run span to hang from
            if not span["events"]:
                del span["events"]
            spans.append(span)
        return {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [{"key": "service.name", "value": {"stringValue": _NAME}}]
                    },
                    "scopeSpans": [{"scope": {"name": _NAME}, "spans": spans}],
                }
            ]
        }


def write_otlp(
    records: Iterable[Record], out: IO[bytes], tick: Callable[[int], None] = lambda n: None
) -> tuple[int, int, int]:
    """Write one line per run to `out`; returns (records, traces, spans)."""
    open_traces: OrderedDict[str, _Trace] = OrderedDict()
    count = traces = spans = 0

    def flush(trace: _Trace) -> None:
        nonlocal traces, spans
        if trace.spans:
            out.write(orjson.dumps(trace.request(), option=orjson.OPT_APPEND_NEWLINE))
            traces += 1
            spans += len(trace.spans)

    for count, record in enumerate(records, 1):
        if not count % 8192:
            tick(8192)
        run_id = record.get(RUN_ID)
        if not isinstance(run_id, str):
            continue
        trace = open_traces.get(run_id)
        if trace is None:
            trace = open_traces[run_id] = _Trace(run_id)
            if len(open_traces) > MAX_OPEN_RUNS:
                flush(open_traces.popitem(last=False)[1])
        trace.add(record)
        if record.get(KIND) in ("run_ok", "run_error"):
            flush(open_traces.pop(run_id))
        elif len(trace.spans) >= MAX_SPANS:
            flush(trace)
            open_traces[run_id] = _Trace(run_id)
    for trace in open_traces.values():
        flush(trace)
    return count, traces, spans
