"""What the HTML report shows, gathered in one streaming pass over the records.

Memory is bounded whatever the size of the log: totals per model and per step name are
counters and `Quantiles`; the chart of runs over time keeps a small summary of the most recent
`MAX_CHART_RUNS` runs; records are kept only for runs in progress (at most `MAX_OPEN_RUNS` runs
and `MAX_BUFFERED` records in all: past that, the oldest open run keeps its summary only) and,
once a run ends, only if it is among the `RECENT_RUNS` most recent or the `FAILED_RUNS` most
recent failed runs, at most `MAX_RUN_RECORDS` each. So at most a few tens of thousands of
records are held, each no larger than the writer's `max_record_bytes`. Records are kept as the
reader made them and trimmed for the page only when shown, which keeps the pass over a million
records at a few microseconds each. The page states the choice, so nobody mistakes a selection
for the whole log.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..._contract import ERROR, EVENT, KIND, LEVEL, RUN_ID, TS, USAGE
from ...reader import ts_parts
from .._usage import Usage
from .._values import number, path
from ..stats import ERROR_LEVELS, Quantiles

Record = dict[str, Any]

RECENT_RUNS = 20
FAILED_RUNS = 20
MAX_OPEN_RUNS = 256
MAX_RUN_RECORDS = 1_000
MAX_BUFFERED = 20_000
MAX_CHART_RUNS = 20_000
MAX_TEXT = 4_000
MAX_ITEMS = 100
_ENDS = {"run_ok": "ok", "run_error": "error"}
_ERROR_KINDS = ("run_error", "step_error")


def trim(value: Any, depth: int = 0) -> Any:
    """A copy small enough for the page: long text, long lists and deep nesting are cut."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            return f"{value[:MAX_TEXT]}...[{len(value) - MAX_TEXT} more chars]"
        return value
    if depth > 8 and isinstance(value, (dict, list)):
        return "[max depth]"
    if isinstance(value, dict):
        items = list(value.items())
        kept = {str(k): trim(v, depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            kept["..."] = f"[{len(items) - MAX_ITEMS} more keys]"
        return kept
    if isinstance(value, list):
        listed = [trim(v, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            listed.append(f"...[{len(value) - MAX_ITEMS} more items]")
        return listed
    return value


def model_of(record: Record) -> str:
    model = path(record, "gen_ai", "request", "model") or path(
        record, "gen_ai", "response", "model"
    )
    return str(model) if model else str(record.get(EVENT) or "-")


@dataclass
class Group:
    """Calls or steps of one model or step name."""

    count: int = 0
    errors: int = 0
    latency: Quantiles = field(default_factory=Quantiles)
    usage: Usage = field(default_factory=Usage)

    def row(self, key: str) -> dict[str, Any]:
        return {
            "key": key,
            "count": self.count,
            "errors": self.errors,
            "error_rate": self.errors / self.count if self.count else 0.0,
            "p50_s": self.latency.quantile(0.5),
            "p95_s": self.latency.quantile(0.95),
            "max_s": self.latency.max,
            "llm_calls": self.usage.llm_calls,
            "input_tokens": self.usage.input_tokens,
            "output_tokens": self.usage.output_tokens,
            "cost_usd": self.usage.cost,
            "priced_calls": self.usage.priced_calls,
        }


@dataclass
class Run:
    """One run's summary; `records` holds its trimmed records while it may be shown in full."""

    run_id: str
    name: str = "-"
    start: str | None = None
    end: str | None = None
    status: str = "running"
    duration_s: float | None = None
    events: int = 0
    error: str | None = None
    usage: Usage = field(default_factory=Usage)
    records: list[Record] | None = field(default_factory=list)
    dropped: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            RUN_ID: self.run_id,
            "name": self.name,
            "start": self.start,
            "status": self.status,
            "duration_s": self.duration_s,
            "events": self.events,
            "error": self.error,
            "llm_calls": self.usage.llm_calls,
            "tokens": self.usage.input_tokens + self.usage.output_tokens,
            "cost_usd": self.usage.cost,
            "priced_calls": self.usage.priced_calls,
        }


@dataclass
class ReportData:
    """Everything the page needs; `add` takes one record, `finish` closes the books."""

    records: int = 0
    errors: int = 0
    runs_seen: int = 0
    runs_failed: int = 0
    first_ts: str | None = None
    last_ts: str | None = None
    usage: Usage = field(default_factory=Usage)
    models: dict[str, Group] = field(default_factory=dict)
    steps: dict[str, Group] = field(default_factory=dict)
    chart_runs: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_CHART_RUNS))
    recent: deque[Run] = field(default_factory=lambda: deque(maxlen=RECENT_RUNS))
    failed: deque[Run] = field(default_factory=lambda: deque(maxlen=FAILED_RUNS))
    open_runs: OrderedDict[str, Run] = field(default_factory=OrderedDict)
    buffered: int = 0
    """Records held for runs still open."""

    def add(self, record: Record) -> None:
        """Take one record; a dozen dict look-ups for most, more for the few that matter."""
        self.records += 1
        ts = record.get(TS)
        if type(ts) is str:
            if self.last_ts is None or ts > self.last_ts:
                self.last_ts = ts
            if self.first_ts is None or ts < self.first_ts:
                self.first_ts = ts
        kind = record.get(KIND)
        if type(kind) is not str:
            kind = ""
        if record.get(LEVEL) in ERROR_LEVELS or kind in _ERROR_KINDS:
            self.errors += 1
        run_id = record.get(RUN_ID)
        run = self.open_runs.get(run_id) if type(run_id) is str else None
        if kind == "run_start" and type(run_id) is str:
            run = self._open(run_id, record)
        if run is not None:
            run.events += 1
            if run.records is not None:
                if len(run.records) < MAX_RUN_RECORDS:
                    run.records.append(record)
                    self.buffered += 1
                    if self.buffered > MAX_BUFFERED:
                        self._forget_oldest()
                else:
                    run.dropped += 1
        if kind == "llm_call":
            self._call(record, run)
        elif kind in ("step_ok", "step_error"):
            group = self.steps.setdefault(str(record.get("name", "-")), Group())
            group.count += 1
            group.errors += kind == "step_error"
            duration = number(record.get("duration_s"))
            if duration is not None:
                group.latency.add(duration)
            totals = Usage.of_totals(record.get(USAGE))
            if totals is not None:
                group.usage.add(totals)
        elif kind in _ENDS and run is not None:
            self._close(run, record, _ENDS[kind])

    def _open(self, run_id: str, record: Record) -> Run:
        run = Run(run_id, name=str(record.get("name", "-")), start=record.get(TS))
        self.open_runs[run_id] = run
        if len(self.open_runs) > MAX_OPEN_RUNS:  # runs that never end: keep their summary only
            _, oldest = self.open_runs.popitem(last=False)
            self.buffered -= len(oldest.records or ())
            oldest.records = None
            self._retire(oldest)
        return run

    def _forget_oldest(self) -> None:
        """Too many records held for open runs: the oldest one with records gives them up."""
        for run in self.open_runs.values():
            if run.records:
                self.buffered -= len(run.records)
                run.records = None
                return

    def _call(self, record: Record, run: Run | None) -> None:
        group = self.models.setdefault(model_of(record), Group())
        group.count += 1
        failed = record.get(LEVEL) in ERROR_LEVELS or ERROR in record
        group.errors += failed
        duration = number(record.get("duration_s"))
        if duration is not None:
            group.latency.add(duration)
        call = Usage.of_call(record)
        group.usage.add(call)
        self.usage.add(call)
        if run is not None:
            run.usage.add(call)

    def _close(self, run: Run, record: Record, status: str) -> None:
        del self.open_runs[run.run_id]
        self.buffered -= len(run.records or ())
        run.status = status
        run.end = record.get(TS)
        run.duration_s = number(record.get("duration_s"))
        run.usage = Usage.of_totals(record.get(USAGE)) or run.usage
        error = record.get(ERROR)
        if isinstance(error, dict):
            run.error = f"{error.get('type', 'Error')}: {error.get('message', '')}"
        self._retire(run)

    def _retire(self, run: Run) -> None:
        """File an ended (or abandoned) run: its summary always, its records if selected."""
        self.runs_seen += 1
        self.chart_runs.append(run.summary())
        self.runs_failed += run.status == "error"
        if run.records is None:
            return
        if run.status == "error":
            self.failed.append(run)
        else:
            self.recent.append(run)

    def finish(self) -> None:
        """Runs still open at the end of the log (in progress, or their writer died)."""
        leftovers = list(self.open_runs.values())
        self.open_runs.clear()
        ended = list(self.recent)
        for run in leftovers:
            self._retire(run)
        # "Most recent" by start time: a run still open may be older than runs that ended.
        candidates = {r.run_id: r for r in ended}
        candidates.update((r.run_id, r) for r in leftovers if r.records is not None)
        newest = sorted(
            (r for r in candidates.values() if r.status != "error"), key=lambda r: r.start or ""
        )
        self.recent = deque(newest[-RECENT_RUNS:], maxlen=RECENT_RUNS)

    def detailed(self) -> list[Run]:
        """The runs shown in full, newest first, each once."""
        runs = {run.run_id: run for run in [*self.recent, *self.failed]}
        return sorted(runs.values(), key=lambda r: r.start or "", reverse=True)


def gather(records: Iterable[Record]) -> ReportData:
    data = ReportData()
    for record in records:
        data.add(record)
    data.finish()
    return data


def parse_time(ts: Any) -> datetime | None:
    """An aware time (UTC when the text names no zone, so that times compare), or None."""
    parts = ts_parts(ts)
    if parts is None:
        return None
    when = parts[0]
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)
