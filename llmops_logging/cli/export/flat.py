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

`json_text` (the reading model's, for every command) is the JSON text every exporter writes
for a value kept whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterator
from typing import Any

from ...readmodel.values import MAX_DEPTH as MAX_DEPTH  # the exporters' names for these
from ...readmodel.values import TOO_DEEP as TOO_DEEP
from ...readmodel.values import json_text as json_text

Path = tuple[Any, ...]
NO_PATHS: frozenset[Path] = frozenset()


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
