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
from typing import Any

from .._contract import (
    COST_USD,
    DURATION_S,
    ERROR,
    INPUT_TOKENS,
    KIND,
    LLM_CALLS,
    NAME,
    OK,
    OK_RATE,
    OUTPUT_TOKENS,
    PARENT_RUN_ID,
    RUN_ID,
    SAMPLE,
    Record,
)
from ..reader import EventStream
from ..readmodel.keys import as_read
from ..readmodel.runs import CONVERSATION_KEY, KINDS_READ, SCORES, USER_KEY, RunSummary, Score
from ..readmodel.usage import Usage
from . import _fanout, _steps
from ._output import (
    STATUS_STYLES,
    USAGE_HEADERS,
    console,
    durations,
    print_table,
    short_ts,
    usage_cells,
    visible,
    wants_color,
)

# -- runs -------------------------------------------------------------------------------------

MAX_SCORES_WIDTH = 40
"""The scores column's width at most: `correct=1 helpful=pass ...`."""
_NO_RUN = object()
"""The run before a fold's first record: equal to no run id."""
_KEYS = as_read(RUN_ID, KIND, OK, CONVERSATION_KEY, USER_KEY)
"""The keys `RunsFold.feed` looks up in each record, as records hold them (`as_read`)."""


def runs(records: Iterable[Record]) -> list[dict[str, Any]]:
    """One row per run (a run_id with a run_start or run end record), oldest start first: a
    `RunSummary` each."""
    fold = RunsFold()
    fold.feed(records)
    return fold.rows()


class RunsFold:
    """`runs` as a fold: `feed` records, `merge` the fold of the records that follow (read by
    another process), then `rows`. Merging gives the same rows as one pass."""

    def __init__(self) -> None:
        self.table: dict[str, RunSummary] = {}

    def feed(self, records: Iterable[Record]) -> None:
        """`RunSummary.add` for each record with a run id, with its usual case written out:
        a record that only counts (a sample, or a kind not in `KINDS_READ`, of a run
        with its first `ts`, holding no conversation or user) is counted here, without the
        call and its look at the record's first `ts`, conversation and user (a quarter of
        what a sample cost `runs`). Those counts are kept in local variables while the run's
        records come one after another, and added to its summary when another run's come or
        the records end (a third of what was left). The tests hold the two to each other."""
        table = self.table
        run_id_key, kind_key, ok_key, conversation_key, user_key = _KEYS
        last_id: object = _NO_RUN
        summary = RunSummary("")  # a stand-in: the first record with a run id sets it
        unsure = True  # the run has no first `ts` yet: `add` looks for it
        events = samples = samples_ok = 0  # the run's, not added to its summary yet
        try:
            for record in records:
                run_id = record.get(run_id_key)
                # a run's records mostly come one after another; a value that is no text (a
                # caller's NA or array, whose == is no bool) is not compared
                if run_id.__class__ is not str or run_id != last_id:
                    if not isinstance(run_id, str):
                        continue
                    if events:  # (so are samples, if any)
                        summary.count(events, samples, samples_ok)
                        events = samples = samples_ok = 0
                    found = table.get(run_id)
                    if found is None:
                        found = table[run_id] = RunSummary(run_id)
                    last_id, summary = run_id, found
                    unsure = found.first_ts is None
                if unsure or conversation_key in record or user_key in record:
                    summary.add(record)
                    unsure = summary.first_ts is None
                    continue
                kind = record.get(kind_key)
                if kind.__class__ is not str:  # none, a str subclass, a caller's object
                    summary.add(record)
                elif kind == SAMPLE:
                    events += 1
                    samples += 1
                    if record.get(ok_key) is True:
                        samples_ok += 1
                elif kind not in KINDS_READ:
                    events += 1
                else:
                    summary.add(record)
        finally:
            if events:
                summary.count(events, samples, samples_ok)

    def settle(self) -> None:
        """Nothing to work out before a merge: a run's summary merges as it is."""

    def merge(self, later: RunsFold) -> None:
        """Add the fold of the records after ours: runs in first-seen order (the order of
        runs that started at the same moment), a run's records on both sides merged."""
        _fanout.merge_groups(self.table, later.table)

    def rows(self) -> list[dict[str, Any]]:
        found = [run for run in self.table.values() if run.status is not None]
        found.sort(key=lambda run: run.start or run.first_ts or "")
        return [run.as_dict() for run in found]


def scores_cell(row: dict[str, Any]) -> str | None:
    """A run's scores in a few words (`correct=1 helpful=pass`), made `visible` (log text)
    and then cut to `MAX_SCORES_WIDTH`."""
    scores = row.get(SCORES)
    if not scores:
        return None
    text = visible(" ".join(Score(**score).short() for score in scores))
    return text if len(text) <= MAX_SCORES_WIDTH else text[: MAX_SCORES_WIDTH - 3] + "..."


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
        if (row.get(PARENT_RUN_ID), conversation) in ids:
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
    calls = int(row.get(LLM_CALLS) or 0)
    priced = int(row.get("priced_calls") or 0)
    return Usage(
        calls,
        int(row.get(INPUT_TOKENS) or 0),
        int(row.get(OUTPUT_TOKENS) or 0),
        float(row.get(COST_USD) or 0.0),
        priced_calls=priced,
        counted=row.get(INPUT_TOKENS) is not None or row.get(OUTPUT_TOKENS) is not None,
    )


# -- the command ------------------------------------------------------------------------------


def command(args: argparse.Namespace) -> int:
    stream = _steps.stream(args)
    rows = _fanout.rows(stream, RunsFold)
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
    llm = any(r.get(LLM_CALLS) for r in rows)  # the LLM columns when there were calls
    chat = any(r.get("conversation_id") for r in rows)  # and the conversation's
    scored = any(r.get(SCORES) for r in rows)  # and the scores'
    usage_headers = USAGE_HEADERS if llm else ()
    headers = [RUN_ID, NAME, "start (UTC)", "status", "duration", "events", OK_RATE,
               ERROR, *usage_headers, *(("conversation",) if chat else ()),
               *((SCORES,) if scored else ())]  # fmt: skip
    took = durations([r[DURATION_S] for r in rows])  # one unit down the column
    table = [
        [r[RUN_ID][:8], r[NAME], short_ts(r["start"]), r["status"], took[n], r["events"],
         r[OK_RATE], r["error_type"], *(usage_cells(r) if llm else ()),
         *((r.get("conversation_id"),) if chat else ()),
         *((scores_cell(r),) if scored else ())]
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
    llm = any(r.get(LLM_CALLS) for r in rows)
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
