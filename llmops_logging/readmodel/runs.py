"""One run's summary, folded from its records in any order: what `runs` lists and the
report's pages and charts show.

A run's tokens and cost are the `usage` totals its end recorded (nested steps, threads and
tasks included); for a run still going, the sum of its `llm_call` records so far. Its scores
are its `score` records, wherever and whenever they were written: one given `run_id=` from
another process, after the run ended, is the run's like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._contract import (
    CONVERSATION_PATH,
    DURATION_S,
    ERROR,
    EVALUATION_NAME_PATH,
    KIND,
    LLM_CALL,
    NAME,
    OK,
    OK_RATE,
    PARENT_RUN_ID,
    PASSED,
    RUN_ID,
    SAMPLE,
    SCORE,
    SCORE_LABEL_PATH,
    SCORE_VALUE_PATH,
    SOURCE,
    TS,
    USAGE,
    USER_PATH,
    Record,
)
from .keys import as_read
from .records import RUN_ENDS, RUN_OK, RUN_START, error_text, error_type, text
from .usage import Usage
from .values import number, path, shown

RUNNING, OK_STATUS, ERROR_STATUS = "running", "ok", "error"
# the keys `add` looks up in each of a run's records, as records hold them (`as_read`)
CONVERSATION_KEY, _CONVERSATION, _ID, USER_KEY, _TS, _KIND, _OK = as_read(
    *CONVERSATION_PATH, USER_PATH[0], TS, KIND, OK
)
SCORES = "scores"
KINDS_READ = frozenset((SAMPLE, LLM_CALL, SCORE, RUN_START, *RUN_ENDS))
"""The kinds of record `RunSummary.add` reads more of than a count, a first `ts`, a
conversation and a user."""


def _conversation_id(record: Record) -> str | None:
    """`text(path(record, *CONVERSATION_PATH))` written out: each `llm_call` record holds
    `gen_ai`, and in most runs none names a conversation, so `runs` walks this path for
    every call (the generic walk took a fifth of what a call cost it)."""
    gen_ai = record.get(CONVERSATION_KEY)
    conversation = gen_ai.get(_CONVERSATION) if isinstance(gen_ai, dict) else None
    value = conversation.get(_ID) if isinstance(conversation, dict) else None
    return value if isinstance(value, str) else None


@dataclass
class Score:
    """One `score` record of a run: its name, value (None when invalid), label and source."""

    name: str
    value: float | None
    label: str | None = None
    passed: bool | None = None
    source: str | None = None

    @classmethod
    def of(cls, record: Record) -> Score:
        passed = record.get(PASSED)
        return cls(
            shown(path(record, *EVALUATION_NAME_PATH) or "-"),
            number(path(record, *SCORE_VALUE_PATH)),
            text(path(record, *SCORE_LABEL_PATH)),
            passed if isinstance(passed, bool) else None,
            text(record.get(SOURCE)),
        )

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "label": self.label,
                PASSED: self.passed, SOURCE: self.source}  # fmt: skip

    def short(self) -> str:
        """`name=label`, else `name=value`: a table's few characters."""
        if self.label is not None:
            return f"{self.name}={self.label}"
        return f"{self.name}={'-' if self.value is None else f'{self.value:g}'}"


@dataclass
class RunSummary:
    """A run as its records say: `add` each record of the run, in any order."""

    run_id: str
    name: str | None = None
    start: str | None = None
    first_ts: str | None = None
    end: str | None = None
    status: str | None = None
    """None until a run_start or run end is seen; then running, ok or error."""
    duration_s: float | None = None
    events: int = 0
    samples: int = 0
    samples_ok: int = 0
    closing_ok_rate: float | None = None
    error: str | None = None
    error_type: str | None = None
    closing_usage: Usage | None = None
    calls: Usage = field(default_factory=Usage)  # its llm_call records, for a run still going
    conversation_id: str | None = None
    user_id: str | None = None
    parent_run_id: str | None = None
    scores: list[Score] = field(default_factory=list)
    started: bool = field(default=False, repr=False)
    """A run_start was added: `start` and `parent_run_id` are its."""
    ended: bool = field(default=False, repr=False)
    """A run end was added: `status`, `end` and `duration_s` are its."""
    named: bool = field(default=False, repr=False)
    """A run_start or end that holds a name was added: `name` is its."""
    failed: bool = field(default=False, repr=False)
    """A run end with an error object was added: `error` and `error_type` are its."""

    def add(self, record: Record) -> None:
        self.events += 1
        if self.first_ts is None:  # `ts` looked up only where it is used: most records not
            ts = record.get(_TS)
            if isinstance(ts, str):
                self.first_ts = ts
        # the paths walked only when their first key is there: most records hold neither
        if self.conversation_id is None and CONVERSATION_KEY in record:
            self.conversation_id = _conversation_id(record)
        if self.user_id is None and USER_KEY in record:
            self.user_id = text(path(record, *USER_PATH))
        kind = record.get(_KIND)
        if not isinstance(kind, str):  # `kind_of`: a foreign writer's list is no kind
            return
        if kind == SAMPLE:
            self.samples += 1
            self.samples_ok += record.get(_OK) is True
        elif kind == LLM_CALL:
            self.calls.add_call(record)
        elif kind == SCORE:
            self.scores.append(Score.of(record))
        elif kind == RUN_START:
            ts = record.get(TS)
            self.start = ts if isinstance(ts, str) else None
            self.status = self.status or RUNNING
            self._name(record)
            self.parent_run_id = text(record.get(PARENT_RUN_ID))
            self.started = True
        elif kind in RUN_ENDS:
            self.status = OK_STATUS if kind == RUN_OK else ERROR_STATUS
            ts = record.get(TS)
            self.end = ts if isinstance(ts, str) else None
            self.duration_s = number(record.get(DURATION_S))
            self._name(record)
            self.ended = True
            rate = record.get(OK_RATE)
            if isinstance(rate, (int, float)) and not isinstance(rate, bool):
                self.closing_ok_rate = float(rate)
            if isinstance(record.get(ERROR), dict):
                self.error, self.error_type = error_text(record), error_type(record)
                self.failed = True
            self.closing_usage = Usage.of_totals(record.get(USAGE)) or self.closing_usage

    def count(self, events: int, samples: int = 0, samples_ok: int = 0) -> None:
        """Count records that `add` would only count: `events` of them, `samples` of those
        samples, `samples_ok` of those ok (`RunsFold.feed` counts them itself)."""
        self.events += events
        self.samples += samples
        self.samples_ok += samples_ok

    def _name(self, record: Record) -> None:
        if NAME in record:
            self.name = record[NAME]
            self.named = True

    def merge(self, later: RunSummary) -> None:
        """Add the summary of the run's `later` records (those after all of ours): the same
        summary as adding them here one by one. What a later start or end sets wins if the
        later records held one (the flags say which), a first-seen field keeps ours."""
        self.events += later.events
        self.samples += later.samples
        self.samples_ok += later.samples_ok
        if self.first_ts is None:
            self.first_ts = later.first_ts
        if self.conversation_id is None:
            self.conversation_id = later.conversation_id
        if self.user_id is None:
            self.user_id = later.user_id
        self.calls.add(later.calls)
        self.scores.extend(later.scores)
        if later.started:
            self.start, self.parent_run_id, self.started = later.start, later.parent_run_id, True
        if later.ended:
            self.status, self.end, self.duration_s = later.status, later.end, later.duration_s
            self.ended = True
        elif later.started:
            self.status = self.status or RUNNING
        if later.named:
            self.name, self.named = later.name, True
        if later.closing_ok_rate is not None:
            self.closing_ok_rate = later.closing_ok_rate
        if later.failed:
            self.error, self.error_type, self.failed = later.error, later.error_type, True
        if later.closing_usage is not None:
            self.closing_usage = later.closing_usage

    @property
    def usage(self) -> Usage:
        """The totals the run recorded when it closed, else the sum of its llm_call records."""
        return self.closing_usage if self.closing_usage is not None else self.calls

    @property
    def ok_rate(self) -> float | None:
        """The rate the run recorded when it closed, else the share of its ok samples."""
        if self.closing_ok_rate is not None:
            return self.closing_ok_rate
        return self.samples_ok / self.samples if self.samples else None

    def as_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            RUN_ID: self.run_id,
            NAME: self.name,
            "start": self.start or self.first_ts,
            "status": self.status,
            DURATION_S: self.duration_s,
            "events": self.events,
            "samples": self.samples,
            OK_RATE: self.ok_rate,
            ERROR: self.error,
            "error_type": self.error_type,
        }
        # identities left out when absent
        if self.conversation_id is not None:
            row["conversation_id"] = self.conversation_id
        if self.user_id is not None:
            row["user_id"] = self.user_id
        if self.parent_run_id is not None:
            row[PARENT_RUN_ID] = self.parent_run_id
        row.update(self.usage.as_dict())
        if self.scores:
            row[SCORES] = [s.as_dict() for s in self.scores]
        return row
