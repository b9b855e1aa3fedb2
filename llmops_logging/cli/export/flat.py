"""Records flattened to dotted names (CSV columns, OTLP attributes), every value kept.

Nested objects are followed and their keys joined with `.`, so `{"gen_ai": {"usage":
{"input_tokens": 3}}}` gives `gen_ai.usage.input_tokens`, the OpenTelemetry name. Two paths
of one record can give the same name: `{"http.status": 200, "http": {"status": 503}}`. Then
the fully nested path (no key of it holds a dot) keeps the plain dotted name, and every other
colliding path is named with its keys joined by `.`, a dot inside a key written `\\.` and a
backslash `\\\\`: here `http.status` is 503 and `http\\.status` is 200. Escaping is one-to-one,
so the names of one record are always distinct; a record without such a collision keeps the
plain names.

Lists, empty objects and objects a `Shape` found keyed by data are leaves (kept whole).

`json_text` is the JSON text every exporter writes for a value kept whole.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Container, Iterator
from typing import Any

import orjson

Path = tuple[Any, ...]
NO_PATHS: frozenset[Path] = frozenset()
MAX_DEPTH = 100
"""Levels kept by the last resort of `json_text`, for values deeper than recursion allows."""
TOO_DEEP = f"<nested deeper than {MAX_DEPTH} levels>"
"""What stands for the levels beyond `MAX_DEPTH` in that last resort."""


def _named(value: Any) -> str:
    """What JSON has no type for: its type's name."""
    return f"<{type(value).__name__}>"


def json_text(value: Any) -> str:
    """Compact JSON text of `value`; never raises. orjson first (fast, but it stops at 255
    levels and at 64-bit integers), then the standard library (depth up to the recursion
    limit, any integer), then the value cut at `MAX_DEPTH` levels, marked `TOO_DEEP`."""
    try:
        return orjson.dumps(value, default=_named).decode()
    except TypeError:
        pass
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_named)
    except (RecursionError, ValueError, TypeError):
        pass
    try:
        return json.dumps(
            _capped(value, MAX_DEPTH), ensure_ascii=False, separators=(",", ":"), default=_named
        )
    except (RecursionError, ValueError, TypeError):
        return json.dumps(_named(value))


def _capped(value: Any, depth: int) -> Any:
    """`value` with what lies below `depth` levels replaced by `TOO_DEEP` (and integers of
    more digits than `str` gives, by their size), so that any encoder can write it."""
    if isinstance(value, dict):
        if depth <= 0:
            return TOO_DEEP
        return {str(k): _capped(v, depth - 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if depth <= 0:
            return TOO_DEEP
        return [_capped(v, depth - 1) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 10_000:
        return f"<int of {value.bit_length()} bits>"
    return value


def leaves(record: dict[str, Any], keyed: Container[Path] = NO_PATHS) -> list[tuple[Path, Any]]:
    """(path, value) of each leaf, in the record's order; no recursion (values may nest a
    thousand levels deep)."""
    out: list[tuple[Path, Any]] = []
    stack: list[tuple[Path, Iterator[tuple[str, Any]]]] = [((), iter(record.items()))]
    while stack:
        path, items = stack[-1]
        for key, value in items:
            child = (*path, key)
            if type(value) is dict and value and child not in keyed:
                stack.append((child, iter(value.items())))
                break
            out.append((child, value))
        else:
            stack.pop()
    return out


def escaped(path: Path) -> str:
    """The path's name with each key's backslashes and dots escaped."""
    return ".".join(str(key).replace("\\", "\\\\").replace(".", "\\.") for key in path)


def names(paths: list[Path]) -> list[str]:
    """The name of each path of one record (see the module docstring)."""
    plain = [".".join(map(str, path)) for path in paths]
    if len(set(plain)) == len(plain):
        return plain
    counts = Counter(plain)
    named = [
        escaped(path) if counts[name] > 1 and any("." in str(key) for key in path) else name
        for path, name in zip(paths, plain, strict=True)
    ]
    # A key holding a backslash can make an escaped name equal another path's plain one:
    # escape those too, until all differ (escaped names never collide with each other).
    while len(set(named)) < len(named):
        counts = Counter(named)
        named = [
            escaped(path) if counts[name] > 1 else name
            for path, name in zip(paths, named, strict=True)
        ]
    return named


def flatten(record: dict[str, Any], keyed: Container[Path] = NO_PATHS) -> list[tuple[str, Any]]:
    """(name, value) of each leaf of `record`, named by the rule above."""
    found = leaves(record, keyed)
    return list(zip(names([path for path, _ in found]), [v for _, v in found], strict=True))
