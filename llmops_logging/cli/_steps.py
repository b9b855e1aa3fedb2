"""Steps every command shares: which log to read, which records to keep, what was left out.

A path names a log: a directory holding `events.jsonl` (or its rotated files), a live file, or
a single file. A directory with no log but a `raw_events/` below it (the smoke layout's
`data/`) means that one; a directory with neither is an error that says so, not an empty log.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .._contract import (
    DEFAULT_LOG_DIR,
    LIVE_NAME,
    LOG_DIR_ENV,
    RAW_DIR_NAME,
    RUN_ID,
    default_log_dir,
)
from ..reader import Accept, EventStream, ReadReport, log_files, make_filter, unread_files
from ._output import json_text, visible
from ._parser import PROG
from ._values import number as number  # re-exported: the commands read values from here
from ._values import path as path


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


def accept(args: argparse.Namespace) -> Accept | None:
    """One predicate for the command's filters (None when there are none)."""
    kinds = {k for item in args.kind or () for k in item.split(",") if k} or None
    return make_filter(
        kind=kinds,
        level=args.level,
        since=args.since,
        until=args.until,
        grep=args.grep,
        where=RunPrefixes(args.run) if args.run else None,
    )


def stream(args: argparse.Namespace) -> EventStream:
    return EventStream(paths(args), accept(args))


# -- what a read left out ---------------------------------------------------------------------


def dump(value: Any) -> None:
    """`value` as indented JSON on stdout (the `--json` output)."""
    sys.stdout.write(json_text(value, indent=True) + "\n")


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
