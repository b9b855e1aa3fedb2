"""llmops-logs: read, follow, summarise, check and export llmops_logging JSONL logs.

This module runs the commands; `_cli_args` defines the command line, `_cli_stats`,
`_cli_validate`, `_cli_export` and `_cli_follow` do the work, `_cli_tables` the output. Only
the reader is used to read logs: the CLI knows nothing of the writer.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import stat
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import orjson

from . import _cli_stats
from ._cli_args import DEFAULT_LOG_DIR, LOG_DIR_ENV, PROG, build_parser
from ._cli_export import MissingDependency, export
from ._cli_follow import Follower
from ._cli_tables import (
    STATUS_STYLES,
    USAGE_HEADERS,
    Progress,
    print_table,
    record_line,
    seconds,
    short_ts,
    usage_cells,
    wants_color,
)
from ._cli_validate import validate
from .reader import Accept, EventStream, ReadReport, log_files, make_filter


class UsageError(Exception):
    """A problem with what was asked (a missing path, say): message and exit status 2."""


# -- shared steps -----------------------------------------------------------------------------


def _paths(args: argparse.Namespace) -> list[str]:
    paths: list[str] = args.paths or [os.environ.get(LOG_DIR_ENV) or DEFAULT_LOG_DIR]
    for path in paths:
        try:
            log_files(path)
        except FileNotFoundError:
            default = "" if args.paths else f" (the default: ${LOG_DIR_ENV} or {DEFAULT_LOG_DIR})"
            raise UsageError(f"no such file or directory: {path}{default}") from None
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return paths


def _accept(args: argparse.Namespace) -> Accept | None:
    kinds = {k for item in args.kind or () for k in item.split(",") if k} or None
    where = None
    if args.run:
        prefixes = tuple(p for p in args.run.split(",") if p)

        def where(record: dict[str, Any]) -> bool:
            run_id = record.get("run_id")
            return isinstance(run_id, str) and run_id.startswith(prefixes)

    return make_filter(
        kind=kinds,
        level=args.level,
        since=args.since,
        until=args.until,
        grep=args.grep,
        where=where,
    )


def _stream(args: argparse.Namespace) -> EventStream:
    return EventStream(_paths(args), _accept(args))


def _dump(value: Any, out: TextIO) -> None:
    out.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def _footer(report: ReadReport, what: str) -> str:
    files = len(report.files)
    text = f"{what} from {report.matched:,} records in {files} file{'s' * (files != 1)}"
    if report.bad_count:
        text += (
            f"; skipped {report.bad_count} torn or non-JSON line(s): "
            + ", ".join(report.bad[:5])
            + (" ..." if report.bad_count > 5 else "")
        )
    return "\n".join([text, *report.errors])


def _warn(report: ReadReport) -> None:
    if report.bad_count:
        shown = ", ".join(report.bad[:5]) + (" ..." if report.bad_count > 5 else "")
        print(
            f"{PROG}: skipped {report.bad_count} torn or non-JSON line(s): {shown}", file=sys.stderr
        )
    for error in report.errors:
        print(f"{PROG}: {error}", file=sys.stderr)


# -- commands ---------------------------------------------------------------------------------


def cmd_tail(args: argparse.Namespace) -> int:
    out = sys.stdout
    color = wants_color(out, args.color)

    def emit(record: dict[str, Any]) -> None:
        out.write(
            orjson.dumps(record).decode() + "\n" if args.json else record_line(record, color) + "\n"
        )

    if args.follow:
        return _follow(args, emit, out)
    stream = _stream(args)
    for record in deque(Progress(stream.progress).wrap(stream), maxlen=args.lines):
        emit(record)
    _warn(stream.report)
    return 0


def _follow(args: argparse.Namespace, emit: Callable[[dict[str, Any]], None], out: TextIO) -> int:
    paths = _paths(args)
    if len(paths) != 1:
        raise UsageError("tail -f follows one log: give one directory or live file")
    try:
        follower = Follower(paths[0], _accept(args))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    stopped: list[int] = []
    try:
        for record in follower.start(args.lines):
            emit(record)
        out.flush()
    except KeyboardInterrupt:
        follower.close()
        return 0
    # From here a signal only sets a flag, so a batch is never cut off half printed.
    previous = {
        sig: signal.signal(sig, lambda signum, frame: stopped.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        while not stopped and not _reader_gone(out):
            batch = follower.poll()
            for record in batch:
                emit(record)
            if batch:
                out.flush()
            else:
                time.sleep(args.interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        follower.close()
    if follower.torn:
        print(f"{PROG}: skipped {follower.torn} torn line(s)", file=sys.stderr)
    for missed in follower.missed:
        print(f"{PROG}: {missed}", file=sys.stderr)
    return 0


def _reader_gone(out: TextIO) -> bool:
    """Whether the pipe we print to was closed (`tail -f | head` with head done): stop then,
    rather than wait for the next record to fail on it."""
    poll = getattr(select, "poll", None)
    try:
        fd = out.fileno()
        if poll is None or not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
    except (OSError, ValueError):
        return False
    watcher = poll()
    watcher.register(fd, 0)  # POLLERR and POLLHUP are always reported
    return any(event & (select.POLLERR | select.POLLHUP) for _, event in watcher.poll(0))


def cmd_runs(args: argparse.Namespace) -> int:
    stream = _stream(args)
    rows = _cli_stats.runs(Progress(stream.progress).wrap(stream))
    if args.json:
        _dump({"runs": rows, "read": stream.report.as_dict()}, sys.stdout)
        return 0
    llm = any(r.get("llm_calls") for r in rows)  # the LLM columns when there were calls
    headers = ["run_id", "name", "start (UTC)", "status", "duration", "events", "ok_rate",
               *(USAGE_HEADERS if llm else ())]  # fmt: skip
    table = [
        [r["run_id"][:8], r["name"], short_ts(r["start"]), r["status"],
         seconds(r["duration_s"]), r["events"], r["ok_rate"], *(usage_cells(r) if llm else ())]
        for r in rows
    ]  # fmt: skip
    print_table(
        headers,
        table,
        sys.stdout,
        numeric=tuple(range(4, len(headers))),
        color=wants_color(sys.stdout, args.color),
        styles={3: lambda v: STATUS_STYLES.get(v, "")},
    )
    print(_footer(stream.report, f"{len(rows)} run{'s' * (len(rows) != 1)}"))
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    stream = _stream(args)
    if not args.by:
        raise UsageError("stats --by needs a field name")
    rows = _cli_stats.stats(Progress(stream.progress).wrap(stream), args.by)
    if args.json:
        _dump({"by": args.by, "groups": rows, "read": stream.report.as_dict()}, sys.stdout)
        return 0
    first = {"name": "run/step name", "run": "run_id"}.get(args.by, args.by)
    llm = any(r.get("llm_calls") for r in rows)
    headers = [
        first,
        *(["name"] if args.by == "run" else []),
        "count",
        "errors",
        "error_rate",
        "p50",
        "p95",
        "p99",
        "max",
        *(USAGE_HEADERS if llm else ()),
    ]

    def duration(row: dict[str, Any], key: str) -> str:
        text = seconds(row[key])
        return text if row["exact"] or row[key] is None or key == "max_s" else f"~{text}"

    table = [
        [r["key"][:8] if args.by == "run" else r["key"],
         *([r.get("name")] if args.by == "run" else []),
         r["records"], r["errors"], f"{100 * r['error_rate']:.1f}%",
         *(duration(r, k) for k in ("p50_s", "p95_s", "p99_s", "max_s")),
         *(usage_cells(r) if llm else ())]
        for r in rows
    ]  # fmt: skip
    offset = 1 if args.by == "run" else 0
    print_table(
        headers,
        table,
        sys.stdout,
        numeric=tuple(range(1 + offset, len(headers))),
        color=wants_color(sys.stdout, args.color),
    )
    print(_footer(stream.report, f"{len(rows)} group{'s' * (len(rows) != 1)}"))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    paths = _paths(args)
    progress = Progress(lambda: (0, 0), "validating")
    show = (
        (lambda where, problem: None)
        if args.json
        else (lambda where, problem: print(f"{where}: {problem}"))
    )
    try:
        verdict = validate(paths, _accept(args), show, progress.tick)
    finally:
        progress.done()
    if args.json:
        _dump(verdict.as_dict(), sys.stdout)
    else:
        for error in verdict.report.errors:
            print(f"{PROG}: {error}", file=sys.stderr)
        files = len(verdict.report.files)
        lines = verdict.report.lines
        print(
            f"{'ok' if verdict.ok else 'FAILED'}: {lines:,} line{'s' * (lines != 1)} in {files} "
            f"file{'s' * (files != 1)}: {verdict.valid:,} valid, {verdict.invalid:,} invalid, "
            f"{verdict.torn:,} torn, {verdict.foreign:,} foreign (other writers' records, "
            "not checked)"
        )
    return 0 if verdict.ok else 1


def default_export_path(path: str, fmt: str) -> str:
    """`derived/` beside a `raw_events/` log directory (the smoke layout), else data/derived/."""
    directory, name = (path, "events.jsonl") if os.path.isdir(path) else os.path.split(path)
    directory = os.path.normpath(directory or ".")
    stem = name.split(".")[0] or "events"
    if os.path.basename(os.path.abspath(directory)) == "raw_events":
        derived = os.path.join(os.path.dirname(directory), "derived")
    else:
        derived = os.path.join("data", "derived")
    return os.path.join(derived, f"{stem}.{fmt}")


def cmd_export(args: argparse.Namespace) -> int:
    paths = _paths(args)
    out = args.out or default_export_path(paths[0], args.format)
    accept = _accept(args)
    streams: list[EventStream] = []

    def open_records() -> EventStream:
        streams.append(EventStream(paths, accept))
        return streams[-1]

    def measure() -> tuple[int, int]:  # two passes: columns, then rows
        done = sum(stream.progress()[0] for stream in streams)
        return done, 2 * streams[0].progress()[1] if streams else 0

    progress = Progress(measure, "exporting")
    try:
        columns = export(open_records, args.format, out, progress.tick)
    except MissingDependency as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    finally:
        progress.done()
    if args.json:
        _dump(
            {
                "out": out,
                "format": args.format,
                "rows": columns.rows,
                "columns": columns.names,
                "read": streams[0].report.as_dict(),
            },
            sys.stdout,
        )
        return 0
    _warn(streams[0].report)
    print(f"wrote {columns.rows:,} records, {len(columns.names)} columns, to {out}")
    return 0


# -- entry point ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """The console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "tail": cmd_tail,
        "runs": cmd_runs,
        "stats": cmd_stats,
        "validate": cmd_validate,
        "export": cmd_export,
    }
    try:
        status = commands[args.command](args)
        sys.stdout.flush()
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:  # a file that cannot be read, a full disk for export
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
