"""`runs`: one row per run, from its start and end records and what happened in between.

A run's tokens and cost are the `usage` totals its end recorded (nested steps, threads and
tasks included); for a run still going, the sum of its `llm_call` records so far.
`--conversation ID` keeps the runs of one conversation (`gen_ai.conversation.id`); `--by
conversation` makes one row per conversation instead, whose totals add up its outermost runs
(a nested run's calls are in its enclosing run's totals already).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .._contract import (
    CONVERSATION_PATH,
    DURATION_S,
    ERROR,
    KIND,
    LLM_CALL,
    NAME,
    RUN_ID,
    TS,
    USAGE,
    USER_PATH,
)
from ..reader import EventStream
from . import _steps
from ._output import (
    STATUS_STYLES,
    USAGE_HEADERS,
    Progress,
    console,
    durations,
    print_table,
    short_ts,
    usage_cells,
    wants_color,
)
from ._usage import Usage
from ._values import number, path
from .stats import Record

# -- runs -------------------------------------------------------------------------------------


@dataclass
class RunRow:
    run_id: str
    name: str | None = None
    start: str | None = None
    first_ts: str | None = None
    status: str | None = None
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
        identities = {
            "conversation_id": self.conversation_id,
            "user_id": self.user_id,
            "parent_run_id": self.parent_run_id,
        }
        return {
            RUN_ID: self.run_id,
            "name": self.name,
            "start": self.start or self.first_ts,
            "status": self.status,
            "duration_s": self.duration_s,
            "events": self.events,
            "samples": self.samples,
            "ok_rate": self.ok_rate,
            ERROR: self.error,
            "error_type": self.error_type,
            **{k: v for k, v in identities.items() if v is not None},  # left out when absent
            **self.usage.as_dict(),
        }


def runs(records: Iterable[Record]) -> list[dict[str, Any]]:
    """One row per run (a run_id with a run_start or run end record), oldest start first."""
    table: dict[str, RunRow] = {}
    for record in records:
        run_id = record.get(RUN_ID)
        if not isinstance(run_id, str):
            continue
        row = table.get(run_id)
        if row is None:
            row = table[run_id] = RunRow(run_id)
        row.events += 1
        ts = record.get(TS)
        if row.first_ts is None and isinstance(ts, str):
            row.first_ts = ts
        if row.conversation_id is None:
            row.conversation_id = _text(path(record, *CONVERSATION_PATH))
        if row.user_id is None:
            row.user_id = _text(path(record, *USER_PATH))
        kind = record.get(KIND)
        if kind == "sample":
            row.samples += 1
            row.samples_ok += record.get("ok") is True
        elif kind == LLM_CALL:
            row.calls.add(Usage.of_call(record))
        elif kind == "run_start":
            row.start = ts if isinstance(ts, str) else None
            row.status = row.status or "running"
            row.name = record.get("name", row.name)
            row.parent_run_id = _text(record.get("parent_run_id"))
        elif kind in ("run_ok", "run_error"):
            row.status = "ok" if kind == "run_ok" else "error"
            row.duration_s = number(record.get(DURATION_S))
            row.name = record.get("name", row.name)
            rate = record.get("ok_rate")
            if isinstance(rate, (int, float)) and not isinstance(rate, bool):
                row.closing_ok_rate = float(rate)
            error = record.get(ERROR)
            if isinstance(error, dict):
                row.error = f"{error.get('type')}: {error.get('message')}"
                row.error_type = str(error.get("type"))
            row.closing_usage = Usage.of_totals(record.get(USAGE)) or row.closing_usage
    found = [row for row in table.values() if row.status is not None]
    found.sort(key=lambda row: row.start or row.first_ts or "")
    return [row.as_dict() for row in found]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# -- conversations ----------------------------------------------------------------------------


def conversations(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per conversation of `runs()` rows, oldest first: its runs (outermost ones),
    errors, users, first and last start, events, and the totals of its outermost runs."""
    table: dict[str, dict[str, Any]] = {}
    usage: dict[str, Usage] = {}
    ids = {(r[RUN_ID], r.get("conversation_id")) for r in rows}
    for row in rows:
        conversation = row.get("conversation_id")
        if conversation is None:
            continue
        group = table.get(conversation)
        if group is None:
            group = table[conversation] = {
                "conversation_id": conversation, "runs": 0, "errors": 0, "running": 0,
                "users": set(), "start": row["start"], "last_start": row["start"], "events": 0,
            }  # fmt: skip
            usage[conversation] = Usage()
        group["events"] += row["events"]
        if row.get("user_id") is not None:
            group["users"].add(row["user_id"])
        if (row.get("parent_run_id"), conversation) in ids:
            continue  # a run inside another run of the conversation: counted there
        group["runs"] += 1
        group["errors"] += row["status"] == "error"
        group["running"] += row["status"] == "running"
        group["last_start"] = max(group["last_start"] or "", row["start"] or "") or None
        usage[conversation].add(_usage_of(row))
    out = []
    for conversation, group in table.items():
        out.append({**group, "users": sorted(group["users"]), **usage[conversation].as_dict()})
    return out


def _usage_of(row: dict[str, Any]) -> Usage:
    calls = int(row.get("llm_calls") or 0)
    priced = int(row.get("priced_calls") or 0)
    return Usage(
        calls,
        int(row.get("input_tokens") or 0),
        int(row.get("output_tokens") or 0),
        float(row.get("cost_usd") or 0.0),
        priced_calls=priced,
        counted=row.get("input_tokens") is not None or row.get("output_tokens") is not None,
    )


# -- the command ------------------------------------------------------------------------------


def command(args: argparse.Namespace) -> int:
    stream = _steps.stream(args)
    rows = runs(Progress(stream.progress).wrap(stream))
    matched = stream.report.matched
    nothing_found = (
        None
        if rows or not matched
        else f"no run: none of the {_steps.plural(matched, 'record')} matched is a run_start "
        "or run end"
    )
    if args.conversation is not None:
        every = rows
        rows = [r for r in rows if r.get("conversation_id") == args.conversation]
        if every and not rows:
            nothing_found = f"no run has conversation id {args.conversation!r}"
    if args.by == "conversation":
        return _conversations_command(args, conversations(rows), stream)
    if args.json:
        _steps.dump({"runs": rows, "read": stream.report.as_dict()})
        _steps.say_unmatched(stream.accept, nothing_found)
        return 0
    llm = any(r.get("llm_calls") for r in rows)  # the LLM columns when there were calls
    chat = any(r.get("conversation_id") for r in rows)  # and the conversation's
    usage_headers = USAGE_HEADERS if llm else ()
    headers = [RUN_ID, NAME, "start (UTC)", "status", "duration", "events", "ok_rate",
               ERROR, *usage_headers, *(("conversation",) if chat else ())]  # fmt: skip
    took = durations([r[DURATION_S] for r in rows])  # one unit down the column
    table = [
        [r[RUN_ID][:8], r[NAME], short_ts(r["start"]), r["status"], took[n], r["events"],
         r["ok_rate"], r["error_type"], *(usage_cells(r) if llm else ()),
         *((r.get("conversation_id"),) if chat else ())]
        for n, r in enumerate(rows)
    ]  # fmt: skip
    print_table(
        headers,
        table,
        console(sys.stdout, wants_color(sys.stdout, args.color)),
        numeric=(4, 5, 6, *range(8, 8 + len(usage_headers))),
        styles={3: lambda v: STATUS_STYLES.get(v, "")},
    )
    print(_steps.footer(stream.report, _steps.plural(len(rows), "run")))
    _steps.say_unmatched(stream.accept, nothing_found)
    return 0


def _conversations_command(
    args: argparse.Namespace, rows: list[dict[str, Any]], stream: EventStream
) -> int:
    if args.json:
        _steps.dump({"conversations": rows, "read": stream.report.as_dict()})
        return 0
    llm = any(r.get("llm_calls") for r in rows)
    headers = ["conversation", "users", "first start (UTC)", "last start (UTC)", "runs",
               "errors", "events", *(USAGE_HEADERS if llm else ())]  # fmt: skip
    table = [
        [r["conversation_id"], ",".join(r["users"]) or None, short_ts(r["start"]),
         short_ts(r["last_start"]), r["runs"], r["errors"], r["events"],
         *(usage_cells(r) if llm else ())]
        for r in rows
    ]  # fmt: skip
    print_table(
        headers,
        table,
        console(sys.stdout, wants_color(sys.stdout, args.color)),
        numeric=(4, 5, 6, *range(7, len(headers))),
    )
    print(_steps.footer(stream.report, _steps.plural(len(rows), "conversation")))
    return 0
