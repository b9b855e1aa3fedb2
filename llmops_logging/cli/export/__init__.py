"""`export`: flattened records to CSV, nested ones to Parquet (optional pyarrow), runs to OTLP.

Records of one log have different fields, so export reads twice: the first pass finds the
columns (`csv_table`; for Parquet, `parquet` finds a type per column), the second writes the
rows, the same number of records as the first saw. Neither pass holds the records, and dicts
keyed by data are kept whole (`shape`), so memory stays bounded whatever the keys. The file
is written through `_outfile` (never through a link).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..._contract import DERIVED_DIR_NAME, LIVE_NAME, RAW_DIR_NAME
from ...reader import EventStream
from .. import _steps
from .._outfile import output_file
from .._output import Progress, visible
from .._parser import PROG
from . import csv_table
from .otlp import write_otlp
from .parquet import pyarrow_module, write_parquet
from .shape import MAX_OBJECT_KEYS, MAX_PATHS

Record = dict[str, Any]
PARQUET_MISSING = (
    "parquet export needs pyarrow, which is not installed; "
    "install it with: pip install 'llmops_logging[export]' (or use --format csv)"
)


class MissingDependency(RuntimeError):
    """An optional package a command needs is not installed."""


@dataclass
class Exported:
    """What an export wrote: rows and columns, or traces and spans, and how keys were kept."""

    rows: int = 0
    names: list[str] = field(default_factory=list)
    traces: int = 0
    spans: int = 0
    kept_whole: list[str] = field(default_factory=list)
    """Objects keyed by data (`scores` of `{doc_id: score}`), each written as JSON text."""
    kept_whole_paths: list[str] = field(default_factory=list)
    """Top-level fields kept whole as JSON text because the log has more than
    `shape.MAX_PATHS` distinct object paths."""
    rest_column: str | None = None
    """The CSV column holding the fields that have no column of their own, if any."""


PROTO_MISSING = (
    "--protocol http/protobuf needs opentelemetry-proto: pip install opentelemetry-proto"
)


def export(
    open_records: Callable[[], EventStream],
    fmt: str,
    out: str,
    tick: Callable[[int], None] = lambda n: None,
    raw_cells: bool = False,
    protobuf: bool = False,
) -> Exported:
    """Write the records `open_records()` gives (twice for CSV) to `out`."""
    if fmt == "parquet":
        try:
            pyarrow_module()
        except ImportError:
            raise MissingDependency(PARQUET_MISSING) from None
        with output_file(out) as stream:
            rows, names, shape, rest = write_parquet(
                open_records, stream, os.path.dirname(out) or ".", tick
            )
        return Exported(
            rows=rows,
            names=names,
            kept_whole=shape.describe(),
            kept_whole_paths=shape.describe_whole(),
            rest_column=rest,
        )
    if fmt == "otlp":
        encode = None
        if protobuf:
            try:
                from ..ship.proto import encode_request
            except ImportError:  # pragma: no cover - opentelemetry-proto is missing
                raise MissingDependency(PROTO_MISSING) from None
            encode = encode_request
        with output_file(out) as stream:
            count, traces, spans = write_otlp(open_records(), stream, tick, encode=encode)
        return Exported(rows=count, traces=traces, spans=spans)
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r}")
    columns = csv_table.Columns()
    for n, record in enumerate(open_records(), 1):
        columns.add(record)
        if not n % 8192:
            tick(8192)
    with output_file(out) as stream:
        csv_table.write(_first(columns.rows, open_records(), tick), columns, stream, raw_cells)
    names = columns.names
    return Exported(
        rows=columns.rows,
        names=names,
        kept_whole=columns.shape.describe(),
        kept_whole_paths=columns.shape.describe_whole(),
        rest_column=names[-1] if columns.has_rest else None,
    )


def _first(count: int, rows: Iterator[Record], tick: Callable[[int], None]) -> Iterator[Record]:
    """The first `count` rows: records written since the first pass are left for next time."""
    for n, row in enumerate(rows, 1):
        if n > count:
            return
        if not n % 8192:
            tick(8192)
        yield row


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
    protobuf = args.format == "otlp" and args.protocol == "http/protobuf"
    suffix = ("otlp.pb" if protobuf else "otlp.jsonl") if args.format == "otlp" else args.format
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
        done = export(open_records, args.format, out, progress.tick, args.raw_cells, protobuf)
    except MissingDependency as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    finally:
        progress.done()
    if args.json:
        otlp = {"traces": done.traces, "spans": done.spans} if suffix != args.format else {}
        tabular = {
            "kept_whole": done.kept_whole,
            "kept_whole_paths": done.kept_whole_paths,
            "rest_column": done.rest_column,
        }
        tabular = {} if otlp else tabular
        _steps.dump(
            {
                "out": out,
                "format": args.format,
                "rows": done.rows,
                "columns": done.names,
                **otlp,
                **tabular,
                "read": streams[0].report.as_dict(),
            }
        )
        return 0
    _steps.warn(streams[0].report)
    plural = _steps.plural
    if args.format == "otlp":
        print(f"wrote {plural(done.traces, 'trace')}, {plural(done.spans, 'span')}, to {out}")
        return 0
    print(f"wrote {plural(done.rows, 'record')}, {plural(len(done.names), 'column')}, to {out}")
    if done.kept_whole:
        print(
            f"kept whole as JSON text, keyed by data (more than {MAX_OBJECT_KEYS} distinct "
            f"keys): {_listed(done.kept_whole)}"
        )
    if done.kept_whole_paths:
        print(
            f"kept whole as JSON text, the log having more than {MAX_PATHS:,} object paths: "
            f"{_listed(done.kept_whole_paths)}"
        )
    if done.rest_column is not None:
        print(
            f"fields without a column of their own (beyond {csv_table.MAX_COLUMNS:,} columns, "
            f"or below a kept-whole object): one JSON object per row in {visible(done.rest_column)}"
        )
    return 0


SHOWN = 20
"""Names listed at most in a message; the others are counted."""


def _listed(names: list[str]) -> str:
    shown = ", ".join(visible(name) for name in names[:SHOWN])
    return shown if len(names) <= SHOWN else f"{shown} and {len(names) - SHOWN:,} more"
