"""Record values as OTLP/JSON: attributes, times, durations. Nothing a log holds can make them
raise, lose a value or leave OTLP's ranges.

- Attributes are a record's fields flattened with `.` (`gen_ai.usage.input_tokens`). When two
  paths of one record flatten to the same name (`"http.status"` beside `"http": {"status"}`),
  the fully nested path keeps the plain name and every other one is named by its segments
  joined with `.`, a dot inside a key written `\\.` and a backslash `\\\\` (`http\\.status`).
  That escaped naming is one-to-one, so it wins any later clash: keys are unique in a list.
- Times are integer nanoseconds since the Unix epoch, within uint64 (0 to 2^64 - 1), computed
  without floats so that microseconds survive; a `ts` OTLP cannot hold is clamped to that range.
- As OTLP/JSON requires, 64-bit integers are decimal strings.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from ...reader import ts_parts
from . import flat

MAX_NANOS = 2**64 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_INT64 = range(-(2**63), 2**63)
Attribute = dict[str, Any]


def clamp(nanos: int) -> int:
    return 0 if nanos < 0 else MAX_NANOS if nanos > MAX_NANOS else nanos


_UTC_SUFFIX = "+00:00"
_last_second: list[Any] = ["", 0]  # the library's `ts` to the second, and its nanoseconds


MAX_TIMES = 4096
"""Times kept parsed (`nanos`): each record's `ts` is read three times or so, and in turn."""
_times: dict[str, int | None] = {}


def nanos(ts: Any) -> int | None:
    """An ISO-8601 time with its offset as nanoseconds, clamped to uint64; None if it is not one."""
    if type(ts) is not str or len(ts) > 64:
        return _nanos(ts)
    found = _times.get(ts, -1)  # -1: not seen (a time is clamped to 0 or more)
    if found == -1:
        found = _nanos(ts)
        if len(_times) >= MAX_TIMES:
            _times.clear()
        _times[ts] = found
    return found


def _nanos(ts: Any) -> int | None:
    """`nanos` without the memo. The library's own `ts` (`2026-01-02T03:04:05.123456+00:00`)
    takes a short cut: records of one second share the parse of their second."""
    if type(ts) is str and len(ts) == 32 and ts[19] == "." and ts.endswith(_UTC_SUFFIX):
        micro = ts[20:26]
        if micro.isdigit() and micro.isascii():
            second = ts[:19]
            if second != _last_second[0]:
                parts = ts_parts(second + _UTC_SUFFIX)
                if parts is None:
                    return None
                _last_second[:] = second, (parts[0] - _EPOCH) // _MICROSECOND * 1000
            return clamp(_last_second[1] + int(micro) * 1000)
    parts = ts_parts(ts)
    if parts is None or parts[0].tzinfo is None:
        return None
    when, extra = parts
    return clamp((when - _EPOCH) // _MICROSECOND * 1000 + extra)


def duration_nanos(value: Any) -> int | None:
    """A `duration_s` as nanoseconds, at most uint64's range; None unless a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int):
        return min(value, MAX_NANOS // 10**9 + 1) * 10**9 if value >= 0 else None
    if not math.isfinite(value) or value < 0:
        return None
    return round(min(value, MAX_NANOS / 1e9) * 1e9)


json_text = flat.json_text
"""Compact JSON, for values OTLP has no type for (objects, lists of objects)."""


def any_value(value: Any) -> dict[str, Any]:
    """An OTLP AnyValue; an integer beyond int64 or a float beyond double's range is text."""
    kind = type(value)
    if kind is str:
        return {"stringValue": value}
    if kind is float:
        return {"doubleValue": value} if math.isfinite(value) else {"stringValue": str(value)}
    if kind is int:
        if value in _INT64:
            return {"intValue": str(value)}
        return {"stringValue": str(value) if value.bit_length() < 256 else json_text(value)}
    if kind is bool:
        return {"boolValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, list):
        if any(isinstance(v, (dict, list)) for v in value):
            return {"stringValue": json_text(value)}
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    if isinstance(value, float):  # a subclass: as its base type
        return any_value(float(value))
    if isinstance(value, int):
        return any_value(int(value))
    return {"stringValue": json_text(value)}


MAX_SHARED = 4096
"""Attributes kept for reuse (`attribute`); the cache is emptied when full. Small: a log
repeats few values, and 65,536 raised export's peak RSS from 32 to 85 MiB (bench_ship)."""
SHARED_TEXT = 64
"""The longest key, and text value, of an attribute kept for reuse."""
_shared: dict[tuple[str, type, Any], Attribute] = {}


def attribute(key: str, value: Any) -> Attribute:
    """The OTLP `KeyValue` of a leaf. One of short text, an int64 or a bool is made once and
    shared: a log repeats models, providers, kinds and counts in every span, and export and ship
    only read attributes once made. Keyed by type too, since `1`, `1.0` and `True` are equal."""
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        cached = (key, kind, value)
        found = _shared.get(cached)
        if found is None:
            found = {"key": key, "value": any_value(value)}
            if len(key) <= SHARED_TEXT and (
                len(value) <= SHARED_TEXT if kind is str else value in _INT64
            ):
                if len(_shared) >= MAX_SHARED:
                    _shared.clear()
                _shared[cached] = found
        return found
    return {"key": key, "value": any_value(value)}


def attributes(fields: dict[str, Any]) -> list[Attribute]:
    """Fields flattened to dotted keys by the export's one rule (`flat`), unique within the
    list; lists of objects as JSON text. No recursion: values may nest a thousand levels."""
    named = plain_attributes(fields.items(), None, ())
    if named is not None:
        return list(named.values())
    found = [(path, value) for path, value in flat.leaves(fields) if value is not None]
    keys = flat.names([path for path, _ in found])
    return [attribute(key, value) for key, value in zip(keys, [v for _, v in found], strict=True)]


def plain_attributes(
    items: Iterable[tuple[Any, Any]], skip: Container[Any] | None, last: tuple[Any, ...]
) -> dict[str, Attribute] | None:
    """The attributes of the fields `items` (less the top-level keys in `skip`, then the pairs
    `last`) by name, as `flat.flatten` names them; None when a key holds a dot or is not
    text (then `flat.names` tells the names apart). One walk, no paths: every span's
    attributes are made through it."""
    out: dict[str, Attribute] = {}
    for pairs, leave_out in ((items, skip), (last, None)):
        for key, value in pairs:
            if leave_out is not None and key in leave_out:
                continue
            if type(key) is not str or "." in key:
                return None
            if type(value) is dict and value:
                if not _nested(out, key, value):
                    return None
            elif value is not None:
                kind = type(value)
                if kind is str or kind is int or kind is bool:  # hashable: maybe shared
                    out[key] = _shared.get((key, kind, value)) or attribute(key, value)
                else:
                    out[key] = attribute(key, value)
    return out


def _nested(out: dict[str, Attribute], name: str, obj: dict[Any, Any]) -> bool:
    """The leaves of an object under `name` into `out`; False when a key holds a dot."""
    stack: list[tuple[str, Iterator[tuple[Any, Any]]]] = [(name + ".", iter(obj.items()))]
    while stack:
        prefix, items = stack[-1]
        for key, value in items:
            if type(key) is not str or "." in key:
                return False
            if type(value) is dict and value:
                stack.append((f"{prefix}{key}.", iter(value.items())))
                break
            if value is not None:
                name = prefix + key
                kind = type(value)
                if kind is str or kind is int or kind is bool:  # hashable: maybe shared
                    out[name] = _shared.get((name, kind, value)) or attribute(name, value)
                else:
                    out[name] = attribute(name, value)
        else:
            stack.pop()
    return True
