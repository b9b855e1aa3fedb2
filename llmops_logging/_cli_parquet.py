"""`export --format parquet`: the records with their nesting kept, `ts` as a UTC timestamp.

Nested objects become Parquet structs and lists stay lists, so DuckDB, polars and pandas read
`gen_ai.usage.input_tokens` as the same number `jq` does. The heavy lifting is pyarrow's C++
JSON reader: each batch of records is rendered back to JSON lines (orjson, about half a
microsecond a record) and parsed by Arrow, which is several times faster than building
columns from Python objects. Two passes over the log, like the CSV export:

1. each batch's inferred schema is merged into one (`null` gives way to any type, integers to
   floats, structs take the union of their fields); a top-level field whose values cannot
   share a type (a number here, text there) becomes a text column of JSON;
2. each batch is parsed again with that schema and written as one row group.

Only one batch of rendered lines (a few MiB) is held at a time. A batch Arrow cannot parse with
the final schema (a foreign record whose `ts` is not a time, say) is converted record by record
instead, with such a `ts` left empty.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import orjson

Record = dict[str, Any]
BATCH_BYTES = 8 << 20
CORE_COLUMNS = ("ts", "run_id", "event", "kind", "level", "logger", "event_id", "seq", "pid")


def _pa() -> Any:
    """pyarrow, imported by name: it is optional and ships no type information."""
    return importlib.import_module("pyarrow")


def _batches(
    records: Iterable[Record], texts: frozenset[str], tick: Callable[[int], None]
) -> Iterator[list[bytes]]:
    """Records rendered as JSON lines, in lists of about `BATCH_BYTES`."""
    batch: list[bytes] = []
    size = 0
    dumps = orjson.dumps
    for record in records:
        if texts and not texts.isdisjoint(record):
            record = _as_text(record, texts)
        line = dumps(record)
        batch.append(line)
        size += len(line) + 1
        if size >= BATCH_BYTES:
            tick(len(batch))
            yield batch
            batch, size = [], 0
    if batch:
        tick(len(batch))
        yield batch


def _as_text(record: Record, texts: frozenset[str]) -> Record:
    copy = dict(record)
    for name in texts.intersection(record):
        value = copy[name]
        if value is not None and not isinstance(value, str):
            copy[name] = orjson.dumps(value).decode()
    return copy


def _read(lines: list[bytes], schema: Any = None) -> Any:
    pj = importlib.import_module("pyarrow.json")
    data = b"\n".join(lines) + b"\n"
    parse = pj.ParseOptions(
        explicit_schema=schema, unexpected_field_behavior="ignore" if schema else "infer"
    )
    # One block while inferring, so the whole batch decides each type; parallel blocks after.
    block = len(data) + 1 if schema is None else 1 << 20
    return pj.read_json(
        io.BytesIO(data), read_options=pj.ReadOptions(block_size=block), parse_options=parse
    )


# -- the schema -------------------------------------------------------------------------------


def _merge(a: Any, b: Any) -> Any:
    """The type that holds values of both, or None if there is none."""
    pa = _pa()
    types = pa.types
    if a == b:
        return a
    if types.is_null(a):
        return b
    if types.is_null(b):
        return a
    if (types.is_integer(a) or types.is_floating(a)) and (
        types.is_integer(b) or types.is_floating(b)
    ):
        return pa.float64()
    if types.is_struct(a) and types.is_struct(b):
        fields = {a.field(i).name: a.field(i).type for i in range(a.num_fields)}
        for i in range(b.num_fields):
            name, kind = b.field(i).name, b.field(i).type
            merged = _merge(fields[name], kind) if name in fields else kind
            if merged is None:
                return None
            fields[name] = merged
        return pa.struct(list(fields.items()))
    if types.is_list(a) and types.is_list(b):
        item = _merge(a.value_type, b.value_type)
        return None if item is None else pa.list_(item)
    return None


def _type_of(value: Any) -> Any:
    """A value's Arrow type, as Arrow's JSON reader would infer it; None if it has none."""
    pa = _pa()
    if value is None:
        return pa.null()
    if isinstance(value, bool):
        return pa.bool_()
    if isinstance(value, int):
        return pa.int64() if -(2**63) <= value < 2**63 else pa.float64()
    if isinstance(value, float):
        return pa.float64()
    if isinstance(value, str):
        return pa.string()
    if isinstance(value, dict):
        fields: list[tuple[str, Any]] = []
        for key, item in value.items():
            kind = _type_of(item)
            if kind is None:
                return None
            fields.append((str(key), kind))
        return pa.struct(fields)
    if isinstance(value, list):
        merged = pa.null()
        for item in value:
            merged = _merge(merged, _type_of(item))
            if merged is None:
                return None
        return pa.list_(merged)
    return pa.string()


def _writable(kind: Any) -> bool:
    """Parquet cannot store a struct without fields (from `{}`)."""
    types = _pa().types
    if types.is_struct(kind):
        return kind.num_fields > 0 and all(
            _writable(kind.field(i).type) for i in range(kind.num_fields)
        )
    if types.is_list(kind):
        return bool(_writable(kind.value_type))
    return True


class Schema:
    """The merged schema of every batch seen, and the fields that must be text."""

    def __init__(self) -> None:
        self.types: dict[str, Any] = {}
        self.texts: set[str] = set()

    def add_batch(self, lines: list[bytes]) -> None:
        pa = _pa()
        try:
            inferred = _read(lines).schema
            fields = [(f.name, f.type) for f in inferred]
        except pa.ArrowInvalid:  # a type changes inside the batch: find out where, slowly
            fields = [
                (str(key), _type_of(value))
                for line in lines
                for key, value in orjson.loads(line).items()
            ]
        for name, kind in fields:
            if name in self.texts:
                continue
            if kind is None:
                merged = None
            elif name not in self.types:
                merged = kind
            else:
                merged = _merge(self.types[name], kind)
            if merged is None:
                self.texts.add(name)
                merged = pa.string()
            self.types[name] = merged

    def arrow(self) -> Any:
        pa = _pa()
        for name, kind in self.types.items():
            if not _writable(kind):
                self.texts.add(name)
                self.types[name] = pa.string()
        if "ts" in self.types:
            self.texts.discard("ts")
            self.types["ts"] = pa.timestamp("us", tz="UTC")
        names = [c for c in CORE_COLUMNS if c in self.types]
        names += [n for n in self.types if n not in CORE_COLUMNS]
        return pa.schema([(name, self.types[name]) for name in names])


# -- the export -------------------------------------------------------------------------------


def _slow_table(lines: list[bytes], schema: Any) -> Any:
    """A batch Arrow's reader refused: converted from Python objects, bad times left empty."""
    pa = _pa()
    rows = []
    for line in lines:
        record = orjson.loads(line)
        ts = record.get("ts")
        try:
            record["ts"] = datetime.fromisoformat(ts) if isinstance(ts, str) else None
        except ValueError:
            record["ts"] = None
        if record["ts"] is not None and record["ts"].tzinfo is None:
            record["ts"] = None  # a naive time is not a UTC instant
        rows.append(record)
    return pa.Table.from_pylist(rows, schema=schema)


def write_parquet(
    open_records: Callable[[], Iterable[Record]],
    path: str,
    tick: Callable[[int], None] = lambda n: None,
) -> tuple[int, list[str]]:
    """Write the records to `path` as Parquet; returns (rows, column names)."""
    pa = _pa()
    pq = importlib.import_module("pyarrow.parquet")
    schema_of = Schema()
    rows = 0
    for lines in _batches(open_records(), frozenset(), tick):
        schema_of.add_batch(lines)
        rows += len(lines)
    schema = schema_of.arrow()
    texts = frozenset(schema_of.texts)
    left = rows
    with pq.ParquetWriter(path, schema) as writer:
        for lines in _batches(open_records(), texts, tick):
            lines = lines[:left]  # records written since the first pass wait for next time
            left -= len(lines)
            if lines:
                try:
                    table = _read(lines, schema).select(schema.names)
                except pa.ArrowInvalid:
                    table = _slow_table(lines, schema)
                writer.write_table(table.cast(schema))
            if not left:
                break
        if not rows:
            writer.write_table(schema.empty_table())
    return rows, list(schema.names)
