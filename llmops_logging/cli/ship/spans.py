"""Records to OTLP spans as they come, for `ship`: a span is given out once it has ended, and
what is still open is plain data that a checkpoint can hold and a restart take back.

A span is what `export --format otlp` makes of the same records (`otlp.trace_id`,
`otlp.span_id`, `span_semantics` for names and attributes, `_otlp_values` for values), so a
span shipped twice, or shipped and exported, is the same span:

- a step, an `llm_call` or a `tool_call` is given out when its ending record comes, under its
  parent step's span (or the run's root when the parent step never had a span in the run, or
  when that would make it its own ancestor: a step naming itself, a cycle A -> B -> A, whose
  span given out last goes under the root; `known` keeps the parent each span was given);
- the run's root span is given out when the run ends, with the spans still open in it (ending
  at the run's latest time) and the records of steps never seen as its events;
- a run whose writer is gone (`close_stale`: its pid no longer runs here, or no record for the
  open timeout) is given out the same way, its root and open spans with the error status
  `unfinished`, so that a crash shows in the backend.

A record of a run already given out goes on under a root of its own, named `run -`, whose
ids, like export's, hash the position of that record in the log (`span_id`; the cursor
numbers records in the order of the files' lines): the ids already sent are never sent again
for other spans. Such a later part is given out like a run; if it never ends, it gets the
status `unfinished` only when its run had not ended either (it was closed: silent past the
timeout, or one open run too many), since the late records of a run that ended (a thread that
outlived it) are no crash. The last `MAX_ENDED` runs given out are remembered, with whether
they ended (a record of an older one is taken for its run's first part).

Memory holds at most `MAX_OPEN_RUNS` runs (past it the least recently seen is closed as
unfinished) of at most `MAX_OPEN_SPANS` open spans (past it the run is closed likewise), each
span at most `otlp.MAX_EVENTS` events (and as many at error level).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ..._contract import (
    DURATION_S,
    LEVEL,
    LLM_CALL,
    NAME,
    PARENT_ID,
    PID,
    RUN_ID,
    RUN_KINDS,
    RUN_START,
    STEP_ID,
    STEP_KINDS,
    STEP_START,
    TOOL_CALL,
    TS,
)
from ...readmodel.records import ERROR_LEVELS, kind_of
from ...readmodel.values import shown
from ..export._otlp_values import clamp, duration_nanos, nanos
from ..export.otlp import (
    MAX_EVENTS,
    SPAN_KIND_CLIENT,
    SPAN_KIND_INTERNAL,
    STATUS_ERROR,
    Ids,
    outcome,
    record_attributes,
    record_event,
    render_span,
    span_id,
    trace_id,
)
from ..export.span_semantics import span_name

Record = dict[str, Any]
Span = dict[str, Any]
MAX_OPEN_RUNS = 256
MAX_OPEN_SPANS = 2_000
MAX_ENDED = 4096
"""Runs given out that are remembered (by their root's span id, in the checkpoint): 4,096
times about 20 bytes of JSON."""
MAX_WAITING = 4 * MAX_EVENTS
UNFINISHED = "unfinished"
_SPAN_KINDS = frozenset((*STEP_KINDS, LLM_CALL, TOOL_CALL))
_STARTS = frozenset((RUN_START, STEP_START))
_ENDS = frozenset(RUN_KINDS[1:])
_ROOT = ""  # the root's key; a step's is "s" + step_id


def _new_span(sid: str, name: str, parent: str | None, kind: int) -> Span:
    return {
        "id": sid, "name": name, "parent": parent, "span_kind": kind, "attrs": {}, "events": [],
        "errors": 0, "exc": [], "dropped": 0, "start": None, "end": None, "status": None,
    }  # fmt: skip


def _event(span: Span, event: list[Any]) -> None:
    """Keep an event `[seq, at, name, attributes, error]` within the span's budget."""
    if len(span["events"]) - span["errors"] < MAX_EVENTS:
        span["events"].append(event[:4])
    elif event[4] and span["errors"] < MAX_EVENTS:
        span["errors"] += 1
        span["events"].append(event[:4])
    else:
        span["dropped"] += 1


class Run:
    """One open run: its spans not yet given out, as JSON-ready data (`state`)."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.s = state

    @classmethod
    def new(cls, run_id: str, position: int | None = None, finished: bool = False) -> Run:
        """A run's first part, or (at `position`, the log's record that started it) a later
        part of a run already given out, with a root of its own; `finished`: that run had
        ended."""
        run = cls(
            {
                "run": run_id, "trace": trace_id(run_id), "spans": {}, "known": {},
                "waiting": {}, "waiting_count": 0, "last": None, "records": 0, "writer_pid": None,
                "position": position, "finished": finished,
            }
        )  # fmt: skip
        if position is not None:
            run.root("-")
        return run

    def _id(self, step: str | None) -> str:
        return span_id(self.s["run"], step, self.s.get("position"))

    def _span(self, key: str, name: str, parent: str | None, kind: int) -> Span:
        spans = self.s["spans"]
        span: Span | None = spans.get(key)
        if span is None:
            step = None if key == _ROOT else key[1:]
            span = spans[key] = _new_span(self._id(step), name, parent, kind)
            if step is not None:
                self.s["known"].setdefault(step, 1)  # the parent it was given stays
                for event in self.s["waiting"].pop(step, ()):
                    self.s["waiting_count"] -= 1
                    _event(span, event)
        return span

    def root(self, name: str) -> Span:
        return self._span(_ROOT, f"run {name}", None, SPAN_KIND_INTERNAL)

    def add(self, record: Record) -> list[Span]:
        """Take a record of this run; returns the spans it ended, rendered."""
        s = self.s
        kind = kind_of(record)
        at = nanos(record.get(TS))
        if at is not None:
            s["last"] = at if s["last"] is None else max(s["last"], at)
        pid = record.get(PID)
        if type(pid) is int:
            s["writer_pid"] = pid
        step = record.get(STEP_ID)
        s["records"] += 1
        if kind in RUN_KINDS:
            span = self.root(shown(record.get(NAME, "-")))
            span["name"] = f"run {shown(record.get(NAME, '-'))}"
        elif kind in _SPAN_KINDS and isinstance(step, str):
            parent = record.get(PARENT_ID)
            span = self._span(
                "s" + step,
                span_name(record),
                "s" + parent if isinstance(parent, str) else _ROOT,
                SPAN_KIND_CLIENT if kind == LLM_CALL else SPAN_KIND_INTERNAL,
            )
        else:
            owner = s["spans"].get("s" + step) if isinstance(step, str) else None
            event = [*record_event(s["records"], record), record.get(LEVEL) in ERROR_LEVELS]
            if owner is None and isinstance(step, str) and step not in s["known"]:
                if s["waiting_count"] >= MAX_WAITING:
                    self.give_up_waiting()
                s["waiting"].setdefault(step, []).append(event)
                s["waiting_count"] += 1
                return []
            _event(owner or s["spans"].get(_ROOT) or self.root("-"), event)
            return []
        self._fill(span, record, kind, at)
        if kind in _STARTS:
            return []
        if kind in _ENDS:
            return self.take(None)
        key = "s" + step  # type: ignore[operator]  # a span kind has a str step here
        return [self._render(s["spans"].pop(key), key)]

    def _fill(self, span: Span, record: Record, kind: Any, at: int | None) -> None:
        span["attrs"].update(record_attributes(record))
        if kind in _STARTS:
            if at is not None:
                span["start"] = at
            return
        span["end"] = at
        duration = duration_nanos(record.get(DURATION_S))
        if span["start"] is None and at is not None and duration is not None:
            span["start"] = clamp(at - duration)
        span["status"], exception = outcome(record, at)
        if exception is not None:
            if len(span["exc"]) < MAX_EVENTS:
                span["exc"].append(list(exception))
            else:
                span["dropped"] += 1

    def give_up_waiting(self) -> None:
        """The records waiting for their step's span go to the root, in the order logged."""
        s = self.s
        if not s["waiting"]:
            return
        root = s["spans"].get(_ROOT) or self.root("-")
        for event in sorted((e for events in s["waiting"].values() for e in events), key=_first):
            _event(root, event)
        s["waiting"].clear()
        s["waiting_count"] = 0

    def take(self, unfinished: str | None) -> list[Span]:
        """Every span still open, rendered; with `unfinished`, those not ended get that error."""
        self.give_up_waiting()
        out = []
        for key, span in self.s["spans"].items():
            if unfinished is not None and span["status"] is None:
                span["status"] = {"code": STATUS_ERROR, "message": unfinished}
            out.append(self._render(span, key))
        self.s["spans"] = {}
        return out

    def _parent_id(self, key: str, parent: str | None) -> str | None:
        """The id of the span `key` goes under: its parent step's, when that step had a span
        and is not `key`'s own step or below it; else the run's root, if any."""
        if parent is None:
            return None
        known = self.s["known"]
        if parent != _ROOT and parent[1:] in known and not self._above(key[1:], parent[1:]):
            known[key[1:]] = parent[1:]
            return self._id(parent[1:])
        if _ROOT in self.s["spans"]:
            return self._id(None)
        return None

    def _above(self, step: str, parent: str) -> bool:
        """Whether `step` is `parent` or one of the parents its span was given, up the chain
        (a span not given out yet, or given the root, ends it)."""
        known = self.s["known"]
        ancestor: Any = parent
        for _ in range(len(known) + 1):
            if ancestor == step:
                return True
            ancestor = known.get(ancestor)
            if not isinstance(ancestor, str):
                return False
        return True  # a chain longer than the steps known is a loop: never under it

    def _render(self, span: Span, key: str) -> Span:
        return render_span(
            Ids(self.s["trace"], span["id"], self._parent_id(key, span["parent"])),
            span["name"],
            span["span_kind"],
            (span["start"], span["end"], self.s["last"]),
            list(span["attrs"].values()),
            span["events"],
            span["exc"],
            span["dropped"],
            span["status"],
        )


def _first(event: list[Any]) -> Any:
    return event[0]


class Builder:
    """The open runs, least recently seen first; and the runs given out lately, each with
    whether it ended (1) or was closed (0)."""

    def __init__(
        self, state: list[dict[str, Any]] | None = None, ended: dict[str, int] | None = None
    ) -> None:
        self.runs: OrderedDict[str, Run] = OrderedDict(
            (run["run"], Run(run)) for run in state or ()
        )
        self.ended: OrderedDict[str, int] = OrderedDict(
            (str(key), int(finished)) for key, finished in (ended or {}).items()
        )

    def state(self) -> list[dict[str, Any]]:
        return [run.s for run in self.runs.values()]

    def add(self, record: Record, position: int) -> list[Span]:
        """Take the log's record number `position`; returns the spans it ended, rendered."""
        run_id = record.get(RUN_ID)
        if not isinstance(run_id, str):
            return []
        run = self.runs.get(run_id)
        out: list[Span] = []
        if run is None:
            finished = self.ended.get(span_id(run_id))
            later = None if finished is None else position
            run = self.runs[run_id] = Run.new(run_id, later, bool(finished))
            if len(self.runs) > MAX_OPEN_RUNS:
                out += self.close(next(iter(self.runs)))
        else:
            self.runs.move_to_end(run_id)
        out += run.add(record)
        if kind_of(record) in _ENDS:
            self._given_out(self.runs.pop(run_id), True)
        elif len(run.s["spans"]) > MAX_OPEN_SPANS:
            out += self.close(run_id)
        return out

    def _given_out(self, run: Run, ended: bool) -> None:
        key = span_id(run.s["run"])
        self.ended[key] = int(ended or run.s.get("finished", False))
        self.ended.move_to_end(key)
        if len(self.ended) > MAX_ENDED:
            self.ended.popitem(last=False)

    def close(self, run_id: str) -> list[Span]:
        """Give out a run that will not end by itself, with the status `unfinished` (but a
        later part of a run that ended: see the module docstring)."""
        run = self.runs.pop(run_id)
        self._given_out(run, False)
        if _ROOT not in run.s["spans"]:
            run.root("-")
        return run.take(None if run.s.get("finished") else UNFINISHED)

    def close_stale(self, now: int, timeout: int, alive: Callable[[int], bool]) -> list[Span]:
        """Close the runs whose writer is gone: its pid not `alive`, or no record since
        `timeout` nanoseconds before `now` (by the records' own times)."""
        out: list[Span] = []
        for run_id, run in list(self.runs.items()):
            pid, last = run.s["writer_pid"], run.s["last"]
            if (pid is not None and not alive(pid)) or (last is not None and now - last > timeout):
                out += self.close(run_id)
        return out
