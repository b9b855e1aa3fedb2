"""Steps every command shares: which log to read, which records to keep, what was left out.

A path names a log: a directory holding `events.jsonl` (or its rotated files), a live file, or
a single file. A directory with no log but a `raw_events/` below it (the smoke layout's
`data/`) means that one; a directory with neither is an error that says so, not an empty log.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
from datetime import datetime
from typing import Any

from .._contract import (
    DEFAULT_LOG_DIR,
    KIND,
    LIVE_NAME,
    LOG_DIR_ENV,
    RAW_DIR_NAME,
    RUN_ID,
    default_log_dir,
)
from .._logset import log_files, unread_files
from ..reader import Accept, EventStream, ReadReport, make_filter
from ._output import visible, write_json
from ._parser import PROG


class UsageError(Exception):
    """A problem with what was asked (a missing path, say): message and exit status 2."""


def plural(count: int, noun: str) -> str:
    """`1 run`, `2 runs`, `1,024 records`."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


# -- paths ------------------------------------------------------------------------------------


def resolve(path: str, *, empty_ok: bool = False) -> str:
    """The log `path` names: itself, or `path/raw_events` for a directory that holds no log
    but that one. Raises UsageError for a missing path, or a directory with no log at all
    (unless `empty_ok`: `tail -f` waits for a writer to start)."""
    try:
        files = log_files(path)
    except FileNotFoundError:
        raise UsageError(f"no such file or directory: {path}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if files or not os.path.isdir(path) or unread_files(path):
        return path
    below = os.path.join(path, RAW_DIR_NAME)
    if os.path.isdir(below):
        return resolve(below, empty_ok=empty_ok)
    if empty_ok:
        return path
    raise UsageError(
        f"no log in {path}: it holds no {LIVE_NAME} (nor rotated files of it) and no "
        f"{RAW_DIR_NAME}/ directory"
    )


def paths(args: argparse.Namespace, *, empty_ok: bool = False) -> list[str]:
    """The logs the command reads: its PATHs, else `$LLMOPS_LOG_DIR`, else data/raw_events."""
    if args.paths:
        return [resolve(path, empty_ok=empty_ok) for path in args.paths]
    default = default_log_dir()
    try:
        return [resolve(default, empty_ok=empty_ok)]
    except UsageError as exc:
        raise UsageError(f"{exc} (the default: ${LOG_DIR_ENV} or {DEFAULT_LOG_DIR})") from None


# -- filters ----------------------------------------------------------------------------------


class RunPrefixes:
    """`--run`: records whose run_id starts with one of the prefixes. A prefix that turns out
    to match two runs stops the command (UsageError) rather than mix their records."""

    def __init__(self, text: str) -> None:
        self.prefixes = tuple(p for p in text.split(",") if p)
        self.seen: dict[str, str] = {}  # prefix -> the one run id it matched

    def __call__(self, record: dict[str, Any]) -> bool:
        run_id = record.get(RUN_ID)
        if not isinstance(run_id, str) or not run_id.startswith(self.prefixes):
            return False
        for prefix in self.prefixes:
            if run_id.startswith(prefix):
                first = self.seen.setdefault(prefix, run_id)
                if first != run_id:
                    raise UsageError(
                        f"--run {prefix} matches several runs: {first}, {run_id}, ...; "
                        "give more of the run id"
                    )
        return True


MAX_KINDS_NAMED = 20


class Filters:
    """The command's filters as one predicate, and what each one matched on its own, so that a
    filter that matched no record says so (`unmatched`) rather than look like an empty log.

    Each filter is tried alone only until it has matched a record: on a log where every
    filter matches early, that costs a few records' worth of tests.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        kinds = sorted({k for item in args.kind or () for k in item.split(",") if k})
        self.combined = make_filter(
            kind=set(kinds) or None,
            level=args.level,
            since=args.since,
            until=args.until,
            grep=args.grep,
            where=RunPrefixes(args.run) if args.run else None,
        )
        self.records = self.matched = 0
        self.kinds_wanted = set(kinds)
        self.kinds_seen: dict[str, None] = {}  # in the order first seen: see `merge`
        self.runs = bool(args.run)
        alone: list[tuple[str, Accept | None]] = [
            (f"no run id starts with {prefix!r}", _run_starts(prefix))
            for prefix in dict.fromkeys(p for p in (args.run or "").split(",") if p)
        ]
        alone += [
            (f"no record at level {args.level} or above", make_filter(level=args.level)),
            (f"no record at or after {_when(args.since)}", make_filter(since=args.since)),
            (f"no record before {_when(args.until)}", make_filter(until=args.until)),
            (f"no record matches --grep {_pattern(args.grep)!r}", make_filter(grep=args.grep)),
        ]
        self.pending = {note: test for note, test in alone if test is not None}

    @property
    def active(self) -> bool:
        return self.combined is not None

    def __call__(self, record: dict[str, Any], line: bytes) -> bool:
        self.records += 1
        if self.pending:
            for note, test in list(self.pending.items()):
                if test(record, line):
                    del self.pending[note]
        if self.kinds_wanted:
            kind = record.get(KIND)
            if isinstance(kind, str):
                self.kinds_wanted.discard(kind)
                if len(self.kinds_seen) <= MAX_KINDS_NAMED:
                    self.kinds_seen[kind] = None
        matched = self.combined is None or self.combined(record, line)
        self.matched += matched
        return matched

    def split(self) -> Filters | None:
        """The same filters with nothing seen yet, for a share of the records read by another
        process (`merge` its state back in order); None under `--run`, whose prefixes must see
        the records in order to stop at the first prefix that matches two runs."""
        if self.runs:
            return None
        share = copy.copy(self)
        share.records = share.matched = 0
        share.pending = dict(self.pending)
        share.kinds_wanted = set(self.kinds_wanted)
        share.kinds_seen = {}
        return share

    def seen(self) -> dict[str, Any]:
        """What these filters saw, for `merge` in another process (the tests stay here)."""
        return {"records": self.records, "matched": self.matched,
                "pending": list(self.pending), "kinds_wanted": self.kinds_wanted,
                "kinds_seen": list(self.kinds_seen)}  # fmt: skip

    def merge(self, later: dict[str, Any]) -> None:
        """Add what a `split` share `seen` of the records after ours: as if we had seen them."""
        self.records += later["records"]
        self.matched += later["matched"]
        for note in [note for note in self.pending if note not in later["pending"]]:
            del self.pending[note]
        self.kinds_wanted &= later["kinds_wanted"]
        for kind in later["kinds_seen"]:  # as `__call__` adds them, up to one past the limit
            if len(self.kinds_seen) <= MAX_KINDS_NAMED:
                self.kinds_seen[kind] = None

    def unmatched(self) -> list[str]:
        """One sentence per filter that matched no record, else one if no record matched them
        all together; nothing when every record was kept, or there was none."""
        if not self.records:
            return []
        seen = sorted(self.kinds_seen)[:MAX_KINDS_NAMED]
        more = ", ..." if len(self.kinds_seen) > MAX_KINDS_NAMED else ""
        notes = [
            f"no record of kind {kind!r}; kinds seen: {', '.join(seen) or 'none'}{more}"
            for kind in sorted(self.kinds_wanted)
        ]
        notes += list(self.pending)
        if not notes and not self.matched:
            notes.append("no record matches all the filters together")
        return notes


def _run_starts(prefix: str) -> Accept:
    def starts(record: dict[str, Any], line: bytes) -> bool:
        run_id = record.get(RUN_ID)
        return isinstance(run_id, str) and run_id.startswith(prefix)

    return starts


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.isoformat()


def _pattern(value: re.Pattern[str] | None) -> str:
    return "" if value is None else value.pattern


def accept(args: argparse.Namespace) -> Accept | None:
    """One predicate for the command's filters (a `Filters`), None when there are none."""
    filters = Filters(args)
    return filters if filters.active else None


def say_unmatched(accept: Accept | None, nothing_found: str | None = None) -> None:
    """On stderr: each filter that matched no record; else `nothing_found`, if given, when the
    records kept made no row (`runs` of records that hold no run)."""
    notes = accept.unmatched() if isinstance(accept, Filters) else []
    if not notes and nothing_found:
        notes = [nothing_found]
    for note in notes:
        print(f"{PROG}: {visible(note)}", file=sys.stderr)


def stream(args: argparse.Namespace) -> EventStream:
    return EventStream(paths(args), accept(args))


# -- what a read left out ---------------------------------------------------------------------


def dump(value: Any) -> None:
    """`value` as indented JSON on stdout (the `--json` output)."""
    write_json(sys.stdout, value)


def skipped(report: ReadReport) -> list[str]:
    """What a read left out, one sentence each: torn lines, oversize lines, unread files."""

    def places(shown: list[str], count: int) -> str:
        return ", ".join(map(visible, shown[:5])) + (" ..." if count > 5 else "")

    notes = []
    if report.bad_count:
        notes.append(
            f"skipped {plural(report.bad_count, 'torn or non-JSON line')}: "
            + places(report.bad, report.bad_count)
        )
    if report.oversize_count:
        notes.append(
            f"skipped {plural(report.oversize_count, 'line')} longer than the limit, unread: "
            + places(report.oversize, report.oversize_count)
        )
    if report.unread:
        notes.append(
            f"not read: {plural(len(report.unread), 'file')} named like the log but not of its "
            "rotation (name one to read it): " + places(report.unread, len(report.unread))
        )
    return notes


def footer(report: ReadReport, what: str) -> str:
    """`3 runs from 1,024 records in 2 files; skipped ...`, then any read errors."""
    text = f"{what} from {plural(report.matched, 'record')} in {plural(len(report.files), 'file')}"
    text = "; ".join([text, *skipped(report)])
    return "\n".join([text, *map(visible, report.errors)])


def warn(report: ReadReport) -> None:
    """What a read left out, on stderr."""
    for note in skipped(report):
        print(f"{PROG}: {note}", file=sys.stderr)
    for error in report.errors:
        print(f"{PROG}: {visible(error)}", file=sys.stderr)
