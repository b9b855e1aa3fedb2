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

from ..._contract import (
    COST_USD,
    DURATION_S,
    ERROR,
    KIND,
    LLM_CALL,
    LLM_CALLS,
    NAME,
    RUN_ID,
    SCORE,
    TS,
    USAGE,
    Record,
)
from ...reader import ts_parts
from ...readmodel.records import RUN_ENDS, RUN_START, STEP_ENDS, call_label, failed
from ...readmodel.runs import RUNNING, RunSummary
from ...readmodel.tally import Tally
from ...readmodel.usage import Usage
from ...readmodel.values import shown
from .scores import ScoreData

RECENT_RUNS = 20
FAILED_RUNS = 20
MAX_OPEN_RUNS = 256
MAX_RUN_RECORDS = 1_000
MAX_BUFFERED = 20_000
MAX_CHART_RUNS = 20_000
MAX_TEXT = 4_000
MAX_ITEMS = 100


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


@dataclass
class Run:
    """One run's summary (`RunSummary`); `records` holds its records while it may be shown
    in full."""

    summary: RunSummary
    records: list[Record] | None = field(default_factory=list)
    dropped: int = 0

    @property
    def run_id(self) -> str:
        return self.summary.run_id

    @property
    def start(self) -> str | None:
        return self.summary.start

    @property
    def status(self) -> str:
        return self.summary.status or RUNNING

    def row(self) -> dict[str, Any]:
        s = self.summary
        usage = s.usage
        return {
            RUN_ID: s.run_id,
            NAME: s.name if s.name is not None else "-",
            "start": s.start,
            "status": self.status,
            DURATION_S: s.duration_s,
            "events": s.events,
            ERROR: s.error,
            LLM_CALLS: usage.llm_calls,
            "tokens": usage.input_tokens + usage.output_tokens,
            COST_USD: usage.cost,
            "priced_calls": usage.priced_calls,
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
    models: dict[str, Tally] = field(default_factory=dict)
    steps: dict[str, Tally] = field(default_factory=dict)
    chart_runs: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_CHART_RUNS))
    recent: deque[Run] = field(default_factory=lambda: deque(maxlen=RECENT_RUNS))
    failed: deque[Run] = field(default_factory=lambda: deque(maxlen=FAILED_RUNS))
    open_runs: OrderedDict[str, Run] = field(default_factory=OrderedDict)
    scores: ScoreData = field(default_factory=ScoreData)
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
        if failed(record):
            self.errors += 1
        run_id = record.get(RUN_ID)
        run = self.open_runs.get(run_id) if type(run_id) is str else None
        if kind == RUN_START and type(run_id) is str:
            run = self._open(run_id, record)
        if kind in (SCORE, RUN_START):
            self.scores.add(record)
        if run is not None:
            run.summary.add(record)
            if run.records is not None:
                if len(run.records) < MAX_RUN_RECORDS:
                    run.records.append(record)
                    self.buffered += 1
                    if self.buffered > MAX_BUFFERED:
                        self._forget_oldest()
                else:
                    run.dropped += 1
        if kind == LLM_CALL:
            call = Usage.of_call(record)
            self.models.setdefault(call_label(record), Tally()).add(record, call)
            self.usage.add(call)
        elif kind in STEP_ENDS:
            group = self.steps.setdefault(shown(record.get(NAME, "-")), Tally())
            group.add(record, Usage.of_totals(record.get(USAGE)))
        elif kind in RUN_ENDS and run is not None:
            self._close(run)

    def _open(self, run_id: str, record: Record) -> Run:
        run = Run(RunSummary(run_id))
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

    def _close(self, run: Run) -> None:
        del self.open_runs[run.run_id]
        self.buffered -= len(run.records or ())
        self._retire(run)

    def _retire(self, run: Run) -> None:
        """File an ended (or abandoned) run: its summary always, its records if selected."""
        self.runs_seen += 1
        self.chart_runs.append(run.row())
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
