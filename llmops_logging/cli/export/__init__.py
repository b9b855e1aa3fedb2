"""`export`: flattened records to CSV, nested ones to Parquet (optional pyarrow), runs to OTLP.

Records of one log have different fields, so export reads twice: the first pass finds the
columns (for Parquet, `parquet` finds a type per column), the second writes the rows, the
same number of records as the first saw. Neither pass holds the records.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import orjson

from ..._contract import CORE_FIELDS, DERIVED_DIR_NAME, LIVE_NAME, RAW_DIR_NAME
from ...reader import EventStream
from .. import _steps
from .._outfile import output_file
from .._output import Progress
from .._parser import PROG
from .otlp import write_otlp
from .parquet import write_parquet

Record = dict[str, Any]
CORE_COLUMNS = CORE_FIELDS
_INT64 = range(-(2**63), 2**63)
PARQUET_MISSING = (
    "parquet export needs pyarrow, which is not installed; "
    "install it with: pip install 'llmops_logging[export]' (or use --format csv)"
)


def _pyarrow() -> Any:
    """pyarrow, imported by name: it is optional and ships no type information."""
    return importlib.import_module("pyarrow")


class MissingDependency(RuntimeError):
    """An optional package a command needs is not installed."""


def flatten(record: Record, prefix: str = "", into: Record | None = None) -> Record:
    """Nested objects become dotted columns (`error.type`); lists stay whole, as JSON text."""
    flat: Record = {} if into is None else into
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flatten(value, f"{name}.", flat)
        elif isinstance(value, (list, dict)):
            flat[name] = orjson.dumps(value).decode()
        else:
            flat[name] = value
    return flat


@dataclass
class Columns:
    """Column names in a stable order (the contract's first) and the kinds of value seen."""

    seen: dict[str, set[str]] = field(default_factory=dict)
    rows: int = 0
    traces: int = 0
    spans: int = 0

    def add(self, flat: Record) -> None:
        self.rows += 1
        for name, value in flat.items():
            kinds = self.seen.get(name)
            if kinds is None:
                kinds = self.seen[name] = set()
            kinds.add(_kind(value))

    @property
    def names(self) -> list[str]:
        core = [c for c in CORE_COLUMNS if c in self.seen]
        return core + [c for c in self.seen if c not in CORE_COLUMNS]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if value in _INT64 else "bigint"
    if isinstance(value, float):
        return "float"
    return "str"


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def export(
    open_records: Callable[[], EventStream],
    fmt: str,
    out: str,
    tick: Callable[[int], None] = lambda n: None,
) -> Columns:
    """Write the records `open_records()` gives (twice for CSV) to `out`; returns the columns."""
    if fmt == "parquet":
        try:
            _pyarrow()
        except ImportError:
            raise MissingDependency(PARQUET_MISSING) from None
        with output_file(out) as stream:
            return _parquet(open_records, stream, os.path.dirname(out) or ".", tick)
    if fmt == "otlp":
        with output_file(out) as stream:
            return _otlp(open_records, stream, tick)
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r}")
    columns = Columns()
    for n, record in enumerate(open_records(), 1):
        columns.add(flatten(record))
        if not n % 8192:
            tick(8192)
    rows = _first(columns.rows, (flatten(r) for r in open_records()), tick)
    with output_file(out) as stream:
        _write_csv(rows, columns, stream)
    return columns


def _parquet(
    open_records: Callable[[], EventStream],
    stream: BinaryIO,
    spool_dir: str,
    tick: Callable[[int], None],
) -> Columns:
    count, names = write_parquet(open_records, stream, spool_dir, tick)
    return Columns(seen={name: set() for name in names}, rows=count)


def _otlp(
    open_records: Callable[[], Iterable[Record]], stream: BinaryIO, tick: Callable[[int], None]
) -> Columns:
    count, traces, spans = write_otlp(open_records(), stream, tick)
    return Columns(rows=count, traces=traces, spans=spans)


def _first(count: int, rows: Iterator[Record], tick: Callable[[int], None]) -> Iterator[Record]:
    """The first `count` rows: records written since the first pass are left for next time."""
    for n, row in enumerate(rows, 1):
        if n > count:
            return
        if not n % 8192:
            tick(8192)
        yield row


def _write_csv(rows: Iterable[Record], columns: Columns, out: BinaryIO) -> None:
    with io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False) as stream:
        writer = csv.DictWriter(stream, columns.names, restval="", extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(v) for k, v in row.items()})


# -- the command ------------------------------------------------------------------------------


def default_path(path: str, fmt: str) -> str:
    """`derived/` beside a `raw_events/` log directory (the smoke layout), else data/derived/."""
    directory, name = (path, LIVE_NAME) if os.path.isdir(path) else os.path.split(path)
    directory = os.path.normpath(directory or ".")
    stem = name.split(".")[0] or "events"
    if os.path.basename(os.path.abspath(directory)) == RAW_DIR_NAME:
        derived = os.path.join(os.path.dirname(directory), DERIVED_DIR_NAME)
    else:
        derived = os.path.join("data", DERIVED_DIR_NAME)
    return os.path.join(derived, f"{stem}.{fmt}")


def command(args: argparse.Namespace) -> int:
    paths = _steps.paths(args)
    suffix = "otlp.jsonl" if args.format == "otlp" else args.format
    out = args.out or default_path(paths[0], suffix)
    accept = _steps.accept(args)
    streams: list[EventStream] = []

    def open_records() -> EventStream:
        streams.append(EventStream(paths, accept))
        return streams[-1]

    passes = 2 if args.format == "csv" else 1  # csv reads the log twice: columns, then rows

    def measure() -> tuple[int, int]:
        done = sum(stream.progress()[0] for stream in streams)
        return done, passes * streams[0].progress()[1] if streams else 0

    progress = Progress(measure, "exporting")
    try:
        columns = export(open_records, args.format, out, progress.tick)
    except MissingDependency as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    finally:
        progress.done()
    if args.json:
        otlp = {"traces": columns.traces, "spans": columns.spans} if suffix != args.format else {}
        _steps.dump(
            {
                "out": out,
                "format": args.format,
                "rows": columns.rows,
                "columns": columns.names,
                **otlp,
                "read": streams[0].report.as_dict(),
            }
        )
        return 0
    _steps.warn(streams[0].report)
    plural = _steps.plural
    if args.format == "otlp":
        print(f"wrote {plural(columns.traces, 'trace')}, {plural(columns.spans, 'span')}, to {out}")
        return 0
    print(
        f"wrote {plural(columns.rows, 'record')}, {plural(len(columns.names), 'column')}, to {out}"
    )
    return 0
