"""Values read out of records, which are input and may hold anything: the CLI's one walker
of nested fields and its one test for a usable number."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import orjson


def path(record: Any, *keys: str) -> Any:
    """`record[k1][k2]...`, or None where the path does not exist (the CLI's one walker of
    nested fields such as `gen_ai.usage`)."""
    value: Any = record
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def number(value: Any) -> float | None:
    """A finite number, or None: records are input, and may hold anything (a bool is no number)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


_MISSING = object()


def field_value(record: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted path (`gen_ai.request.model`), or a flattened key of that name:
    how a command's `--by FIELD` names a field."""
    value = record.get(dotted, _MISSING)
    if value is not _MISSING or "." not in dotted:
        return None if value is _MISSING else value
    node: Any = record
    for part in dotted.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


# -- text of any value ---------------------------------------------------------------------

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


def shown(value: Any, encode: Callable[[Any], str] = json_text) -> str:
    """The text the commands show of a field that names something (a run, a step, an event,
    an error): text as it is; none (null) as `-`, as a field left out; any other value (a
    foreign writer's number, object, list or boolean) as its `json_text`, what was logged,
    never Python's spelling of it (`{'k': 1}`, `True`), and never a `RecursionError` however
    deep it nests. `encode` writes that JSON (a terminal's escapes it further)."""
    if isinstance(value, str):
        return value
    return "-" if value is None else encode(value)
