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
from collections.abc import Callable, Iterable
from typing import IO, Any

import orjson

from ..._contract import (
    CORE_FIELDS,
    DURATION_S,
    ERROR,
    EVENT,
    HANDOFF,
    KIND,
    LEVEL,
    LLM_CALL,
    NAME,
    PARENT_ID,
    RUN_ID,
    RUN_KINDS,
    RUN_START,
    STEP_ID,
    STEP_KINDS,
    STEP_START,
    TOOL_CALL,
    TS,
)
from .._parser import PROG
from ..stats import ERROR_LEVELS
from ._otlp_values import any_value, attributes, clamp, duration_nanos, nanos
from .span_semantics import handoff_name, span_attributes, span_name

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
_SPAN_KINDS = frozenset((*STEP_KINDS, LLM_CALL, TOOL_CALL))
_STARTS = frozenset((RUN_START, STEP_START))
_EXCEPTION = {"type": "type", "message": "message", "traceback": "stacktrace"}
_ROOT = ""  # the root's key: never a step's, whose keys are "s" + step_id
_NAME = "llmops_logging"


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


class _Span:
    """One span being filled in; rendered to OTLP/JSON once, when written."""

    __slots__ = (
        "attributes", "dropped", "end", "ended", "errors", "events", "exceptions", "id",
        "name", "order", "parent", "span_kind", "start", "status",
    )  # fmt: skip

    def __init__(self, span_id: str, name: str, parent: str | None, kind: int, order: int) -> None:
        self.id = span_id
        self.name = name
        self.parent = parent  # a key: the parent step's, or the root's; None for the root
        self.span_kind = kind
        self.order = order
        self.attributes: dict[str, dict[str, Any]] = {}
        self.events: list[tuple[int, int | None, str, list[dict[str, Any]]]] = []  # seq first
        self.errors = 0  # error-level events kept beyond MAX_EVENTS
        self.exceptions: list[tuple[int | None, str, list[dict[str, Any]]]] = []
        self.dropped = 0
        self.start: int | None = None
        self.end: int | None = None
        self.ended = False
        self.status: dict[str, Any] | None = None

    def event(self, seq: int, at: int | None, name: str, fields: Record, error: bool) -> None:
        if len(self.events) - self.errors < MAX_EVENTS:
            self.events.append((seq, at, name, attributes(fields)))
        elif error and self.errors < MAX_EVENTS:
            self.errors += 1
            self.events.append((seq, at, name, attributes(fields)))
        else:
            self.dropped += 1


class _Trace:
    """A run's spans not yet written. `position` (None for a run's first part) salts the ids."""

    def __init__(self, run_id: str, position: int | None) -> None:
        self.run_id = run_id
        self.trace_id = trace_id(run_id)
        self.position = position
        self.first_part = position is None
        self.spans: dict[str, _Span] = {}
        self.ids: set[str] = set()
        self.last: int | None = None
        self.order = 0
        self.seq = 0
        self.waiting: dict[str, list[tuple[int, int | None, str, Record, bool]]] = {}
        self.waiting_count = 0  # records of steps not seen yet, at most MAX_WAITING
        if position is not None:  # a later part of a run: it gets a root of its own
            self.root("-")

    def _span(self, key: str, name: str, parent: str | None, kind: int) -> _Span:
        span = self.spans.get(key)
        if span is None:
            step = None if key == _ROOT else key[1:]
            sid = span_id(self.run_id, step, self.position)
            salt = 0
            while sid in self.ids or sid == "0" * 16:  # a 64-bit clash: rehash, deterministic
                salt += 1
                sid = span_id(self.run_id, f"{step}\0{salt}", self.position)
            self.ids.add(sid)
            self.order += 1
            span = self.spans[key] = _Span(sid, name, parent, kind, self.order)
            for event in self.waiting.pop(step, ()) if step is not None else ():
                self.waiting_count -= 1
                span.event(*event)
        return span

    def root(self, name: str) -> _Span:
        return self._span(_ROOT, f"run {name}", None, SPAN_KIND_INTERNAL)

    def add(self, record: Record) -> None:
        kind = record.get(KIND)
        at = nanos(record.get(TS))
        if at is not None:
            self.last = at if self.last is None else max(self.last, at)
        step = record.get(STEP_ID)
        self.seq += 1
        if kind in RUN_KINDS:
            span = self.root(str(record.get(NAME, "-")))
            span.name = f"run {record.get(NAME, '-')}"
        elif kind in _SPAN_KINDS and isinstance(step, str):
            parent = record.get(PARENT_ID)
            span = self._span(
                "s" + step,
                span_name(record),
                "s" + parent if isinstance(parent, str) else _ROOT,
                SPAN_KIND_CLIENT if kind == LLM_CALL else SPAN_KIND_INTERNAL,
            )
        else:
            owner = self.spans.get("s" + step) if isinstance(step, str) else None
            fields = {k: v for k, v in record.items() if k not in _CORE and k != STEP_ID}
            fields[LEVEL] = record.get(LEVEL)
            name = handoff_name(record) if kind == HANDOFF else str(record.get(EVENT))
            event = (self.seq, at, name, fields, record.get(LEVEL) in ERROR_LEVELS)
            if owner is None and isinstance(step, str):
                # A step not seen yet: a tool call's record comes after what it logged.
                if self.waiting_count >= MAX_WAITING:
                    self.give_up_waiting()
                self.waiting.setdefault(step, []).append(event)
                self.waiting_count += 1
                return
            owner = owner or self.spans.get(_ROOT) or self.root("-")
            owner.event(*event)
            return
        error = record.get(ERROR)
        fields = {k: v for k, v in record.items() if k not in _CORE and k != ERROR}
        rest = error
        if isinstance(error, dict):  # type, message, traceback go to the exception event
            rest = {k: v for k, v in error.items() if k not in _EXCEPTION} or None
        if rest is not None:
            fields[ERROR] = rest
        span.attributes.update((a["key"], a) for a in attributes(fields))
        span.attributes.update(
            (key, {"key": key, "value": any_value(value)})
            for key, value in span_attributes(record).items()
        )
        if kind in _STARTS:
            if at is not None:
                span.start = at
            return
        span.ended = True
        span.end = at
        duration = duration_nanos(record.get(DURATION_S))
        if span.start is None and at is not None and duration is not None:
            span.start = clamp(at - duration)
        if str(kind).endswith("_error") or record.get(LEVEL) in ERROR_LEVELS or error is not None:
            span.status = {"code": STATUS_ERROR}
            if isinstance(error, dict):
                span.status["message"] = f"{error.get('type')}: {error.get('message')}"
                exception = {
                    f"exception.{name}": error.get(field) for field, name in _EXCEPTION.items()
                }
                if len(span.exceptions) < MAX_EVENTS:
                    span.exceptions.append((at, "exception", attributes(exception)))
                else:
                    span.dropped += 1
        else:
            span.status = {"code": STATUS_OK}

    def _parents(self) -> dict[str, str | None]:
        """Each span's parent key: its own if in this part, else the root; cycles cut."""
        has_root = _ROOT in self.spans
        parents: dict[str, str | None] = {}
        for key, span in self.spans.items():
            parent = span.parent
            if parent is not None and parent not in self.spans:
                parent = _ROOT if has_root else None
            parents[key] = None if key == _ROOT else parent
        done: set[str] = set()
        for key in self.spans:
            path: list[str] = []
            on_path: set[str] = set()
            node: str | None = key
            while node is not None and node not in done and node not in on_path:
                path.append(node)
                on_path.add(node)
                node = parents[node]
            if node is not None and node in on_path:  # a cycle: its first-seen span moves
                cycle = path[path.index(node) :]
                first = min(cycle, key=lambda k: self.spans[k].order)
                parents[first] = _ROOT if has_root and first != _ROOT else None
            done.update(path)
        return parents

    def give_up_waiting(self) -> None:
        """The records waiting for their step's span go to the root, in the order logged."""
        if not self.waiting:
            return
        root = self.spans.get(_ROOT) or self.root("-")
        for event in sorted(e for events in self.waiting.values() for e in events):
            root.event(*event)
        self.waiting.clear()
        self.waiting_count = 0

    def take(self, finished_only: bool, position: int) -> list[dict[str, Any]]:
        """Render and forget the spans (only the ended ones, if asked); spans made after this
        get ids salted with `position`, so that none repeats an id written here. Written whole,
        the run's records of steps never seen go to its root."""
        if not finished_only:
            self.give_up_waiting()
        parents = self._parents()
        ids = {key: span.id for key, span in self.spans.items()}
        out = []
        for key, span in list(self.spans.items()):
            if finished_only and not span.ended:
                continue
            del self.spans[key]
            self.ids.discard(span.id)
            parent = parents[key]
            out.append(self._render(span, None if parent is None else ids[parent]))
        self.position = position
        return out

    def _render(self, span: _Span, parent: str | None) -> dict[str, Any]:
        end = span.end if span.end is not None else self.last
        start = span.start if span.start is not None else end
        end = end or 0
        start = min(start or 0, end)
        out: dict[str, Any] = {
            "traceId": self.trace_id,
            "spanId": span.id,
            "name": span.name,
            KIND: span.span_kind,
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(end),
            "attributes": list(span.attributes.values()),
        }
        if parent is not None:
            out["parentSpanId"] = parent
        events = [(start if at is None else at, name, a) for _, at, name, a in sorted(span.events)]
        events += [(end if at is None else at, name, a) for at, name, a in span.exceptions]
        if events:
            out["events"] = [
                {"timeUnixNano": str(at), "name": name, "attributes": attrs}
                for at, name, attrs in events
            ]
        if span.dropped:
            out["droppedEventsCount"] = min(span.dropped, 2**32 - 1)  # a uint32
        if span.status is not None:
            out["status"] = span.status
        return out


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
