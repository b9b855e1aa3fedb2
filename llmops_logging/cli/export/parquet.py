"""`export --format parquet`: the records with their nesting kept, `ts` as a UTC timestamp.

Nested objects become Parquet structs and lists stay lists, so DuckDB, polars and pandas read
`gen_ai.usage.input_tokens` as the same number `jq` does. The heavy lifting is pyarrow's C++
JSON reader: each batch of records is rendered back to JSON lines (orjson, about half a
microsecond a record) and parsed by Arrow, which is several times faster than building
columns from Python objects. Two passes over the log, like the CSV export:

1. Arrow parses each batch and infers its types, which are merged into one schema (`null`
   gives way to any type, integers to floats, structs take the union of their fields); a
   top-level field whose values cannot share a type (a number here, text there) becomes a
   text column of JSON; the parsed batch is spooled to disk;
2. each spooled batch is cast to that schema and written as one row group.

Only one batch (`BATCH_BYTES` of JSON) is held at a time. A batch Arrow cannot parse with the
final schema (a foreign record whose `ts` is not a time, say) is converted record by record
instead, with such a `ts` left empty.
"""

from __future__ import annotations

import importlib
import io
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import IO, Any

import orjson

from ..._contract import CORE_FIELDS, TS

Record = dict[str, Any]
BATCH_BYTES = 4 << 20
CORE_COLUMNS = CORE_FIELDS


def _pa() -> Any:
    """pyarrow, imported by name: it is optional and ships no type information."""
    return importlib.import_module("pyarrow")


def _batches(records: Iterable[Record], tick: Callable[[int], None]) -> Iterator[tuple[bytes, int]]:
    """Records rendered as JSON lines, in blocks of about `BATCH_BYTES`, and their count.

    Each line goes into one growing buffer at once: orjson's own bytes objects keep a large
    allocation each, so holding thousands of them would cost many times their length.
    """
    buffer = bytearray()
    count = 0
    dumps = orjson.dumps
    newline = orjson.OPT_APPEND_NEWLINE
    for record in records:
        buffer += dumps(record, option=newline)
        count += 1
        if len(buffer) >= BATCH_BYTES:
            tick(count)
            yield bytes(buffer), count
            buffer.clear()
            count = 0
    if count:
        tick(count)
        yield bytes(buffer), count


def _as_text(record: Record, texts: frozenset[str]) -> Record:
    copy = dict(record)
    for name in texts.intersection(record):
        value = copy[name]
        if value is not None and not isinstance(value, str):
            copy[name] = orjson.dumps(value).decode()
    return copy


def _read(data: bytes, schema: Any = None) -> Any:
    pj = importlib.import_module("pyarrow.json")
    parse = pj.ParseOptions(
        explicit_schema=schema, unexpected_field_behavior="ignore" if schema else "infer"
    )
    block = 1 << 20  # blocks parsed in parallel; while inferring, a later block may widen
    return pj.read_json(
        io.BytesIO(data),
        read_options=pj.ReadOptions(block_size=block),
        parse_options=parse,
        memory_pool=_pool(),
    )


def _pool() -> Any:
    """The C library's allocator: Arrow's default pools keep freed batches, about 100 MiB more."""
    return _pa().system_memory_pool()


def _infer(data: bytes) -> Any:
    """The batch as Arrow parses it, inferring its types; None if they change midway."""
    try:
        return _read(data)
    except _pa().ArrowInvalid:
        return None


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")[:-1]  # orjson escapes newlines inside strings


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

    def add_batch(self, data: bytes, table: Any) -> None:
        """Merge in the types of a batch, as Arrow parsed it (`table`) or, if it could not
        (None), as found here."""
        pa = _pa()
        if table is not None:
            fields = [(f.name, f.type) for f in table.schema]
        else:  # a type changes inside the batch: find out where, slowly
            fields = [
                (str(key), _type_of(value))
                for line in _lines(data)
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
        if TS in self.types:
            self.texts.discard(TS)
            self.types[TS] = pa.timestamp("us", tz="UTC")
        names = [c for c in CORE_COLUMNS if c in self.types]
        names += [n for n in self.types if n not in CORE_COLUMNS]
        return pa.schema([(name, self.types[name]) for name in names])


# -- the export -------------------------------------------------------------------------------


def _slow_table(data: bytes, schema: Any) -> Any:
    """A batch Arrow's reader refused: converted from Python objects, bad times left empty."""
    pa = _pa()
    rows = []
    for line in _lines(data):
        record = orjson.loads(line)
        ts = record.get(TS)
        try:
            record[TS] = datetime.fromisoformat(ts) if isinstance(ts, str) else None
        except ValueError:
            record[TS] = None
        if record[TS] is not None and record[TS].tzinfo is None:
            record[TS] = None  # a naive time is not a UTC instant
        rows.append(record)
    return pa.Table.from_pylist(rows, schema=schema)


def _aligned(table: Any, schema: Any) -> Any:
    """A batch as Arrow parsed it, cast to the final schema: Arrow's casts add the struct
    fields the batch lacked, widen integers and parse `ts`; absent columns are all null."""
    pa = _pa()
    columns = [
        table.column(name).cast(field.type)
        if name in table.column_names
        else pa.nulls(table.num_rows, field.type)
        for name, field in zip(schema.names, schema, strict=True)
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _segment(spool: IO[bytes], where: tuple[int, int]) -> bytes:
    spool.seek(where[0])
    return spool.read(where[1])


def _append(spool: IO[bytes], data: bytes) -> tuple[int, int]:
    return spool.tell(), spool.write(data)


def _ipc(table: Any) -> bytes:
    pa = _pa()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def write_parquet(
    open_records: Callable[[], Iterable[Record]],
    path: str,
    tick: Callable[[int], None] = lambda n: None,
) -> tuple[int, list[str]]:
    """Write the records to `path` as Parquet; returns (rows, column names).

    The first pass keeps each batch twice in hidden temporary files beside `path`: as Arrow
    parsed it (Arrow IPC, so the second pass only casts it to the final schema instead of
    parsing the JSON again) and as JSON lines, for the batches that need their text fields
    rendered or that Arrow cannot cast.
    """
    pa = _pa()
    pq = importlib.import_module("pyarrow.parquet")
    schema_of = Schema()
    rows = 0
    directory, name = os.path.split(path)
    where, prefix = directory or ".", f".{name}."
    with (
        tempfile.TemporaryFile(dir=where, prefix=prefix) as lines,
        tempfile.TemporaryFile(dir=where, prefix=prefix) as parsed,
    ):
        batches: list[tuple[tuple[int, int], tuple[int, int] | None, list[str]]] = []
        pending: deque[tuple[Future[Any], bytes]] = deque()

        def keep(job: Future[Any], data: bytes) -> None:
            table = job.result()
            schema_of.add_batch(data, table)
            stored = None if table is None else _append(parsed, _ipc(table))
            columns = [] if table is None else table.column_names
            batches.append((_append(lines, data), stored, columns))

        # Arrow parses one batch (without the GIL) while this thread reads and renders the
        # next: two cores at work, and at most three batches in memory.
        with ThreadPoolExecutor(max_workers=1) as parser:
            for data, count in _batches(open_records(), tick):
                pending.append((parser.submit(_infer, data), data))
                rows += count
                if len(pending) > 1:
                    keep(*pending.popleft())
            while pending:
                keep(*pending.popleft())
        schema = schema_of.arrow()
        texts = frozenset(schema_of.texts)
        with pq.ParquetWriter(path, schema, memory_pool=_pool()) as writer:
            for text, stored, columns in batches:
                table = None
                if stored is not None and texts.isdisjoint(columns):
                    source = pa.ipc.open_stream(pa.py_buffer(_segment(parsed, stored)))
                    try:
                        table = _aligned(source.read_all(), schema)
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                        table = None
                if table is None:
                    table = _from_lines(_segment(lines, text), schema, texts)
                writer.write_table(table)
                tick(table.num_rows)
            if not rows:
                writer.write_table(schema.empty_table())
    return rows, list(schema.names)


def _from_lines(data: bytes, schema: Any, texts: frozenset[str]) -> Any:
    """A batch parsed again with the final schema, its text fields rendered first."""
    pa = _pa()
    if texts:
        data = b"".join(
            orjson.dumps(_as_text(orjson.loads(line), texts), option=orjson.OPT_APPEND_NEWLINE)
            for line in _lines(data)
        )
    try:
        return _read(data, schema).select(schema.names).cast(schema)
    except pa.ArrowInvalid:
        return _slow_table(data, schema)
