"""`export --format otlp`: runs as OpenTelemetry traces, in OTLP/JSON, for any tracing backend.

Each line of the output is one `ExportTraceServiceRequest` holding spans of one run: the layout
of the OpenTelemetry Collector's file exporter, which its `otlpjsonfile` receiver reads back.
A run is one line, written when it ends, unless memory asks for more (below).

- The run is the root span; its `trace_id` is the run id's 32 hex digits when the run id is a
  uuid as the library or OpenTelemetry writes it, else the first 32 hex digits of its SHA-256.
- Each step, each `llm_call` and each `tool_call` is a span whose `span_id` is the first 16
  hex digits of the SHA-256 of the compact JSON array `[run_id, step_id]` (the root's:
  `[run_id]`), so a step id forged into two runs still gives two ids. Its parent is its
  `parent_id`'s span in the same run, else the run's root, if it has one. A parent that
  would make a span its own ancestor (a step naming itself, a cycle A -> B -> A) is replaced
  by the root for the span of that cycle that came first.
- A span's name and, beside the record's fields flattened (see `_otlp_values`), its
  OpenInference attributes and cost come from `span_semantics` (`execute_tool {name}`,
  `invoke_agent {name}`, `openinference.span.kind`, ...), whose names win a clash; an error
  sets the span's status to ERROR and adds an `exception` event; other records become events
  of their step's span, or of the root's (made for them when the run has no run record); a
  `handoff` is the event `handoff {from} -> {to}`. A record of a step not seen yet waits for
  its span (a `tool_call` is written after what the tool logged); when `MAX_WAITING` records
  wait, or the run is written whole, the waiting ones go to the root.

Memory holds at most `MAX_OPEN_RUNS` runs of `MAX_SPANS` spans. A run reaching `MAX_SPANS`
has its finished spans written and its open ones kept (unless half are open: it is written
whole); past `MAX_OPEN_RUNS`, the least recently seen run is written whole, open spans ending at
its latest time. A span is written exactly once, which is why spans made after a line of their
run was written hash the position of the record where that happened, `[run_id, step_id,
position]`, and why a run written whole that logs again goes on under a root of its own. Which
runs were written whole is kept in a fixed-size Bloom filter: a false hit only gives a run's
first part position-salted ids, never a repeated id.

A span keeps its first `MAX_EVENTS` events and as many error-level ones, and always its own
`exception` event; the rest are counted in `droppedEventsCount` and summed in one warning.
"""

from __future__ import annotations

import hashlib
import sys
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any, NamedTuple

import orjson

from ..._contract import (
    CORE_FIELDS,
    ERROR,
    HANDOFF,
    KIND,
    LEVEL,
    LLM_CALL,
    RUN_ID,
    RUN_KINDS,
    STEP_ID,
    TS,
)
from ...readmodel.records import STARTS, error_text, failed
from ...readmodel.spans import Node, SpanTree
from .._parser import PROG
from ._otlp_values import attribute, attributes, clamp, duration_nanos, nanos, plain_attributes
from .span_semantics import event_name, handoff_name, span_attributes, span_name

Record = dict[str, Any]
MAX_OPEN_RUNS = 256
MAX_SPANS = 10_000
MAX_EVENTS = 128
MAX_WAITING = 4 * MAX_EVENTS
SPAN_KIND_INTERNAL = 1
SPAN_KIND_CLIENT = 3
STATUS_OK = 1
STATUS_ERROR = 2
_CORE = frozenset(CORE_FIELDS)
_SPAN_SKIP = _CORE | {ERROR}
_EVENT_SKIP = _CORE | {STEP_ID}
_EXCEPTION = {"type": "type", "message": "message", "traceback": "stacktrace"}
_NAME = "llmops_logging"


def record_attributes(record: Record) -> dict[str, dict[str, Any]]:
    """The attributes one record gives its span, by key: its own fields (an error's type,
    message and traceback go to the exception event instead) and the GenAI and OpenInference
    names beside them. Export and ship both build spans with it."""
    error = record.get(ERROR)
    rest = error
    if isinstance(error, dict):
        rest = {k: v for k, v in error.items() if k not in _EXCEPTION} or None
    last = () if rest is None else ((ERROR, rest),)
    attrs = plain_attributes(record.items(), _SPAN_SKIP, last)
    if attrs is None:
        fields = {k: v for k, v in record.items() if k not in _SPAN_SKIP}
        fields.update(last)
        attrs = {a["key"]: a for a in attributes(fields)}
    for key, value in span_attributes(record).items():
        attrs[key] = attribute(key, value)
    return attrs


def exception_attributes(error: dict[str, Any]) -> list[dict[str, Any]]:
    """An `error` field as the attributes of an OpenTelemetry `exception` event."""
    return attributes({f"exception.{key}": error.get(field) for field, key in _EXCEPTION.items()})


def trace_id(run_id: str) -> str:
    """A run id's trace id: its own 32 hex digits when it is a uuid written as the library (or
    OpenTelemetry) writes one; any other spelling is another run, so it is hashed."""
    try:
        parsed = uuid.UUID(run_id)
    except ValueError:
        parsed = None
    if parsed is not None and run_id in (str(parsed), parsed.hex) and parsed.int:
        return parsed.hex
    return hashlib.sha256(run_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def span_id(run_id: str, step_id: str | None = None, position: int | None = None) -> str:
    """The documented id: SHA-256 of `[run_id]`, `[run_id, step_id]` or with a part's position."""
    parts: list[Any] = [run_id] if step_id is None and position is None else [run_id, step_id]
    if position is not None:
        parts.append(position)
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()[:16]


Event = tuple[int, int | None, str, list[dict[str, Any]]]
"""A record inside a span as its event: (position in the run, time, name, attributes)."""
ExceptionEvent = tuple[int | None, str, list[dict[str, Any]]]
"""A span's own `exception` event: (time, name, attributes)."""


class _Seen:
    """A fixed-size Bloom filter of run ids already written: no false misses, rare false hits."""

    BITS = 1 << 24

    def __init__(self) -> None:
        self.bits = bytearray(self.BITS // 8)

    def _slots(self, run_id: str) -> list[int]:
        digest = hashlib.blake2b(run_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        return [int.from_bytes(digest[i : i + 4], "little") % self.BITS for i in (0, 4, 8, 12)]

    def add(self, run_id: str) -> None:
        for slot in self._slots(run_id):
            self.bits[slot >> 3] |= 1 << (slot & 7)

    def __contains__(self, run_id: str) -> bool:
        return all(self.bits[slot >> 3] >> (slot & 7) & 1 for slot in self._slots(run_id))


class _Trace:
    """A run's spans not yet written, a `SpanTree` whose nodes hold their span ids.
    `position` (None for a run's first part) salts the ids of the spans made from then on."""

    def __init__(self, run_id: str, position: int | None) -> None:
        self.run_id = run_id
        self.trace_id = trace_id(run_id)
        self.position = position
        self.first_part = position is None
        self.ids: set[str] = set()
        self.last: int | None = None
        self.tree = SpanTree(MAX_EVENTS, MAX_WAITING, self._name)
        if position is not None:  # a later part of a run: it gets a root of its own
            self.tree.root()

    @property
    def spans(self) -> dict[str, Node]:
        return self.tree.nodes

    def _name(self, node: Node) -> None:
        """Give a new node its span id (a 64-bit clash is rehashed, deterministically)."""
        step = node.step_id
        sid = span_id(self.run_id, step, self.position)
        salt = 0
        while sid in self.ids or sid == "0" * 16:
            salt += 1
            sid = span_id(self.run_id, f"{step}\0{salt}", self.position)
        self.ids.add(sid)
        node.data = sid

    def add(self, record: Record) -> None:
        at = nanos(record.get(TS))
        if at is not None:
            self.last = at if self.last is None else max(self.last, at)
        self.tree.add(record)

    def take(self, finished_only: bool, position: int) -> list[dict[str, Any]]:
        """Render and forget the spans (only the ended ones, if asked); spans made after this
        get ids salted with `position`, so that none repeats an id written here. Written whole,
        the run's records of steps never seen go to its root."""
        out = []
        for node, parent in self.tree.take(finished_only):
            self.ids.discard(node.data)
            out.append(self._render(node, None if parent is None else parent.data))
        self.position = position
        return out

    def _render(self, node: Node, parent: str | None) -> dict[str, Any]:
        first = node.first
        name = f"run {node.name}" if node.is_root or first is None else span_name(first)
        client = not node.is_root and first is not None and first.get(KIND) == LLM_CALL
        attrs: dict[str, dict[str, Any]] = {}
        start = nanos(node.start)
        status: dict[str, Any] | None = None
        exceptions: list[ExceptionEvent] = []
        dropped = node.dropped
        for record in node.records:
            attrs.update(record_attributes(record))
            if record.get(KIND) in STARTS:
                continue
            status, exception = outcome(record, nanos(record.get(TS)))
            if exception is not None:
                if len(exceptions) < MAX_EVENTS:
                    exceptions.append(exception)
                else:
                    dropped += 1
        end = nanos(node.end) if node.ended else None
        duration = duration_nanos(node.duration_s)
        if start is None and end is not None and duration is not None:
            start = clamp(end - duration)
        return render_span(
            Ids(self.trace_id, node.data, parent),
            name,
            SPAN_KIND_CLIENT if client else SPAN_KIND_INTERNAL,
            (start, end, self.last),
            list(attrs.values()),
            [record_event(seq, record) for seq, record in node.events],
            exceptions,
            dropped,
            status,
        )


def record_event(seq: int, record: Record) -> Event:
    """A record inside a span as its event: its fields beside the core ones, and its level."""
    level = ((LEVEL, record.get(LEVEL)),)
    attrs = plain_attributes(record.items(), _EVENT_SKIP, level)
    if attrs is None:
        fields = {k: v for k, v in record.items() if k not in _EVENT_SKIP}
        fields.update(level)
        listed = attributes(fields)
    else:
        listed = list(attrs.values())
    name = handoff_name(record) if record.get(KIND) == HANDOFF else event_name(record)
    return seq, nanos(record.get(TS)), name, listed


def outcome(record: Record, at: int | None) -> tuple[dict[str, Any], ExceptionEvent | None]:
    """What a span's ending (or other non-start) record says of it: its status, and the
    `exception` event its `error` object gives."""
    if not failed(record):
        return {"code": STATUS_OK}, None
    error = record.get(ERROR)
    if not isinstance(error, dict):
        return {"code": STATUS_ERROR}, None
    status = {"code": STATUS_ERROR, "message": error_text(record)}
    return status, (at, "exception", exception_attributes(error))


class Ids(NamedTuple):
    trace: str
    span: str
    parent: str | None


def render_span(
    ids: Ids,
    name: str,
    kind: int,
    times: tuple[int | None, int | None, int | None],
    attrs: list[dict[str, Any]],
    events: Iterable[Sequence[Any]],
    exceptions: Iterable[Sequence[Any]],
    dropped: int,
    status: dict[str, Any] | None,
) -> dict[str, Any]:
    """A span in OTLP/JSON, as export and ship both write it. `times` are its start, its end
    and the run's latest time (the end of a span that has none); `events` are `Event`s (sorted
    here by position), then come the `exception` events."""
    start, end, last = times
    end = end if end is not None else last
    start = start if start is not None else end
    end = end or 0
    start = min(start or 0, end)
    out: dict[str, Any] = {
        "traceId": ids.trace,
        "spanId": ids.span,
        "name": name,
        KIND: kind,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": attrs,
    }
    if ids.parent is not None:
        out["parentSpanId"] = ids.parent
    timed = [
        (start if at is None else at, label, a)
        for _, at, label, a, *_ in sorted(events, key=_position)
    ]
    timed += [(end if at is None else at, label, a) for at, label, a in exceptions]
    if timed:
        out["events"] = [
            {"timeUnixNano": str(at), "name": label, "attributes": a} for at, label, a in timed
        ]
    if dropped:
        out["droppedEventsCount"] = min(dropped, 2**32 - 1)  # a uint32
    if status is not None:
        out["status"] = status
    return out


def _position(event: Sequence[Any]) -> Any:
    return event[0]


class _Writer:
    """The runs being read, least recently seen first, and what has been written."""

    def __init__(self, out: IO[bytes], encode: Callable[[dict[str, Any]], bytes]) -> None:
        self.out = out
        self.encode = encode
        self.open: OrderedDict[str, _Trace] = OrderedDict()
        self.seen = _Seen()
        self.traces = self.spans = self.dropped = self.dropping = 0

    def add(self, record: Record, position: int) -> None:
        run_id = record.get(RUN_ID)
        if not isinstance(run_id, str):
            return
        trace = self.open.get(run_id)
        if trace is None:
            trace = _Trace(run_id, position if run_id in self.seen else None)
            self.open[run_id] = trace
            if len(self.open) > MAX_OPEN_RUNS:
                self.close(next(iter(self.open)), position)
        else:
            self.open.move_to_end(run_id)
        trace.add(record)
        if record.get(KIND) in RUN_KINDS[1:]:
            self.close(run_id, position)
        elif len(trace.spans) >= MAX_SPANS:
            self.write(trace, trace.take(True, position))
            if len(trace.spans) >= MAX_SPANS // 2:  # mostly open spans: the run is cut here
                self.close(run_id, position)

    def close(self, run_id: str, position: int) -> None:
        trace = self.open.pop(run_id)
        self.write(trace, trace.take(False, position))
        self.seen.add(run_id)

    def write(self, trace: _Trace, spans: list[dict[str, Any]]) -> None:
        if not spans:
            return
        self.traces += trace.first_part
        trace.first_part = False
        self.spans += len(spans)
        for span in spans:
            if "droppedEventsCount" in span:
                self.dropped += span["droppedEventsCount"]
                self.dropping += 1
        request = {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [{"key": "service.name", "value": {"stringValue": _NAME}}]
                    },
                    "scopeSpans": [{"scope": {"name": _NAME}, "spans": spans}],
                }
            ]
        }
        self.out.write(self.encode(request))


def _json_line(request: dict[str, Any]) -> bytes:
    return orjson.dumps(request, option=orjson.OPT_APPEND_NEWLINE)


def _stderr(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def write_otlp(
    records: Iterable[Record],
    out: IO[bytes],
    tick: Callable[[int], None] = lambda n: None,
    warn: Callable[[str], None] = _stderr,
    encode: Callable[[dict[str, Any]], bytes] | None = None,
) -> tuple[int, int, int]:
    """Write the runs to `out` (see the module's docstring); returns (records, traces, spans).
    Events left out are summed in one `warn`. Each request is written as `encode` gives it
    (default: a line of OTLP/JSON)."""
    writer = _Writer(out, encode or _json_line)
    count = 0
    for count, record in enumerate(records, 1):
        if not count % 8192:
            tick(8192)
        writer.add(record, count)
    for run_id in list(writer.open):
        writer.close(run_id, count + 1)
    if writer.dropped:
        warn(
            f"{writer.dropped:,} events left out of {writer.dropping:,} spans: a span keeps "
            f"its first {MAX_EVENTS} events, {MAX_EVENTS} more at error level and its own "
            "exception; each span's droppedEventsCount says how many it lost"
        )
    return count, writer.traces, writer.spans
