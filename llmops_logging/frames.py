"""A log as one table in polars, pandas or DuckDB: every column, every value as it was logged.

The engines' own JSON readers guess a schema from a sample: polars' `read_ndjson` looks at
100 rows, `scan_ndjson` over several files takes the first file's columns, DuckDB's
`read_json_auto` samples too. A column that first appears later is then missing or an error,
and a float column first seen as `0` reads later values as integers. These helpers read the
log with `read_events` (live, rotated and gzipped files; torn lines skipped and counted the
same way), look at every record for its columns and the kinds of JSON value in each, and
hand the engine the whole log with a schema that holds every value:

- the contract's fields have its types: `ts` a UTC timestamp (null where a foreign record's
  `ts` is not one), `seq` and `pid` integers, `duration_s`, `cost_usd` and `ttft_s` floats,
  ids, names and kinds strings; those the log never wrote are there as null columns;
- a column of integers and floats is a float column (the writer writes its own floats as
  JSON floats; a user field may mix `0` and `0.7`);
- nested objects (`gen_ai`, `error`, `usage`) are structs (in pandas, dicts), with the union
  of their fields over the whole log;
- a column whose values are of other mixed kinds (a string here and a number there, an
  object here and a list there, or a contract field of the wrong kind in a foreign record)
  holds each value's JSON text, so that none is changed.

The engines are imported when called, so importing the package imports none of them. The log
is written once, normalized, to a temporary NDJSON file that the engine reads in full.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import orjson

from ._contract import (
    COST_USD,
    DURATION_S,
    EVENT,
    EVENT_ID,
    KIND,
    LEVEL,
    LOGGER,
    NAME,
    PARENT_ID,
    PID,
    RUN_ID,
    SEQ,
    STEP_ID,
    TS,
    TTFT_S,
    StrPath,
)
from .reader import read_events

if TYPE_CHECKING:
    import duckdb
    import pandas
    import polars

__all__ = ["read_duckdb", "read_pandas", "read_polars"]

STRING_FIELDS = (RUN_ID, EVENT, KIND, LEVEL, LOGGER, EVENT_ID, NAME, STEP_ID, PARENT_ID)
INT_FIELDS = (SEQ, PID)
FLOAT_FIELDS = (DURATION_S, COST_USD, TTFT_S)
CONTRACT_COLUMNS = (TS, *STRING_FIELDS, *INT_FIELDS, *FLOAT_FIELDS)
"""Always in the table, in this order before the others, null where a record lacks them."""
_FITS: dict[str, frozenset[str]] = {
    TS: frozenset({"str"}),
    **{name: frozenset({"str"}) for name in STRING_FIELDS},
    **{name: frozenset({"int"}) for name in INT_FIELDS},
    **{name: frozenset({"int", "float"}) for name in FLOAT_FIELDS},
}
_NESTED = frozenset({"object", "array"})
_INT64 = (-(2**63), 2**63 - 1)


def _kind(value: Any) -> str | None:
    """The JSON kind of a parsed value; None for null (it fits every column)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return "object" if isinstance(value, dict) else "array"


def _fits_one_type(name: str, kinds: set[str]) -> bool:
    if name in _FITS:
        return kinds <= _FITS[name]
    return len(kinds) <= 1 or kinds == {"int", "float"}


class _Log:
    """One pass over the log: the normalized lines in a temporary file, and each column's
    kinds. `as_text` are the columns whose values are written as their JSON text."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, "log.ndjson")
        self.columns: dict[str, set[str]] = {name: set() for name in CONTRACT_COLUMNS}
        self.as_text: set[str] = set()
        self.count = 0
        self.big_ints: set[str] = set()  # integers beyond 64 bits: no int64 column holds them

    def scan(self, records: Iterator[dict[str, Any]]) -> None:
        columns, big = self.columns, self.big_ints
        with open(self.path, "wb") as out:
            for record in records:
                self.count += 1
                for name, value in record.items():
                    kind = _kind(value)
                    kinds = columns.setdefault(name, set())
                    if kind is not None:
                        kinds.add(kind)
                        if kind == "int" and not _INT64[0] <= value <= _INT64[1]:
                            big.add(name)
                out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        mixed = {name for name, kinds in columns.items() if not _fits_one_type(name, kinds)}
        self.as_json_text(mixed | big.intersection(INT_FIELDS))

    def as_json_text(self, names: set[str]) -> None:
        """Rewrite the file with the values of the columns `names` as their JSON text."""
        todo = names - self.as_text
        if not todo:
            return
        self.as_text |= todo
        source, self.path = self.path, f"{self.path}.{len(self.as_text)}"
        with open(source, "rb") as lines, open(self.path, "wb") as out:
            for line in lines:
                record = orjson.loads(line)
                for name in todo.intersection(record):
                    if record[name] is not None:
                        record[name] = orjson.dumps(record[name]).decode()
                out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        os.unlink(source)

    def nested(self) -> set[str]:
        return {n for n, kinds in self.columns.items() if kinds & _NESTED} - self.as_text


@contextmanager
def _scanned(
    path: StrPath, run_id: str | None, kind: str | Collection[str] | None
) -> Iterator[_Log]:
    with tempfile.TemporaryDirectory(prefix="llmops-frames-") as directory:
        log = _Log(directory)
        log.scan(iter(read_events(path, run_id=run_id, kind=kind)))
        yield log


def read_polars(
    path: StrPath, *, run_id: str | None = None, kind: str | Collection[str] | None = None
) -> polars.DataFrame:
    """The log at `path` (a directory or its live file) as a polars DataFrame, every record
    and column, with the contract's types (see the module's docstring)."""
    with _scanned(path, run_id, kind) as log:
        return _polars(log)


def _polars_types() -> dict[str, polars.DataType]:
    import polars as pl

    types: dict[str, polars.DataType] = {
        TS: pl.String(),
        **dict.fromkeys(STRING_FIELDS, pl.String()),
    }
    types |= dict.fromkeys(INT_FIELDS, pl.Int64()) | dict.fromkeys(FLOAT_FIELDS, pl.Float64())
    return types


def _polars(log: _Log) -> polars.DataFrame:
    import polars as pl

    types = _polars_types()
    if log.count == 0:
        frame = pl.DataFrame(schema={name: types[name] for name in CONTRACT_COLUMNS})
    else:
        try:
            frame = _polars_read(log)
        except (pl.exceptions.ComputeError, pl.exceptions.SchemaError):
            # nested values whose shapes disagree (a field an object here, a list there)
            log.as_json_text(log.nested())
            frame = _polars_read(log)
    missing = [pl.lit(None, dtype=types[name]).alias(name) for name in CONTRACT_COLUMNS
               if name not in frame.columns]  # fmt: skip
    if missing:
        frame = frame.with_columns(missing)
    frame = frame.with_columns(
        pl.col(TS).str.to_datetime(time_unit="us", time_zone="UTC", strict=False)
    )
    return frame.select(*CONTRACT_COLUMNS, *(c for c in frame.columns if c not in _FITS))


def _polars_read(log: _Log) -> polars.DataFrame:
    import polars as pl

    types = _polars_types()
    overrides: dict[str, polars.DataType] = dict.fromkeys(log.as_text, pl.String())
    overrides |= {n: types[n] for n in CONTRACT_COLUMNS if log.columns[n] and n not in log.as_text}
    return pl.read_ndjson(log.path, infer_schema_length=None, schema_overrides=overrides)


def read_pandas(
    path: StrPath, *, run_id: str | None = None, kind: str | Collection[str] | None = None
) -> pandas.DataFrame:
    """The log at `path` as a pandas DataFrame: `ts` a UTC datetime column, integer columns
    nullable `Int64` (a missing value does not turn them into floats), nested objects as
    dicts, mixed columns as JSON text (see the module's docstring)."""
    import pandas as pd

    with _scanned(path, run_id, kind) as log:
        names = list(log.columns)
        values: dict[str, list[Any]] = {name: [] for name in names}
        with open(log.path, "rb") as lines:
            for line in lines:
                record = orjson.loads(line)
                for name in names:
                    values[name].append(record.get(name))
    columns = {name: _pandas_column(pd, name, values[name], log) for name in names}
    frame = pd.DataFrame(columns, index=pd.RangeIndex(log.count))
    return frame[[*CONTRACT_COLUMNS, *(c for c in names if c not in _FITS)]]


def _pandas_column(pd: Any, name: str, values: list[Any], log: _Log) -> Any:
    kinds = log.columns[name]
    if name == TS:
        return pd.to_datetime(pd.Series(values, dtype=object), utc=True, errors="coerce",
                              format="ISO8601")  # fmt: skip
    if name in log.as_text or name in STRING_FIELDS:
        return pd.Series(values, dtype="string")
    if name in FLOAT_FIELDS or kinds in ({"float"}, {"int", "float"}):
        return pd.Series(values, dtype="float64")
    if (name in INT_FIELDS or kinds == {"int"}) and name not in log.big_ints:
        return pd.Series(values, dtype="Int64")
    if kinds == {"bool"}:
        return pd.Series(values, dtype="boolean")
    if kinds == {"str"}:
        return pd.Series(values)
    return pd.Series(values, dtype=object)  # objects, lists, integers beyond 64 bits


def read_duckdb(
    path: StrPath,
    *,
    run_id: str | None = None,
    kind: str | Collection[str] | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
    table: str = "events",
) -> duckdb.DuckDBPyRelation:
    """Load the log at `path` into the DuckDB table `table` (replaced if it exists) of
    `connection` (default: DuckDB's default connection, which `duckdb.sql` uses), typed from
    every record (see the module's docstring), and return that table as a relation."""
    import duckdb

    con = connection if connection is not None else duckdb.default_connection()
    with _scanned(path, run_id, kind) as log:
        sql_types = {TS: "TIMESTAMPTZ", **dict.fromkeys(STRING_FIELDS, "VARCHAR")}
        sql_types |= dict.fromkeys(INT_FIELDS, "BIGINT") | dict.fromkeys(FLOAT_FIELDS, "DOUBLE")
        if log.count == 0:
            selected = ", ".join(f"CAST(NULL AS {sql_types[n]}) AS {_ident(n)}"
                                 for n in CONTRACT_COLUMNS)  # fmt: skip
            con.execute(f"CREATE OR REPLACE TABLE {_ident(table)} AS SELECT {selected} LIMIT 0")
        else:
            columns = []
            for name in CONTRACT_COLUMNS:
                if not log.columns[name]:
                    columns.append(f"CAST(NULL AS {sql_types[name]}) AS {_ident(name)}")
                elif name in log.as_text:
                    columns.append(_ident(name))
                else:
                    cast = "TRY_CAST" if name == TS else "CAST"
                    columns.append(f"{cast}({_ident(name)} AS {sql_types[name]}) AS {_ident(name)}")
            columns += [_ident(n) for n in log.columns if n not in _FITS]
            con.execute(
                f"CREATE OR REPLACE TABLE {_ident(table)} AS SELECT {', '.join(columns)} "
                "FROM read_json(?, format = 'newline_delimited', sample_size = -1, "
                f"maximum_depth = -1, maximum_object_size = {1 << 30})",
                [log.path],
            )
    return con.sql(f"SELECT * FROM {_ident(table)}")


def _ident(name: str) -> str:
    """A quoted SQL identifier: a field name is the log's content, never SQL."""
    return '"' + name.replace('"', '""') + '"'
