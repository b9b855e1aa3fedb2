"""`export --format csv`: one column per flattened field, safe to open in a spreadsheet.

Two passes over the log. The first finds the columns: names from `flat` (the contract's
fields first, then in the order first seen), objects keyed by data (`shape`) as one column of
JSON text each, and at most `MAX_COLUMNS` columns; the fields of a record that have no column
are written, as one JSON object, in a last column `REST_COLUMN`. The second writes the rows.
Neither pass holds the records, and memory is bounded whatever the keys.

A cell is a formula to a spreadsheet when it starts with `=`, `+`, `-` or `@` (or their
full-width forms), a tab, a carriage return or a line feed: such a text cell (a header cell
too) is written with a `'` in front, as OWASP recommends for CSV injection; a cell holding a
JSON number (`-3`, `-0.5`) is written as the number. `raw=True` writes every cell as logged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from ..._contract import CORE_FIELDS
from .flat import Path, flatten, json_text, leaves, names
from .shape import MAX_FIELDS, REST, Shape

Record = dict[str, Any]
MAX_COLUMNS = MAX_FIELDS
"""Columns at most, the last one (`REST_COLUMN`) included when needed."""
REST_COLUMN = REST
"""The column holding, as a JSON object, the fields of a record that have no column."""
FORMULA_STARTS = (*"=+-@\t\r\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""The OWASP list, a line feed, and the full-width forms some spreadsheets also accept."""


class Columns:
    """The columns of the first pass; `names` is the header."""

    def __init__(self) -> None:
        self.shape = Shape()
        self.seen: dict[str, Path] = {}
        self.overflow = False
        self.rows = 0
        self.traces = 0
        self.spans = 0

    def add(self, record: Record) -> None:
        self.rows += 1
        shape, seen = self.shape, self.seen
        before = len(shape.keyed)
        shape.observe(record)
        if len(shape.keyed) != before:
            self._forget_keyed()
        found = leaves(record, shape.keyed)
        paths = [path for path, _ in found]
        for name, path in zip(names(paths), paths, strict=True):
            if name not in seen:
                if len(seen) < MAX_COLUMNS - 1:
                    seen[name] = path
                else:
                    self.overflow = True

    def _forget_keyed(self) -> None:
        """Columns below an object now keyed: that object is one column from now on."""
        keyed = self.shape.keyed
        for name, path in list(self.seen.items()):
            if any(path[:n] in keyed for n in range(1, len(path))):
                del self.seen[name]

    @property
    def names(self) -> list[str]:
        core = [c for c in CORE_FIELDS if c in self.seen]
        names = core + [c for c in self.seen if c not in CORE_FIELDS]
        if self.has_rest:
            rest = REST_COLUMN
            while rest in self.seen:
                rest = f"_{rest}"
            names.append(rest)
        return names

    @property
    def has_rest(self) -> bool:
        """Whether some field may have no column: beyond the cap, or (rarely) named otherwise
        once an object above it was found keyed."""
        return self.overflow or bool(self.shape.keyed)


def neutral(text: str) -> str:
    """`text` as a spreadsheet shows it, never run as a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def cell(value: Any, raw: bool = False) -> Any:
    """A CSV cell: text neutralised, numbers as numbers, lists and objects as JSON text."""
    kind = type(value)
    if kind is str:
        return value if raw else neutral(value)
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return value
    text = json_text(value)
    return text if raw else neutral(text)


def rows(records: Iterable[Record], columns: Columns, raw: bool = False) -> Iterator[list[Any]]:
    """The cells of each record, in the header's order."""
    header = columns.names
    where = {name: i for i, name in enumerate(header)}
    rest_at = len(header) - 1 if columns.has_rest else None
    keyed = columns.shape.keyed
    for record in records:
        row: list[Any] = [""] * len(header)
        rest: dict[str, Any] = {}
        for name, value in flatten(record, keyed):
            at = where.get(name)
            if at is None or at == rest_at:
                rest[name] = value
            else:
                row[at] = cell(value, raw)
        if rest and rest_at is not None:  # else the first pass saw every name
            row[rest_at] = cell(json_text(rest), raw)
        yield row


def write(records: Iterable[Record], columns: Columns, out: BinaryIO, raw: bool = False) -> None:
    with io.TextIOWrapper(out, encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([name if raw else neutral(name) for name in columns.names])
        writer.writerows(rows(records, columns, raw))
