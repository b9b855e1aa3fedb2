"""Turn any event dict into exactly one strict JSON line, whatever the values hold.

The fast path is a single `orjson.dumps`. Values orjson cannot hold go through `json_default`;
what even that cannot fix (circular or very deep structures, lone surrogates, integers beyond
64 bits, non-string keys) makes the whole record take the slow path through `sanitize`, and a
line over the size limit is shrunk with visible markers. Rendering never raises, and a value
that cannot be rendered costs only itself, never the record's other fields.

`to_json_form` is the one definition of what a value JSON cannot hold becomes; the redactor
applies it during its own walk, so the renderer writes exactly what the redactor saw.
"""

from __future__ import annotations

import dataclasses
import enum
import numbers
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from itertools import islice
from pathlib import PurePath
from typing import Any
from uuid import UUID

import orjson

from ._contract import CORE_FIELDS

DEFAULT_MAX_RECORD_BYTES = 256 * 1024
MAX_DEPTH = 64
MAX_ITEMS = 10_000
"""Items kept per container: a larger one keeps its first `MAX_ITEMS`, then a marker, so one
record's time and memory stay bounded (a longer one could never fit a record anyway)."""
TRUNCATED_MARKER = "...[truncated {} chars]"
ITEMS_MARKER = "...[truncated {} items]"
ITEMS_KEY = "..."
"""The key under which a dict cut at `MAX_ITEMS` names how many items it lost."""

LINE_OPTIONS = orjson.OPT_APPEND_NEWLINE
_INT_RANGE = range(-(2**63), 2**64)
NATIVE_LEAVES = (datetime, date, time, UUID)
"""Types orjson writes itself and that hold nothing but a date, a time or an id."""


def safe_repr(obj: object) -> str:
    """`repr(obj)`, or a placeholder naming its type when `repr` itself fails."""
    try:
        return clean_str(repr(obj))
    except Exception:
        return f"<unrepresentable {type(obj).__qualname__}>"


def safe_str(obj: object) -> str:
    """`str(obj)`, falling back to `safe_repr` when `__str__` fails."""
    try:
        return clean_str(str(obj))
    except Exception:
        return safe_repr(obj)


def clean_str(text: str) -> str:
    """The text as valid UTF-8: lone surrogates become visible `\\udcxx` escapes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return str.__str__(text)


def describe_exception(exc: BaseException) -> str:
    """`Type: message`, the form an exception takes as a field value."""
    return f"{type(exc).__name__}: {safe_str(exc)}"


def format_failure(exc: Exception, args: tuple[Any, ...]) -> dict[str, Any]:
    """The fields that stand in for a message whose `%` arguments did not fit it."""
    return {"format_error": describe_exception(exc), "format_args": [safe_repr(a) for a in args]}


def safe_int(value: int) -> int | str:
    """An integer as JSON holds it: itself within 64 bits, else its digits, or only its size
    when it has more digits than Python converts to text (`sys.set_int_max_str_digits`)."""
    if value in _INT_RANGE:
        return int(value)
    try:
        return str(int(value))
    except ValueError:
        return f"<int of {value.bit_length()} bits>"


def _number(obj: Any) -> bool | int | float | None:
    """A number of another library as a JSON number, without importing it: numpy and torch
    scalars (`.item()` of a shape `()`), then anything registered with the numbers ABCs."""
    shape = getattr(obj, "shape", None)
    if type(shape) is tuple and not shape and callable(getattr(obj, "item", None)):
        value = obj.item()
        if type(value) is int:
            return value if value in _INT_RANGE else None
        if type(value) in (bool, float):
            return value  # type: ignore[no-any-return]
    if isinstance(obj, numbers.Integral):
        value = int(obj)
        return value if value in _INT_RANGE else None
    if isinstance(obj, numbers.Real):
        return float(obj)
    return None


def to_json_form(obj: Any) -> Any:
    """One step from a value JSON cannot hold to one it can: str, number, bool, None, a
    `NATIVE_LEAVES` value, or a dict or list whose items may need the same step again.

    Runs the value's own code (`repr`, `model_dump`, `item`, `__iter__`) at most once, so
    callers convert each value once and keep the result; never raises.
    """
    try:
        if isinstance(obj, str):
            return str.__str__(obj)
        if isinstance(obj, enum.Enum):
            return obj.value
        if isinstance(obj, int):  # bool cannot be subclassed: this is an int subclass
            return safe_int(obj)
        if isinstance(obj, float):  # numpy's float64 is one
            return float(obj)
        if isinstance(obj, dict):
            return dict(dict.items(obj))
        fields = getattr(type(obj), "_fields", None)
        if isinstance(obj, tuple) and isinstance(fields, tuple):  # a namedtuple: by field name
            return dict(zip(map(str, fields), obj, strict=False))
        if isinstance(obj, (list, tuple)):
            return list(obj)
        if isinstance(obj, (bytes, bytearray, memoryview)):
            return bytes(obj).decode("utf-8", "backslashreplace")
        if isinstance(obj, (set, frozenset)):
            try:
                return sorted(obj) if len(obj) <= MAX_ITEMS else list(obj)
            except TypeError:
                return list(obj)
        if isinstance(obj, BaseException):
            return describe_exception(obj)
        if isinstance(obj, (Decimal, PurePath, complex)):
            return str(obj)
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return {f.name: getattr(obj, f.name, None) for f in dataclasses.fields(obj)}
        if isinstance(obj, Mapping):
            return dict(obj)
        number = _number(obj)
        if number is not None:
            return number
        model_dump = getattr(obj, "model_dump", None)  # pydantic models, e.g. SDK responses
        if callable(model_dump):
            dumped = model_dump(mode="json")
            if isinstance(dumped, dict):
                return dumped
    except Exception:
        pass
    return safe_repr(obj)


def json_default(obj: Any) -> Any:
    """orjson's fallback for types it does not know; returns something readable, never raises."""
    return to_json_form(obj)


def _json_key(key: object) -> str:
    if isinstance(key, str):
        return clean_str(key)
    if key is None or isinstance(key, bool):
        return orjson.dumps(key).decode()
    return safe_str(key)


def sanitize(obj: Any, depth: int = 0, seen: set[int] | None = None) -> Any:
    """A copy of `obj` made only of values orjson renders without error.

    Cycles become `"[circular]"`, nesting past `MAX_DEPTH` becomes `"[max depth]"`.
    """
    kind = type(obj)
    if obj is None or kind is bool or kind is float:
        return obj
    if kind is str:
        return clean_str(obj)
    if kind is int:
        return safe_int(obj)
    if isinstance(obj, NATIVE_LEAVES):
        return obj
    if depth >= MAX_DEPTH:
        return "[max depth]"
    if seen is None:
        seen = set()
    if kind is dict or kind is list or kind is tuple:
        if id(obj) in seen:
            return "[circular]"
        seen.add(id(obj))
        try:
            if kind is dict:
                items = list(islice(dict.items(obj), MAX_ITEMS))
                out = {_json_key(k): sanitize(v, depth + 1, seen) for k, v in items}
                if len(obj) > MAX_ITEMS:
                    out[ITEMS_KEY] = ITEMS_MARKER.format(len(obj) - MAX_ITEMS)
                return out
            values = [sanitize(v, depth + 1, seen) for v in islice(obj, MAX_ITEMS)]
            if len(obj) > MAX_ITEMS:
                values.append(ITEMS_MARKER.format(len(obj) - MAX_ITEMS))
            return values
        finally:
            seen.discard(id(obj))
    converted = to_json_form(obj)
    if type(converted) is str:
        return clean_str(converted)
    return sanitize(converted, depth + 1, seen)


def _truncate(obj: Any, max_chars: int) -> Any:
    """Cut long strings and long lists of sanitized data down to about `max_chars` each."""
    if isinstance(obj, str):
        if len(obj) <= max_chars:
            return obj
        return obj[:max_chars] + TRUNCATED_MARKER.format(len(obj) - max_chars)
    if isinstance(obj, dict):
        return {k: _truncate(v, max_chars) for k, v in obj.items()}
    if isinstance(obj, list):
        max_items = max(1, max_chars // 8)
        items = [_truncate(v, max_chars) for v in obj[:max_items]]
        if len(obj) > max_items:
            items.append(TRUNCATED_MARKER.format(len(obj) - max_items).replace("chars", "items"))
        return items
    return obj


def _dumps(event_dict: Mapping[str, Any]) -> bytes:
    return orjson.dumps(event_dict, default=json_default, option=LINE_OPTIONS)


def _shrink(event_dict: Mapping[str, Any], size: int, max_bytes: int) -> bytes:
    data = sanitize(event_dict)
    max_chars = max_bytes // 4
    while max_chars >= 64:
        trimmed = _truncate(data, max_chars)
        trimmed["truncated"] = True
        line = _dumps(trimmed)
        if len(line) <= max_bytes:
            return line
        max_chars //= 4
    # Too many fields to keep: the stamps survive, the rest is named.
    core = {k: _truncate(data[k], 1024) for k in CORE_FIELDS if k in data}
    dropped = [k for k in data if k not in core]
    core.update(truncated=True, record_bytes=size, dropped_fields=dropped[:50])
    return _dumps(core)


def render_line(event_dict: Mapping[str, Any], max_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> bytes:
    """One strict JSON line (newline included) of at most `max_bytes` (when `max_bytes` > 0)."""
    try:
        line = _dumps(event_dict)
    except Exception:
        try:
            line = _dumps(sanitize(event_dict))
        except Exception as exc:  # a last resort that only ever holds plain strings
            fallback = {k: safe_str(event_dict.get(k)) for k in CORE_FIELDS if k in event_dict}
            fallback["render_error"] = describe_exception(exc)
            line = _dumps(fallback)
    if max_bytes > 0 and len(line) > max_bytes:
        line = _shrink(event_dict, len(line), max_bytes)
    return line
