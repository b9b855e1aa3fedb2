"""Turn any event dict into exactly one strict JSON line, whatever the values hold.

The fast path is a single `orjson.dumps`. Values orjson cannot hold go through `json_default`;
what even that cannot fix (circular or very deep structures, lone surrogates, integers beyond
64 bits, non-string keys) makes the whole record take the slow path through `sanitize`, and a
line over the size limit is shrunk with visible markers. Rendering never raises, and a value
that cannot be rendered costs only itself, never the record's other fields.

`to_json_form` is the one definition of what a value JSON cannot hold becomes; the redactor
applies it during its own walk, so the renderer writes exactly what the redactor saw.

One record does bounded work whatever its values: a `Budget` of items and characters of text
(`record_budget`) is spent by every walk over it, a shared object each time it is reached, and
what lies past the budget is cut with the same markers as a long string or container. A record
still too long for `max_record_bytes` keeps every small field and cuts its largest values first.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import numbers
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from itertools import islice, repeat
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
CONTAINER_ITEMS = 8
"""What entering a dict or a list costs the budget beside its entries: about the work of as
many leaves, so that a tree of small containers (shared or not) runs into it as soon."""
SMALL_TEXT = 1024
"""A string up to this length is a small field: walked before the large ones, never cut first."""
_UNLIMITED = (2**62, 2**62)

LINE_OPTIONS = orjson.OPT_APPEND_NEWLINE
_INT_RANGE = range(-(2**63), 2**64)
NATIVE_LEAVES = (datetime, date, time, UUID)
"""Types orjson writes itself and that hold nothing but a date, a time or an id."""
_FLAT = frozenset({int, float, bool, type(None), *NATIVE_LEAVES})
FLAT_TEXT = frozenset({str, int, float, bool, type(None)})
"""The types of a record that `within_budget` accepts without a walk."""


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


def record_budget(max_record_bytes: int) -> tuple[int, int]:
    """The items and characters of text one record may visit: a sixteenth of
    `max_record_bytes` in items and twice it in text (at least those of the default size:
    16,384 items, 512 Ki characters); no limit when `max_record_bytes` is 0."""
    if max_record_bytes <= 0:
        return _UNLIMITED
    size = max(max_record_bytes, DEFAULT_MAX_RECORD_BYTES)
    return size // 16, 2 * size


class Budget:
    """What one record may still visit: `items` (entries of containers, counted each time they
    are reached) and `chars` (characters of strings and keys). `cut` is set when a value was
    cut, by the budget or by a per-value limit: the record then says `truncated`."""

    __slots__ = ("chars", "cut", "items")

    def __init__(self, items: int, chars: int) -> None:
        self.items = items
        self.chars = chars
        self.cut = False

    def text(self, text: str, limit: int) -> int:
        """How many characters of `text` to keep (at most `limit`), spent from the budget."""
        keep = min(len(text), limit, max(self.chars, 0))
        self.chars -= keep
        if keep < len(text):
            self.cut = True
        return keep


def within_budget(record: Mapping[str, Any], items: int, chars: int) -> bool:
    """Whether orjson can write `record` as it is within the budget: only JSON's own types and
    `NATIVE_LEAVES`, no container longer than `MAX_ITEMS` or deeper than `MAX_DEPTH`, at most
    `items` entries and `chars` characters. Stops as soon as the answer is no.

    A record of numbers and strings alone (most records) is answered in C, without a walk:
    writing it costs what the caller's own values take, once, and the line is then shrunk."""
    if type(record) is not dict:
        return False
    if FLAT_TEXT.issuperset(map(type, dict.values(record))):
        return True
    left = [items - len(record), chars]
    return left[0] >= 0 and _fits(dict.items(record), 0, left) and left[1] >= 0


def _fits(pairs: Any, depth: int, left: list[int]) -> bool:
    for key, value in pairs:
        if type(key) is str:
            left[1] -= len(key)
        kind = type(value)
        if kind is str:
            left[1] -= len(value)
            continue
        if kind in _FLAT:
            continue
        if kind is dict:
            inner: Any = dict.items(value)
        elif kind is list or kind is tuple:
            inner = zip(repeat(None), value)
        else:
            return False  # converted, and cut, on the slow path
        left[0] -= len(value) + CONTAINER_ITEMS
        if left[0] < 0 or left[1] < 0 or len(value) > MAX_ITEMS or depth >= MAX_DEPTH:
            return False
        if not _fits(inner, depth + 1, left):
            return False
    return True


def _array_form(obj: Any, limit: int) -> tuple[list[Any], bool] | None:
    """An array of another library (numpy, torch, jax, `array.array`: anything with a `tolist`
    and a `shape` or a length) as nested lists of at most `limit` numbers (a marker counting as
    one), cut along its first axis; the flag says whether it was cut. Never imports it."""
    tolist = getattr(obj, "tolist", None)
    if not callable(tolist):
        return None
    shape = getattr(obj, "shape", None)
    if isinstance(shape, tuple) and shape and all(type(n) is int for n in shape):
        size, rows = math.prod(shape), shape[0]
    elif shape is None and hasattr(obj, "__len__") and hasattr(obj, "__getitem__"):
        size = rows = len(obj)
    else:
        return None
    if size <= limit:
        out = tolist()
        return (out, False) if type(out) is list else None
    per_row = size // rows
    keep = max(limit - 1, 0) // per_row  # and a marker
    if keep:
        out = obj[:keep].tolist()
    else:  # one row alone is over the limit: that row, itself cut
        first = _array_form(obj[0], limit)
        out = [first[0]] if first is not None else []
        keep = len(out)
    if type(out) is not list:
        return None
    out.append(ITEMS_MARKER.format(rows - keep))
    return out, True


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

    Runs the value's own code (`repr`, `model_dump`, `item`, `tolist`, `__iter__`) at most
    once, so callers convert each value once and keep the result; never raises.
    """
    return json_form(obj, MAX_ITEMS)[0]


def json_form(obj: Any, limit: int) -> tuple[Any, bool]:
    """`to_json_form`, with copies of foreign containers and arrays cut to `limit` items (a
    last one the marker), and whether the value was cut."""
    try:
        if isinstance(obj, str):
            return str.__str__(obj), False
        if isinstance(obj, enum.Enum):
            return obj.value, False
        if isinstance(obj, int):  # bool cannot be subclassed: this is an int subclass
            return safe_int(obj), False
        if isinstance(obj, float):  # numpy's float64 is one
            return float(obj), False
        if isinstance(obj, dict):
            return _cut_dict(dict.items(obj), len(obj), limit)
        fields = getattr(type(obj), "_fields", None)
        if isinstance(obj, tuple) and isinstance(fields, tuple):  # a namedtuple: by field name
            return dict(zip(map(str, fields), obj, strict=False)), False
        if isinstance(obj, (list, tuple)):
            return _cut_list(obj, len(obj), limit)
        if isinstance(obj, (bytes, bytearray, memoryview)):
            return bytes(obj).decode("utf-8", "backslashreplace"), False
        if isinstance(obj, (set, frozenset)):
            if len(obj) <= limit:
                try:
                    return sorted(obj), False
                except TypeError:
                    return list(obj), False
            return _cut_list(obj, len(obj), limit)
        if isinstance(obj, BaseException):
            return describe_exception(obj), False
        if isinstance(obj, (Decimal, PurePath, complex)):
            return str(obj), False
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return {f.name: getattr(obj, f.name, None) for f in dataclasses.fields(obj)}, False
        if isinstance(obj, Mapping):
            return _cut_dict(obj.items(), len(obj), limit)
        array = _array_form(obj, limit)
        if array is not None:
            return array
        number = _number(obj)
        if number is not None:
            return number, False
        model_dump = getattr(obj, "model_dump", None)  # pydantic models, e.g. SDK responses
        if callable(model_dump):
            dumped = model_dump(mode="json")
            if isinstance(dumped, dict):
                return dumped, False
    except Exception:
        pass
    return safe_repr(obj), False


def _cut_list(items: Any, size: int, limit: int) -> tuple[list[Any], bool]:
    if size <= limit:
        return list(items), False
    out = list(islice(items, max(limit - 1, 0)))
    out.append(ITEMS_MARKER.format(size - len(out)))
    return out, True


def _cut_dict(items: Any, size: int, limit: int) -> tuple[dict[Any, Any], bool]:
    if size <= limit:
        return dict(items), False
    out = dict(islice(items, max(limit - 1, 0)))
    out[ITEMS_KEY] = ITEMS_MARKER.format(size - len(out))
    return out, True


def json_default(obj: Any) -> Any:
    """orjson's fallback for types it does not know; returns something readable, never raises."""
    return to_json_form(obj)


def _json_key(key: object) -> str:
    if isinstance(key, str):
        return clean_str(key)
    if key is None or isinstance(key, bool):
        return orjson.dumps(key).decode()
    return safe_str(key)


def sanitize(
    obj: Any, depth: int = 0, seen: set[int] | None = None, budget: Budget | None = None
) -> Any:
    """A copy of `obj` made only of values orjson renders without error, within `budget`.

    Cycles become `"[circular]"`, nesting past `MAX_DEPTH` becomes `"[max depth]"`; what lies
    past the budget is cut with the usual markers.
    """
    budget = Budget(*_UNLIMITED) if budget is None else budget
    return _sanitize(obj, depth, set() if seen is None else seen, budget)


def bound_record(record: Mapping[Any, Any], budget: Budget) -> dict[str, Any]:
    """`sanitize` of a whole record, its small fields first: a large value may exhaust the
    budget, but never at the cost of an id or a count logged beside it."""
    pairs = list(islice(dict.items(record) if type(record) is dict else record.items(),
                        max(budget.items, 0)))  # fmt: skip
    values: list[Any] = [_cut_marker] * len(pairs)
    seen: set[int] = set()
    texts_left = sum(type(v) is str and len(v) > SMALL_TEXT for _, v in pairs)
    for index in sorted(range(len(pairs)), key=lambda i: cost_order(pairs[i][1])):
        if budget.items <= 0:
            break
        budget.items -= 1
        value = pairs[index][1]
        if type(value) is str and len(value) > SMALL_TEXT:  # long texts share what is left
            values[index] = cut_text(value, budget, max(budget.chars, 0) // texts_left)
            texts_left -= 1
        else:
            values[index] = _sanitize(value, 1, seen, budget)
    out = {_json_key(key): value for (key, _), value in zip(pairs, values, strict=True)
           if value is not _cut_marker}  # fmt: skip
    if len(out) < len(record):
        out[ITEMS_KEY] = ITEMS_MARKER.format(len(record) - len(out))
        budget.cut = True
    return out


def cost_order(value: Any) -> tuple[int, int]:
    """The order in which a record's fields spend its budget: small fields first, then long
    strings from the shortest, then the rest in order. So every small field is kept, and the
    largest values are the ones cut."""
    if is_small(value):
        return 0, 0
    return (1, len(value)) if type(value) is str else (2, 0)


def is_small(value: Any) -> bool:
    """A value that costs little to keep whole: a number, a bool, None, a short string."""
    kind = type(value)
    return kind in _FLAT or (kind is str and len(value) <= SMALL_TEXT)


_cut_marker = object()


def cut_text(text: str, budget: Budget, limit: int) -> str:
    """`text` as valid UTF-8 within `budget` and `limit`, cut with a marker."""
    keep = budget.text(text, limit)
    if keep == len(text):
        return clean_str(text)
    return clean_str(text[:keep]) + TRUNCATED_MARKER.format(len(text) - keep)


def _sanitize(obj: Any, depth: int, seen: set[int], budget: Budget) -> Any:
    kind = type(obj)
    if obj is None or kind is bool or kind is float:
        return obj
    if kind is str:
        if len(obj) <= budget.chars:
            budget.chars -= len(obj)
            return clean_str(obj)
        return cut_text(obj, budget, len(obj))
    if kind is int:
        return safe_int(obj)
    if isinstance(obj, NATIVE_LEAVES):
        return obj
    if depth >= MAX_DEPTH:
        return "[max depth]"
    if kind is dict or kind is list or kind is tuple:
        if id(obj) in seen:
            return "[circular]"
        seen.add(id(obj))
        try:
            size, kept = len(obj), 0
            budget.items -= CONTAINER_ITEMS
            room = min(size, MAX_ITEMS, max(budget.items, 0))
            if kind is dict:
                out: dict[str, Any] = {}
                for key, value in list(islice(dict.items(obj), room)):
                    if budget.items <= 0:
                        break
                    budget.items -= 1
                    kept += 1
                    name = _json_key(key)
                    if len(name) > SMALL_TEXT or len(name) > budget.chars:
                        name = cut_text(name, budget, SMALL_TEXT)
                    else:
                        budget.chars -= len(name)
                    out[name] = _sanitize(value, depth + 1, seen, budget)
                if kept < size:
                    out[ITEMS_KEY] = ITEMS_MARKER.format(size - kept)
                    budget.cut = True
                return out
            values = []
            for value in list(islice(obj, room)):
                if budget.items <= 0:
                    break
                budget.items -= 1
                values.append(_sanitize(value, depth + 1, seen, budget))
            if len(values) < size:
                values.append(ITEMS_MARKER.format(size - len(values)))
                budget.cut = True
            return values
        finally:
            seen.discard(id(obj))
    converted, cut = json_form(obj, min(MAX_ITEMS, budget.items))
    budget.cut = budget.cut or cut
    if type(converted) is str:
        return cut_text(converted, budget, len(converted))
    return _sanitize(converted, depth + 1, seen, budget)


# -- shrinking a record to max_record_bytes: small fields kept, the largest values cut first --

_ITEMS_COUNT = re.compile(re.escape(ITEMS_MARKER).replace(r"\{\}", r"(\d+)"))
_MIN_CUT = 48
"""Room below which a value is not cut but replaced by its marker alone."""
_SHRINK_DEPTH = 24
"""Levels a cut descends into; deeper, a value that does not fit is replaced by a marker."""


def _size(value: Any) -> int:
    return len(orjson.dumps(value, default=json_default))


def _fit(value: Any, room: int, depth: int) -> Any:
    """`value` (sanitized) cut so that its JSON takes at most about `room` bytes."""
    kind = type(value)
    if kind is str:
        return _fit_text(value, room)
    if kind is dict and depth < _SHRINK_DEPTH:
        return _fit_dict(value, room, depth)
    if kind is list and depth < _SHRINK_DEPTH:
        return _fit_list(value, room, depth)
    if kind in _FLAT:
        return value
    return TRUNCATED_MARKER.format(_size(value))


def _fit_text(text: str, room: int) -> str:
    size = _size(text)
    if size <= room:
        return text
    marker = TRUNCATED_MARKER.format(len(text))
    keep = int((room - len(marker) - 2) * len(text) / size)  # escapes make some chars longer
    while keep > 0 and _size(text[:keep]) + len(marker) > room:
        keep = keep * 3 // 4
    keep = max(keep, 0)
    return text[:keep] + TRUNCATED_MARKER.format(len(text) - keep)


def _lost(marker: Any) -> int:
    """The count in an items marker that an earlier cut left, else 0."""
    found = _ITEMS_COUNT.fullmatch(marker) if type(marker) is str else None
    return int(found.group(1)) if found else 0


def _fit_list(items: list[Any], room: int, depth: int) -> list[Any]:
    room -= 2 + len(ITEMS_MARKER) + 24  # brackets, and a marker with its count
    earlier = _lost(items[-1]) if items else 0  # a cut by the budget: counted in the new one
    if earlier:
        items = items[:-1]
    out: list[Any] = []
    for item in items:
        size = _size(item) + 1
        if size > room:
            if room >= _MIN_CUT and not is_small(item):
                out.append(_fit(item, room - 1, depth + 1))
            break
        out.append(item)
        room -= size
    if len(out) < len(items) or earlier:
        out.append(ITEMS_MARKER.format(len(items) - len(out) + earlier))
    return out


def _fit_dict(fields: dict[str, Any], room: int, depth: int) -> dict[str, Any]:
    """Every field whose share of `room` holds it is kept whole; the larger ones share the
    rest equally. With too many fields for even that, the smallest are kept, in order."""
    sizes = {key: _size(key) + _size(value) + 2 for key, value in fields.items()}
    room -= 2 + len(ITEMS_KEY) + len(ITEMS_MARKER) + 32
    if sum(sizes.values()) <= room:
        return fields
    left, cap = room, None
    ordered = sorted(sizes, key=sizes.__getitem__)
    for index, key in enumerate(ordered):
        share = left // (len(ordered) - index)
        if sizes[key] > share:
            cap = share
            break
        left -= sizes[key]
    out: dict[str, Any] = {}
    if cap is not None and cap >= _MIN_CUT:
        for key, value in fields.items():
            if sizes[key] <= cap:
                out[key] = value
            else:
                out[key] = _fit(value, cap - _size(key) - 2, depth + 1)
        return out
    left = room
    keep = set()
    for key in sorted(ordered, key=lambda key: key not in CORE_FIELDS):  # stable: by size
        if sizes[key] > left:
            break
        keep.add(key)
        left -= sizes[key]
    out = {key: value for key, value in fields.items() if key in keep}
    earlier = _lost(fields.get(ITEMS_KEY))  # a cut by the budget: counted in the new one
    if earlier:
        out.pop(ITEMS_KEY, None)
    out[ITEMS_KEY] = ITEMS_MARKER.format(len(fields) - (earlier > 0) - len(out) + earlier)
    return out


def _dumps(event_dict: Mapping[str, Any]) -> bytes:
    return orjson.dumps(event_dict, default=json_default, option=LINE_OPTIONS)


def _shrink(data: dict[str, Any], size: int, max_bytes: int) -> bytes:
    """A line of at most `max_bytes` from sanitized `data` whose line took `size` bytes."""
    room = max_bytes - len(b',"truncated":true}\n')
    for _ in range(4):
        trimmed = _fit_dict(data, room, 0)
        trimmed["truncated"] = True
        line = _dumps(trimmed)
        if len(line) <= max_bytes:
            return line
        room -= len(line) - max_bytes + room // 16  # estimates of cut text ran over
    # Too many fields to keep: the stamps survive, the rest is named.
    core = {k: _fit(data[k], 1024, 0) for k in CORE_FIELDS if k in data}
    dropped = [k for k in data if k not in core]
    core.update(truncated=True, record_bytes=size, dropped_fields=dropped[:50])
    return _dumps(core)


def render_line(
    event_dict: Mapping[str, Any],
    max_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    *,
    bounded: bool = False,
) -> bytes:
    """One strict JSON line (newline included) of at most `max_bytes` (when `max_bytes` > 0),
    made with work bounded by `record_budget(max_bytes)`; `bounded`: the record is known to be
    within it (the redactor made it so)."""
    data: Any = event_dict
    try:
        if not bounded:
            budget = Budget(*record_budget(max_bytes))
            if not within_budget(event_dict, budget.items, budget.chars):
                data = bound_record(event_dict, budget)
                if budget.cut:
                    data["truncated"] = True
        line = _dumps(data)
    except Exception:
        try:
            data = bound_record(event_dict, Budget(*record_budget(max_bytes)))
            line = _dumps(data)
        except Exception as exc:
            return _last_resort(event_dict, exc)
    if max_bytes > 0 and len(line) > max_bytes:
        try:
            return _shrink(data, len(line), max_bytes)
        except Exception as exc:
            return _last_resort(event_dict, exc)
    return line


def _last_resort(event_dict: Mapping[str, Any], exc: Exception) -> bytes:
    """A record that only ever holds plain strings: the stamps and what went wrong."""
    fallback = {k: safe_str(event_dict.get(k))[:1024] for k in CORE_FIELDS if k in event_dict}
    fallback["render_error"] = describe_exception(exc)
    return _dumps(fallback)
