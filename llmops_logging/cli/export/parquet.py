"""`export --format parquet`: the records with their nesting kept, `ts` as a UTC timestamp.

Nested objects become Parquet structs and lists stay lists, so DuckDB, polars and pandas read
`gen_ai.usage.input_tokens` as the same number `jq` does. The heavy lifting is pyarrow's C++
JSON reader, several times faster than building columns from Python objects. Without a
filter it parses the log's own lines, a block of whole lines at a time (`EventStream.blocks`,
cut in two pieces parsed side by side), with the schema found so far: Arrow never infers a
block's types itself, since its inference takes time and memory that grow with rows times
distinct keys (a dict keyed by ids). A block that brings anything new (a field, a type), that
holds anything but plain records (a torn or foreign line, say), or that Arrow reads
differently from the reader's line loop, is read line by line instead; its records, like
those a filter keeps, pass through `Shape` (which finds the objects keyed by data and the
integers beyond int64), are rendered back to JSON lines with the keyed objects as JSON text
(orjson, about half a microsecond a record) and parsed in batches. So the rows and the read
report are the line loop's either way. Two passes, like the CSV export:

1. Arrow parses each batch, whose types are merged into one schema (`null` gives way to any
   type, integers to floats, structs take the union of their fields; keyed objects are text;
   integers beyond int64 are uint64, or decimal(20, 0) beside negative integers); a
   top-level field whose values cannot share a type (a number here, text there) becomes a
   text column of JSON; the parsed batch is spooled to disk;
2. each spooled batch is cast to that schema (or, when a field became text or exact after
   it was parsed, parsed again from its lines), and row groups of about `ROW_GROUP_ROWS`
   rows are written.

A few batches (`BATCH_BYTES` of JSON each) are held at a time. A batch Arrow cannot parse
with the final schema (a foreign record whose `ts` is not a time, say) is read with `ts` as
text, and such a `ts` left empty.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import IO, Any, BinaryIO, TypeVar

import orjson

from ..._contract import CORE_FIELDS, TS
from ...reader import EventStream, ts_parts
from .flat import json_text
from .shape import ITEM, Path, Shape

Record = dict[str, Any]
T = TypeVar("T")
BATCH_BYTES = 4 << 20
"""JSON parsed by Arrow at a time: a block of the log, or records rendered again."""
SPOOL_CODEC = "lz4"
"""The compression of the spooled JSON lines, which shrink about tenfold for less time than
writing them whole costs."""
PARSERS = 2
"""Pieces a block is cut in, parsed side by side."""
ROW_GROUP_ROWS = 10_000
"""Rows gathered into one row group of the Parquet file, at least (unless fewer are left):
the two pieces of a block of small records. Larger groups write a little faster and hold
more memory."""
CORE_COLUMNS = CORE_FIELDS


def pyarrow_module() -> Any:
    """pyarrow, imported by name: it is optional and ships no type information."""
    return importlib.import_module("pyarrow")


TextPaths = dict[str, list[Path]]
"""Paths whose values are written as JSON text, by top-level name (see `text_paths`)."""


def text_paths(paths: Iterable[Path]) -> TextPaths:
    """`paths` by top-level name, shortest first, none below another (that one is text)."""
    by_top: TextPaths = {}
    for path in sorted(paths, key=len):
        known = by_top.setdefault(str(path[0]), [])
        if not any(path[: len(p)] == p for p in known):
            known.append(path)
    return by_top


def _text_at(value: Any, rest: Path) -> Any:
    if not rest:
        return value if value is None or type(value) is str else json_text(value)
    head = rest[0]
    if head == ITEM and type(value) is list:
        return [_text_at(item, rest[1:]) for item in value]
    if type(value) is dict and head in value:
        copy = dict(value)
        copy[head] = _text_at(value[head], rest[1:])
        return copy
    return value


def _line(record: Record) -> bytes:
    """`record` as one JSON line; a top-level value too deep for orjson (255 levels) is
    rendered as JSON text (`flat.json_text`) instead."""
    try:
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return orjson.dumps(
            {k: _orjson_value(v) for k, v in record.items()}, option=orjson.OPT_APPEND_NEWLINE
        )


def _orjson_value(value: Any) -> Any:
    try:
        orjson.dumps(value)
    except TypeError:
        return json_text(value)
    return value


def _as_text(record: Record, texts: TextPaths) -> Record:
    """`record` with the values at `texts` as JSON text."""
    copy = dict(record)
    for name in texts.keys() & record.keys():
        for path in texts[name]:
            copy[name] = _text_at(copy[name], path[1:])
    return copy


def _read(data: bytes | memoryview, schema: Any = None, unexpected: str = "ignore") -> Any:
    """Parse JSON lines: types inferred, or `schema`'s, fields beyond it ignored or an error."""
    pj = importlib.import_module("pyarrow.json")
    parse = pj.ParseOptions(
        explicit_schema=schema, unexpected_field_behavior=unexpected if schema else "infer"
    )
    # One block, read by one thread: a line longer than a block would not parse, and with
    # Arrow's threads the blocks are parsed side by side and the columns come out in the
    # order the blocks happen to finish, not in the order of the log (`BlockParser` parses
    # pieces side by side instead).
    return pj.read_json(
        pyarrow_module().BufferReader(data),
        read_options=pj.ReadOptions(block_size=len(data) + 1, use_threads=False),
        parse_options=parse,
        memory_pool=_pool(),
    )


def _pool() -> Any:
    """The C library's allocator: Arrow's default pools keep freed batches, about 100 MiB more."""
    return pyarrow_module().system_memory_pool()


def _infer(data: bytes | memoryview) -> Any:
    """The batch as Arrow parses it, inferring its types; None if they change midway."""
    try:
        return _read(data)
    except pyarrow_module().ArrowInvalid:
        return None


def _lines(data: bytes | memoryview) -> list[bytes]:
    return bytes(data).split(b"\n")[:-1]  # orjson escapes newlines inside strings


# -- the schema -------------------------------------------------------------------------------


def _merge(a: Any, b: Any) -> Any:
    """The type that holds values of both, or None if there is none."""
    pa = pyarrow_module()
    types = pa.types
    if a == b:
        return a
    if types.is_null(a):
        return b
    if types.is_null(b):
        return a
    if _numeric(a) and _numeric(b):
        if types.is_floating(a) or types.is_floating(b):
            return pa.float64()
        return _exact_integer()  # int64 with uint64: see `Schema.exact_numbers`
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


def _numeric(kind: Any) -> bool:
    types = pyarrow_module().types
    return bool(types.is_integer(kind) or types.is_floating(kind) or types.is_decimal(kind))


def _exact_integer() -> Any:
    """The exact type of integers from -2**63 to 2**64 - 1 together: a 20-digit decimal."""
    return pyarrow_module().decimal128(20, 0)


def _numbers_as(exact: Any) -> Callable[[Any], Any]:
    return lambda kind: exact if _numeric(kind) else kind


def _set_at(kind: Any, path: Path, make: Callable[[Any], Any]) -> Any:
    """`kind` with the type at `path` (below it) replaced by `make(that type)`."""
    if not path:
        return make(kind)
    pa = pyarrow_module()
    head, rest = path[0], path[1:]
    if head == ITEM and pa.types.is_list(kind):
        return pa.list_(_set_at(kind.value_type, rest, make))
    if isinstance(head, str) and pa.types.is_struct(kind):
        where = kind.get_field_index(head)
        if where < 0:
            return kind
        fields = [kind.field(i) for i in range(kind.num_fields)]
        fields[where] = pa.field(head, _set_at(fields[where].type, rest, make))
        return pa.struct(fields)
    return kind


def _type_of(value: Any) -> Any:
    """A value's Arrow type, as Arrow's JSON reader would infer it; None if it has none."""
    pa = pyarrow_module()
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
            kind = _type_of(item)
            merged = None if kind is None else _merge(merged, kind)
            if merged is None:
                return None
        return pa.list_(merged)
    return pa.string()


def _writable(kind: Any) -> bool:
    """Parquet cannot store a struct without fields (from `{}`)."""
    types = pyarrow_module().types
    if types.is_struct(kind):
        return kind.num_fields > 0 and all(
            _writable(kind.field(i).type) for i in range(kind.num_fields)
        )
    if types.is_list(kind):
        return bool(_writable(kind.value_type))
    return True


class Schema:
    """The merged schema of every batch seen, and the fields that must be text.

    `shape` (fed the records read line by line) names the objects keyed by data, whose type
    is text, and the paths of integers beyond int64, whose type is exact: uint64, or a
    20-digit decimal when negative integers share the path (`exact_numbers`). `parse` is the
    schema so far, for Arrow to parse blocks with (none before the first batch)."""

    def __init__(self, shape: Shape) -> None:
        self.types: dict[str, Any] = {}
        self.texts: set[str] = set()
        self.shape = shape
        self.negative: set[Path] = set()
        self.parse: Any = None

    def add_batch(self, data: bytes | memoryview, table: Any) -> None:
        """Merge in the types of a batch, as Arrow parsed it (`table`) or, if it could not
        (None), as found here."""
        pa = pyarrow_module()
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
        self.exact_numbers()
        self.keyed_as_text()
        self.parse = pa.schema(list(self.types.items()))

    def exact_numbers(self) -> None:
        """Integers beyond int64 keep every digit: uint64, or a 20-digit decimal beside
        negative integers; a path that also holds floats stays float64."""
        pa = pyarrow_module()
        shape = self.shape
        for path in shape.big - shape.floats:
            negative = path in shape.negative or path in self.negative
            exact = _exact_integer() if negative else pa.uint64()
            self._set(path, _numbers_as(exact))

    def keyed_as_text(self) -> None:
        string = pyarrow_module().string()
        for path in self.shape.keyed:
            self._set(path, lambda kind: string)

    def _set(self, path: Path, make: Callable[[Any], Any]) -> None:
        name = str(path[0])
        if name in self.types and name not in self.texts:
            self.types[name] = _set_at(self.types[name], path[1:], make)

    def text_paths(self) -> TextPaths:
        """What the second pass renders as JSON text: mixed fields, objects keyed by data."""
        return text_paths([*((name,) for name in self.texts), *self.shape.keyed])

    def arrow(self) -> Any:
        pa = pyarrow_module()
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
    """A batch whose `ts` Arrow cannot read as a time (a foreign record's `"yesterday"`, say):
    read with `ts` as text, which is then converted value by value, bad and naive times left
    empty. The other fields are read by Arrow as in every batch (Python's conversion would
    refuse an integer above 2**53 in a float column, for one)."""
    pa = pyarrow_module()
    where = schema.get_field_index(TS)
    as_text = schema.set(where, pa.field(TS, pa.string()))
    rendered = bytearray()
    for line in _lines(data):
        record = orjson.loads(line)
        if not isinstance(record.get(TS, ""), str):
            record[TS] = None
        rendered += _line(record)
    table = _read(bytes(rendered), as_text).select(as_text.names).cast(as_text)
    times = [_utc(ts) for ts in table.column(TS).to_pylist()]
    return table.set_column(where, schema.field(TS), pa.array(times, schema.field(TS).type))


def _utc(ts: str | None) -> datetime | None:
    """The instant `ts` names, or None for no time, a bad one or a naive one (which is not a
    UTC instant)."""
    parts = ts_parts(ts)
    return parts[0] if parts is not None and parts[0].tzinfo is not None else None


def _aligned(table: Any, schema: Any) -> Any:
    """A batch as Arrow parsed it, cast to the final schema: Arrow's casts add the struct
    fields the batch lacked, widen integers and parse `ts`; absent columns are all null."""
    pa, pc = pyarrow_module(), importlib.import_module("pyarrow.compute")
    columns = [
        pc.cast(table.column(name), field.type, memory_pool=_pool())
        if name in table.column_names
        else pa.nulls(table.num_rows, field.type, memory_pool=_pool())
        for name, field in zip(schema.names, schema, strict=True)
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _segment(spool: IO[bytes], where: tuple[int, int, int]) -> bytes:
    """Bytes spooled by `_append`, decompressed."""
    spool.seek(where[0])
    packed = spool.read(where[1])
    pa = pyarrow_module()
    return bytes(pa.decompress(packed, where[2], codec=SPOOL_CODEC, memory_pool=_pool()))


def _append(spool: IO[bytes], data: bytes | memoryview) -> tuple[int, int, int]:
    """Spool `data` compressed; returns where it is: (offset, stored size, size)."""
    packed = pyarrow_module().compress(data, codec=SPOOL_CODEC, asbytes=True, memory_pool=_pool())
    return spool.tell(), spool.write(packed), len(data)


def _spool_table(spool: IO[bytes], table: Any) -> tuple[int, int]:
    """Spool `table` as an Arrow IPC stream; returns (offset, size). Not compressed: Arrow
    compresses IPC buffers on its own threads and pool, which cost more time and memory here
    than writing them whole."""
    pa = pyarrow_module()
    start = spool.tell()
    with pa.ipc.new_stream(pa.PythonFile(spool, mode="w"), table.schema) as out:
        out.write_table(table)
    return start, spool.tell() - start


def _spooled_table(spool: IO[bytes], where: tuple[int, int]) -> Any:
    spool.seek(where[0])
    return pyarrow_module().ipc.open_stream(spool.read(where[1]), memory_pool=_pool()).read_all()


class BlockParser:
    """`parse` for `EventStream.blocks`: Arrow parses a block of the log's own lines, cut in
    `pieces` at line ends and parsed side by side (each by one thread: see `_read`).
    Returns `(table, piece)` for each piece; None unless Arrow read exactly the records
    `orjson` reads from those lines."""

    def __init__(self, pool: ThreadPoolExecutor, pieces: int, schema_of: Schema) -> None:
        self.pool = pool
        self.pieces = pieces
        self.schema_of = schema_of

    def __call__(self, data: bytes, lines: int) -> tuple[tuple[Any, memoryview], ...] | None:
        schema = self.schema_of.parse
        if schema is None:
            return None
        size = len(data)
        cuts = [0]
        for i in range(1, self.pieces):
            cut = data.find(b"\n", max(cuts[-1], size * i // self.pieces)) + 1
            if 0 < cut < size:
                cuts.append(cut)
        cuts.append(size)
        view = memoryview(data)
        pieces = [view[a:b] for a, b in itertools.pairwise(cuts)]
        jobs = [self.pool.submit(_known, piece, schema) for piece in pieces[1:]]
        tables = [_known(pieces[0], schema), *(job.result() for job in jobs)]
        if any(t is None for t in tables) or sum(t.num_rows for t in tables) != lines:
            return None
        if not all(_finite(t) for t in tables):
            return None
        return tuple(zip(tables, pieces, strict=True))


def _known(data: bytes | memoryview, schema: Any) -> Any:
    """The piece parsed with the schema so far, or None if it holds anything new: a field,
    a type. Arrow never infers a block's types itself, because it takes time and memory that
    grow with rows times distinct keys (a dict keyed by ids: 27 s and 1.5 GB for 2 MiB);
    new fields are found on the records read line by line, where `Shape` bounds them."""
    try:
        return _read(data, schema, "error")
    except pyarrow_module().ArrowInvalid:
        return None


def _negative_paths(table: Any) -> set[Path]:
    """The paths of signed integer columns holding a negative value."""
    pa, pc = pyarrow_module(), importlib.import_module("pyarrow.compute")
    types = pa.types
    found: set[Path] = set()
    arrays: list[tuple[Path, Any]] = [
        ((name,), chunk)
        for name, column in zip(table.column_names, table.columns, strict=True)
        for chunk in column.chunks
    ]
    while arrays:
        path, array = arrays.pop()
        kind = array.type
        if types.is_signed_integer(kind):
            low = pc.min(array, memory_pool=_pool()).as_py()
            if low is not None and low < 0:
                found.add(path)
        elif types.is_struct(kind):
            fields = range(kind.num_fields)
            arrays += [((*path, kind.field(i).name), array.field(i)) for i in fields]
        elif types.is_list(kind):
            arrays.append(((*path, ITEM), array.flatten()))
    return found


def _present(table: Any) -> list[str]:
    """The columns of a batch that hold a value (a block parsed with the schema so far has
    them all)."""
    return [
        name
        for name, column in zip(table.column_names, table.columns, strict=True)
        if column.null_count < len(column)
    ]


def _finite(table: Any) -> bool:
    """Whether no number Arrow parsed is NaN or infinite: Arrow's parser also takes the `NaN`
    and `Infinity` tokens, which orjson (and JSON) refuse."""
    pa, pc = pyarrow_module(), importlib.import_module("pyarrow.compute")
    types = pa.types
    arrays = [chunk for column in table.columns for chunk in column.chunks]
    while arrays:  # a loop, not recursion: values may nest a thousand levels deep
        array = arrays.pop()
        kind = array.type
        finite = pc.is_finite(array, memory_pool=_pool()) if types.is_floating(kind) else None
        if finite is not None and pc.all(finite, memory_pool=_pool()).as_py() is False:
            return False
        if types.is_struct(kind):
            arrays += [array.field(i) for i in range(kind.num_fields)]
        elif types.is_list(kind):
            arrays.append(array.flatten())
    return True


def _ahead(items: Iterator[T]) -> Generator[T, None, None]:
    """The same items, each made in a worker thread while the caller handles the one before:
    Arrow's parsing and writing release the GIL, so both cores work."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        job = worker.submit(next, items, None)
        while (item := job.result()) is not None:
            job = worker.submit(next, items, None)
            yield item


def write_parquet(
    open_records: Callable[[], EventStream],
    sink: BinaryIO,
    spool_dir: str,
    tick: Callable[[int], None] = lambda n: None,
) -> tuple[int, list[str], Shape, str | None]:
    """Write the records to `sink` as Parquet; returns (rows, column names, the `Shape` that
    names the objects kept whole, the field holding the top-level fields beyond
    `shape.MAX_FIELDS` or None).

    Without a filter, Arrow parses the log's own lines, a block at a time
    (`EventStream.blocks`); the blocks it refuses, and the records a filter keeps, are
    rendered again as JSON lines and parsed in batches. The first pass keeps each batch twice
    in anonymous temporary files in `spool_dir`: as Arrow parsed it (Arrow IPC, so the second
    pass only casts it to the final schema instead of parsing the JSON again) and as JSON
    lines, compressed, for the batches that need their text fields rendered or that Arrow
    cannot cast. The second pass writes row groups of at least `ROW_GROUP_ROWS` rows.
    """
    pa = pyarrow_module()
    pq = importlib.import_module("pyarrow.parquet")
    shape = Shape(columnar=True)
    schema_of = Schema(shape)
    rows = 0
    with (
        tempfile.TemporaryFile(dir=spool_dir, prefix=".export.") as lines,
        tempfile.TemporaryFile(dir=spool_dir, prefix=".export.") as parsed,
        ThreadPoolExecutor(max_workers=PARSERS) as pool,
    ):
        Batch = tuple[tuple[int, int, int], tuple[int, int] | None, list[str], frozenset[Path]]
        batches: list[Batch] = []

        def keep(
            table: Any, data: bytes | memoryview, applied: frozenset[Path], store: bool = True
        ) -> None:
            if table is not None:
                schema_of.negative.update(_negative_paths(table))
            schema_of.add_batch(data, table)
            stored = _spool_table(parsed, table) if table is not None and store else None
            columns = [] if table is None else _present(table)
            batches.append((_append(lines, data), stored, columns, applied))

        rendered = bytearray()
        count = 0
        applied: frozenset[Path] = frozenset()
        texts: TextPaths = {}
        big_values = 0

        def flush() -> None:
            nonlocal count, rows, big_values
            if count:
                data = bytes(rendered)
                # Arrow reads an integer beyond int64 as a float: parse such a batch again
                # in the second pass, with the exact type.
                keep(_infer(data), data, applied, store=big_values == shape.big_values)
                rows += count
                tick(count)
                rendered.clear()
                count = 0
            big_values = shape.big_values

        # A worker reads and parses the next block while this thread spools this one.
        with (
            open_records() as stream,
            contextlib.closing(
                _ahead(stream.blocks(BlockParser(pool, PARSERS, schema_of), BATCH_BYTES))
            ) as items,
        ):
            for item in items:
                if isinstance(item, list):  # records read line by line
                    for record in item:
                        known = len(shape.keyed)
                        shape.observe(record)
                        if len(shape.keyed) != known:  # a batch has one form of each object
                            flush()
                            applied = frozenset(shape.keyed)
                            texts = text_paths(applied)
                        if shape.rest is not None:
                            record = shape.moved(record)
                        if texts:
                            record = _as_text(record, texts)
                        rendered += _line(record)
                        count += 1
                        if len(rendered) >= BATCH_BYTES:
                            flush()
                    if schema_of.parse is None:  # the blocks after it wait for a schema
                        flush()
                    continue
                flush()
                for table, data in item:
                    keep(table, data, frozenset())
                    rows += table.num_rows
                    tick(table.num_rows)
            flush()
        schema = schema_of.arrow()
        final = schema_of.text_paths()
        final_paths = frozenset(p for paths in final.values() for p in paths)

        def tables() -> Iterator[Any]:
            for text, stored, columns, done in batches:
                table = None
                pending = {str(p[0]) for p in final_paths - done}
                if stored is not None and pending.isdisjoint(columns):
                    try:
                        table = _aligned(_spooled_table(parsed, stored), schema)
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                        table = None
                if table is None:
                    table = _from_lines(_segment(lines, text), schema, final)
                yield table

        with (
            pq.ParquetWriter(sink, schema, memory_pool=_pool()) as writer,
            contextlib.closing(_ahead(tables())) as aligned,
        ):
            group: list[Any] = []
            for table in aligned:  # the next batch is cast while this one is written
                group.append(table)
                tick(table.num_rows)
                if sum(t.num_rows for t in group) >= ROW_GROUP_ROWS:
                    writer.write_table(pa.concat_tables(group))
                    group = []
            if group or not rows:
                writer.write_table(pa.concat_tables(group) if group else schema.empty_table())
    return rows, list(schema.names), shape, shape.rest


def _from_lines(data: bytes, schema: Any, texts: TextPaths) -> Any:
    """A batch parsed again with the final schema, its text fields rendered first."""
    pa = pyarrow_module()
    if texts:
        data = b"".join(_line(_as_text(orjson.loads(line), texts)) for line in _lines(data))
    try:
        return _read(data, schema).select(schema.names).cast(schema)
    except pa.ArrowInvalid:
        if TS not in schema.names:
            raise
        return _slow_table(data, schema)
