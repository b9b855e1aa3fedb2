"""Which objects of a log are keyed by data, found in one pass with bounded memory.

A dict such as `scores={doc_id: score}` has keys that are values: across a log it has as
many distinct keys as there are documents. Made a column (CSV) or a struct field (Parquet)
per key, it costs time and memory that grow with records times keys. `Shape` watches every
object path of the records (`("scores",)`, `("gen_ai", "usage")`) and counts the distinct
keys seen under it, up to `MAX_OBJECT_KEYS` (as DuckDB's `map_inference_threshold`); a path
with more becomes *keyed*: exporters keep its value whole (JSON text) instead of a column per
key, and forget what they knew of the keys below it. At most `MAX_PATHS` paths are tracked;
once that budget is spent, a new object's top-level field is kept whole instead (`whole`, at
most `MAX_FIELDS` of them, which frees the paths tracked below it), and past that new objects
are not followed (their fields land in the capped columns or in `REST`). So memory is bounded
whatever the keys, and each record costs time linear in its size.
"""

from __future__ import annotations

from typing import Any

from .flat import json_text

MAX_OBJECT_KEYS = 200
"""Distinct keys an object path may have across the log before it is kept whole."""
MAX_FIELDS = 1_000
"""Top-level names kept as fields of their own (`columnar`); the others go to `REST`."""
REST = "_other_fields"
"""The field holding, as one JSON object, the top-level fields beyond `MAX_FIELDS` (with `_`
in front while a field of the log has that name)."""
MAX_PATHS = 20_000
"""Object paths tracked at most (their keys are bounded by `MAX_OBJECT_KEYS` each)."""
ITEM = 0
"""The path segment of a list's items (keys are strings, so it cannot be mistaken for one)."""

BIG = 2**63
"""Integers from here on do not fit int64 (the writer keeps them up to 2**64 - 1)."""

Path = tuple[Any, ...]


class Shape:
    """The object paths of the records seen so far, and which are keyed.

    `columnar` (Parquet) also follows objects inside lists (Parquet keeps lists of structs;
    CSV writes a list whole, as JSON text) and notes the paths of numbers that decide an
    exact column type: integers beyond int64 (`big`), negative integers and floats."""

    def __init__(self, columnar: bool = False) -> None:
        self.columnar = columnar
        self.keys: dict[Path, set[str]] = {}
        self.keyed: set[Path] = set()
        self._keyed_lengths: set[int] = set()
        """The lengths of the paths in `keyed`: the only prefixes `_below_keyed` looks up."""
        self.whole: set[Path] = set()
        """Top-level fields kept whole because the path budget was spent (also in `keyed`)."""
        self.big: set[Path] = set()
        self.negative: set[Path] = set()
        self.floats: set[Path] = set()
        self.big_values = 0
        """Integers beyond int64 seen, all paths together."""
        self.fields: dict[str, None] = {}
        self.rest: str | None = None
        """`REST` (or a variant) once top-level names went beyond `MAX_FIELDS` (`columnar`)."""

    def observe(self, record: dict[str, Any]) -> None:
        """Count the keys of every object in `record` (the top level has no limit)."""
        keyed, keys = self.keyed, self.keys
        stack: list[tuple[Path, Any]] = [((), record)]
        while stack:
            path, value = stack.pop()
            if not value:
                continue
            if type(value) is list:
                item_path = (*path, ITEM)
                for item in value:
                    kind = type(item)
                    if kind is dict or kind is list:
                        stack.append((item_path, item))
                    elif kind is float or (kind is int and (item < 0 or item >= BIG)):
                        self._number(item_path, item)
                continue
            if not path:
                if self.columnar and self.rest is None:
                    self._fields(value)
            else:
                if path in keyed:
                    continue
                names = keys.get(path)
                if names is None:
                    if self._below_keyed(path):
                        continue
                    if len(keys) >= MAX_PATHS:
                        self._over_budget(path)
                        continue
                    names = keys[path] = set()
                names.update(value)
                if len(names) > MAX_OBJECT_KEYS:
                    self._keyed(path)
                    continue
            if not self.columnar:
                stack.extend(
                    ((*path, key), item) for key, item in value.items() if type(item) is dict
                )
                continue
            for key, item in value.items():
                kind = type(item)
                if kind is str:
                    continue
                if kind is dict or kind is list:
                    stack.append(((*path, key), item))
                elif kind is float or (kind is int and (item < 0 or item >= BIG)):
                    self._number((*path, key), item)

    def _fields(self, record: dict[str, Any]) -> None:
        fields = self.fields
        for key in record:
            if key not in fields:
                if len(fields) >= MAX_FIELDS:
                    rest = REST
                    while rest in fields:
                        rest = f"_{rest}"
                    self.rest = rest
                    return
                fields[key] = None

    def moved(self, record: dict[str, Any]) -> dict[str, Any]:
        """`record` with its top-level fields beyond `MAX_FIELDS` moved into `rest`, as one
        JSON object."""
        fields, rest = self.fields, self.rest
        if rest is None or fields.keys() >= record.keys():
            return record
        kept = {k: v for k, v in record.items() if k in fields}
        kept[rest] = json_text({k: v for k, v in record.items() if k not in fields})
        return kept

    def _number(self, path: Path, value: float) -> None:
        if type(value) is float:
            if path in self.big or len(self.floats) < MAX_PATHS:
                self.floats.add(path)
        elif value >= BIG:
            self.big.add(path)
            self.big_values += 1
        elif value < 0 and len(self.negative) < MAX_PATHS:
            self.negative.add(path)

    def _below_keyed(self, path: Path) -> bool:
        """Whether an object above `path` is keyed: one set lookup per length of a keyed path
        (few), not per ancestor, since a record may nest a thousand levels deep and each
        lookup hashes a prefix as long as its length."""
        keyed, size = self.keyed, len(path)
        return any(n < size and path[:n] in keyed for n in self._keyed_lengths)

    def _over_budget(self, path: Path) -> None:
        """A new object once `MAX_PATHS` are tracked: keep its top-level field whole, while
        fewer than `MAX_FIELDS` are (and, for `columnar`, if it has a field of its own)."""
        top = path[:1]
        if len(self.whole) >= MAX_FIELDS or (self.columnar and top[0] not in self.fields):
            return
        self.whole.add(top)
        self._keyed(top)

    def _keyed(self, path: Path) -> None:
        """`path` is kept whole: forget every path below it (the paths below it that were
        keyed stay in `keyed`, unreported, rather than scanning `keyed` each time)."""
        self.keyed.add(path)
        size = len(path)
        self._keyed_lengths.add(size)
        for known in [p for p in self.keys if p[:size] == path]:
            del self.keys[known]

    def is_keyed(self, path: Path) -> bool:
        return path in self.keyed

    def _dotted(self, paths: set[Path]) -> list[str]:
        return sorted(
            ".".join("[]" if s == ITEM else str(s) for s in p)
            for p in paths
            if not self._below_keyed(p)
        )

    def describe(self) -> list[str]:
        """The paths keyed by data, dotted, for the read report."""
        return self._dotted(self.keyed - self.whole)

    def describe_whole(self) -> list[str]:
        """The top-level fields kept whole because the path budget was spent."""
        return self._dotted(self.whole)
