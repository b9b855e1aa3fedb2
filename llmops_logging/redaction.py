"""Redaction: secrets never reach the log file.

The invariant: what is written is exactly what the redactor saw. Two rules run over every
key and value of a record except the stamps the library makes itself (`ts`, `event_id`,
`seq`, `pid`, `level`; the message, `kind`, `logger` and `run_id` are scanned): the value of a
sensitive key is replaced whole (a header list's `("Authorization", value)` pair too), and a
secret-shaped piece of any string or key (API keys, bearer tokens, JWTs, cloud keys and
signatures, vendor tokens, PEM private keys, `password=...` pairs, passwords in URLs) is
replaced where it stands. Either way the secret becomes `[REDACTED]` and the record's
`redacted` field lists where, as dotted paths built from the redacted keys.

A value JSON cannot hold (an Enum, a dataclass, a namedtuple, bytes, a numpy scalar, any
object) is converted by `_render.to_json_form` inside the walk, once, and the record keeps the
converted form, so the renderer never converts (or calls `repr`) on its own. Work per record is
bounded and linear: strings are cut at `max_text` characters before they are scanned (the scan
reads a margin past the cut, so no secret is cut in half unseen), containers at `MAX_ITEMS`, and
the whole record at the items and characters of its `Budget`, small fields first: what the
budget leaves out is cut with a marker, never written unscanned.

Three parts: the secret scanner (`_secret_scan`: where a string holds a secret, and
replacing it), the key classifier (`_key_classes`: what a key's name says, cached) and this
processor, which walks the record with them. Most records hold no secret, so that case is
kept cheap: one walk over the fields gathers the strings long enough to hold a secret
(strings seen clean recently are skipped) and the scanner searches them once, joined.
Anything else (a key holding a secret, a value to convert, a very long string or container)
takes the slow path. Nothing is copied unless something changes, and containers that belong
to the caller are copied, never changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from itertools import islice, repeat
from typing import Any

from ._contract import CORE_FIELDS, EVENT, KIND, LOGGER, RUN_ID, EventDict
from ._key_classes import (
    CACHE_SIZE,
    CLEAN_MAX_LEN,
    CONTRACT_FIELDS,
    GENERATED,
    LEAK,
    RUN_ENDS,
    SENSITIVE,
    SKIP,
    TALLY,
    USAGE,
    KeyClassifier,
    hides,
    is_tally,
)
from ._redaction_rules import _compile, _key_names, _sequence
from ._render import (
    CONTAINER_ITEMS,
    DEFAULT_MAX_RECORD_BYTES,
    ITEMS_KEY,
    ITEMS_MARKER,
    MAX_DEPTH,
    MAX_ITEMS,
    NATIVE_LEAVES,
    SMALL_TEXT,
    TRUNCATED_MARKER,
    Budget,
    _json_key,
    cost_order,
    is_small,
    json_form,
    record_budget,
    safe_int,
    sanitize,
)
from ._secret_scan import MARKER, SecretScanner

__all__ = ["MARKER", "RedactionSettings", "Redactor", "message_args"]

RedactionSettings = bool | Mapping[str, Any] | None
"""`True` (the built-in rules), `False` / `None` (off), or a mapping of extra rules."""

_OPTIONS = frozenset({"keys", "patterns", "allow"})
_USE = "keys, patterns, allow"
PLAIN_SCALARS = frozenset({int, float, bool, type(None)})
"""Types of values that never hold a secret and JSON holds as they are."""
_LEAVES = frozenset(NATIVE_LEAVES)
_CALLERS_STAMPS = frozenset({EVENT, KIND, RUN_ID})
"""Fields of an event before its stamps that become stamps as they are: the message, the
kind and the context's run id (strings, scanned as any value)."""
_STAMPED = frozenset({*CORE_FIELDS, "exc_info", "stack_info"})
"""Fields the Stamper moves or turns into others (a user's `ts`, `exc_info`)."""
_CUT_MARGIN = 4096
"""Characters scanned past the cut of a long string: more than any secret shape needs."""


def _path(parent: str, key: Any) -> str:
    name = key if type(key) is str else str(key)
    return f"{parent}.{name}" if parent else name


def _header_name(item: Any) -> str | None:
    """The name of a `(name, value)` header pair, as str, or None when `item` is no pair."""
    name = item[0]
    if type(name) is str:
        return name
    if type(name) in (bytes, bytearray):
        return bytes(name).decode("utf-8", "replace")
    return None


class _Walk(Budget):
    """The state of one slow-path walk: its budget, the paths replaced, the containers being
    walked (for cycles) and each converted object's form, so that its own code runs only once."""

    __slots__ = ("active", "converted", "paths", "text_limit")

    def __init__(self, items: int, chars: int, text_limit: int) -> None:
        super().__init__(items, chars)
        self.text_limit = text_limit  # the longest string kept: `max_text`, or a share of it
        self.paths: list[str] = []
        self.active: set[int] = set()
        self.converted: dict[int, tuple[Any, Any]] = {}

    def convert(self, value: Any) -> Any:
        hit = self.converted.get(id(value))
        if hit is None:
            form, cut = json_form(value, min(MAX_ITEMS, self.items))
            self.cut = self.cut or cut
            hit = self.converted[id(value)] = (value, form)
        return hit[1]


class Redactor:
    """Processor that replaces secrets by `[REDACTED]` and lists their paths in `redacted`.

    `keys` adds sensitive key names (whole names; case, `-`, `_` and camelCase do not
    matter); `patterns` adds regexes whose matches are replaced in any string; `allow` names
    keys that are never redacted, neither by name nor inside their value. Strings longer than
    `max_text` characters are cut there, before they are scanned; a record visits at most the
    `record_budget` of `max_record_bytes`.
    """

    def __init__(
        self,
        keys: Iterable[str] = (),
        patterns: Iterable[str | re.Pattern[str]] = (),
        allow: Iterable[str] = (),
        max_text: int = DEFAULT_MAX_RECORD_BYTES,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    ) -> None:
        keys_ = _key_names("keys", keys)
        allow_ = _key_names("allow", allow)
        patterns_ = [_compile(p) for p in _sequence("patterns", patterns)]
        self.scanner = SecretScanner(keys_, allow_, patterns_)
        self.max_text = max_text
        self.max_items, self.max_chars = record_budget(max_record_bytes)
        scanner = self.scanner
        self.classifier = KeyClassifier(keys_, allow_, scanner.holds_secret, scanner.min_pair_len)
        # What the fast check reads on every record, as attributes of its own.
        self._min_pair_len, self._min_shape_len = scanner.min_pair_len, scanner.min_shape_len
        self._clean = scanner.clean  # strings recently found to hold no secret
        self._clean_stamps: set[Any] = {None}  # the same for kind, logger and run_id
        self._flag_cache = self.classifier.cache
        self._top_flags, self._end_flags = self.classifier.top, self.classifier.end
        self._plain_keys: dict[tuple[Any, ...], bool] = {}  # the fused path's key tuples

    @classmethod
    def from_settings(
        cls, settings: RedactionSettings, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    ) -> Redactor | None:
        """The redactor `configure(redact=...)` asks for; None when redaction is off."""
        if settings is None or settings is False:
            return None
        if settings is True:
            return cls(max_record_bytes=max_record_bytes)
        if not isinstance(settings, Mapping):
            raise TypeError(
                f"redact must be True, False, None or a mapping of {_USE}, not {settings!r}"
            )
        unknown = sorted(map(str, set(settings) - _OPTIONS))
        if unknown:
            raise ValueError(f"unknown redact option(s) {', '.join(unknown)}; use {_USE}")
        return cls(**{str(k): v for k, v in settings.items()}, max_record_bytes=max_record_bytes)

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        try:
            try:  # the fast check: does the record surely hold nothing to replace or convert?
                kind = event_dict.get(KIND)  # the closing record of a run has its own table
                table = (
                    self._end_flags if type(kind) is str and kind in RUN_ENDS else self._top_flags
                )
                plain = table.get
                min_pair, min_shape, clean = self._min_pair_len, self._min_shape_len, self._clean
                texts: list[str] | None = None  # made only when a string needs a scan
                rest: list[tuple[Any, Any]] | None = None  # what the loop does not settle
                slow = len(event_dict) > self.max_items  # a budget of items and text
                chars = 0
                stamp_names = CONTRACT_FIELDS
                for key, value in () if slow else event_dict.items():
                    if key in stamp_names:  # the stamps: below (a set difference costs more)
                        continue
                    shape = type(value)
                    if shape is str:
                        if plain(key) == 0:  # under a plain key: the rule of _collect for text
                            size = len(value)
                            if size < min_pair or (
                                size < min_shape
                                and ":" not in value
                                and "=" not in value
                                and "%" not in value
                            ):
                                continue
                            chars += size
                            if size > self.max_text:
                                slow = True
                            elif value not in clean:
                                if texts is None:
                                    texts = [value]
                                else:
                                    texts.append(value)
                            continue
                    elif shape in PLAIN_SCALARS and plain(key) == 0:
                        continue
                    if rest is None:
                        rest = [(key, value)]
                    else:
                        rest.append((key, value))
                # The stamps a caller can set recur from record to record: one look each.
                stamps = self._clean_stamps
                if (
                    texts is None
                    and rest is None
                    and not slow
                    and chars <= self.max_chars
                    and kind in stamps
                    and event_dict.get(LOGGER) in stamps
                    and event_dict.get(RUN_ID) in stamps
                ):
                    return event_dict  # the common case: nothing to scan, nothing to replace
                if (
                    kind not in stamps
                    or event_dict.get(LOGGER) not in stamps
                    or event_dict.get(RUN_ID) not in stamps
                ):
                    slow = slow or self._stamps_hold_secret(
                        (kind, event_dict.get(LOGGER), event_dict.get(RUN_ID))
                    )
                if not slow and rest is not None:
                    if texts is None:
                        texts = []
                    left = [self.max_items - len(event_dict), self.max_chars - chars]
                    slow = self._collect(rest, 0, texts, table, left) or left[1] < 0
                elif chars > self.max_chars:
                    slow = True
                if not slow and texts:
                    slow = self.scanner.texts_hold_secret(texts)
            except Exception:  # a key that cannot hash, a value that lies about its type
                slow = True
            if slow:
                self._redact_record(event_dict)
            return event_dict
        except Exception as exc:  # never raise into the caller, never write what was unscanned
            return self._failure_record(event_dict, exc)

    def fields_clean(self, fields: EventDict, logger_name: Any) -> bool:
        """The fast check of the fused write path (`_fused`), before the stamps: True when
        `fields` (the caller's, with `event`, `kind` and `run_id`) and the logger's name
        surely hold nothing to replace or convert, so the stamped record needs no walk.

        Keys are judged once per tuple of keys: all plain (no stamp's name, none sensitive,
        none that the Stamper turns into another field) or not. Strings are judged by the
        scanner, which remembers the clean ones; anything else is for `__call__`."""
        try:
            keys = tuple(fields)
            plain = self._plain_keys.get(keys)
            if plain is None:
                plain = self._judge_keys(keys)
            if not plain or len(keys) + len(CORE_FIELDS) > self.max_items:
                return False
            clean, max_text = self._clean, self.max_text
            texts: list[str] | None = None
            chars = 0
            for value in fields.values():
                shape = type(value)
                if shape is str:
                    size = len(value)
                    chars += size
                    if value in clean:
                        continue
                    if size > max_text:
                        return False
                    if texts is None:
                        texts = [value]
                    else:
                        texts.append(value)
                elif shape not in PLAIN_SCALARS:
                    return False
            if chars > self.max_chars or logger_name not in self._clean_stamps:
                return False
            return texts is None or self.scanner.all_clean(texts)
        except Exception:  # a value that lies about its type: the full check decides
            return False

    @property
    def clean_stamps(self) -> set[Any]:
        """The `kind`, logger names and run ids found clean (filled by the checks)."""
        return self._clean_stamps

    def keys_plain(self, keys: tuple[Any, ...]) -> bool:
        """Whether the caller's `keys` are all plain: none sensitive, none a stamp's name
        (but `event`, `kind`, `run_id`), none the Stamper turns into another field."""
        plain = self._plain_keys.get(keys)
        return self._judge_keys(keys) if plain is None else plain

    def _judge_keys(self, keys: tuple[Any, ...]) -> bool:
        plain = all(
            key in _CALLERS_STAMPS
            or (
                type(key) is str
                and key not in _STAMPED
                and len(key) <= CLEAN_MAX_LEN
                and self.classifier.flags(key) == 0
                and self._end_flags.get(key, 0) == 0
            )
            for key in keys
        )
        if len(self._plain_keys) >= CACHE_SIZE:
            self._plain_keys.clear()
        self._plain_keys[keys] = plain
        return plain

    def _stamps_hold_secret(self, stamps: tuple[Any, ...]) -> bool:
        """Whether `kind`, `logger` or `run_id` needs the slow path; clean ones are remembered."""
        for stamp in stamps:
            if stamp is None or stamp in self._clean_stamps:
                continue
            if (
                type(stamp) is not str
                or len(stamp) > CLEAN_MAX_LEN
                or self.scanner.holds_secret(stamp)
            ):
                return True
            if len(self._clean_stamps) >= CACHE_SIZE:
                self._clean_stamps.clear()
            self._clean_stamps.add(stamp)
        return False

    def scrub(self, text: str) -> str:
        """`text` with every secret in it replaced; the same object when it holds none."""
        return self.scanner.scrub(text)

    def message_args(self, args: Mapping[Any, Any]) -> dict[Any, Any]:
        """The mapping of a `"%(name)s"` message with the values of sensitive keys replaced,
        so that formatting the message cannot put them in it."""
        hidden = self.classifier.hidden
        return {key: MARKER if hidden(key, value) else value for key, value in args.items()}

    # -- the fast check: could this record hold a secret? ---------------------------------

    def _collect(
        self,
        pairs: Iterable[tuple[Any, Any]],
        depth: int,
        texts: list[str],
        table: dict[Any, int],
        left: list[int],
    ) -> bool:
        """Gather the strings worth scanning into `texts`; True when the slow path is needed:
        a key alone, a value to convert, a long string or container, deep nesting, more items
        than `left[0]` (the characters gathered are taken from `left[1]`). Hot, so flat and
        without cycle tracking: a cycle runs into the budget or the depth limit."""
        min_pair, min_shape, clean = self._min_pair_len, self._min_shape_len, self._clean
        max_text, cached = self.max_text, table.get
        for key, value in pairs:
            flags = cached(key)
            if flags is None:
                if type(key) is not str or len(key) > CLEAN_MAX_LEN:  # on the slow path
                    return True
                left[1] -= len(key)
                flags = self.classifier.flags(key)
                if len(table) < CACHE_SIZE and len(key) <= CLEAN_MAX_LEN:
                    table[key] = flags
            if flags:
                if flags & SKIP:  # unscanned, but within the budget
                    if is_small(value):
                        continue
                    return True
                if flags & TALLY and is_tally(value):
                    continue
                if flags & LEAK or (flags & SENSITIVE and hides(value, flags)):
                    return True
            kind = type(value)
            if kind is str:
                size = len(value)
                if size >= min_shape or (
                    size >= min_pair and (":" in value or "=" in value or "%" in value)
                ):
                    if size > max_text:
                        return True
                    left[1] -= size
                    if value not in clean:
                        texts.append(value)
                continue
            if kind in PLAIN_SCALARS:
                continue  # an int beyond 64 bits: the renderer writes its digits
            if kind is dict:
                left[0] -= len(value) + CONTAINER_ITEMS
                if len(value) > MAX_ITEMS or left[0] < 0:
                    return True
                inner: Iterable[tuple[Any, Any]] = value.items()
            elif kind is list or kind is tuple:
                left[0] -= len(value) + CONTAINER_ITEMS
                if len(value) > MAX_ITEMS or left[0] < 0:
                    return True
                if (  # a ("Cookie", value) pair?
                    len(value) == 2 and type(value[0]) is str and len(value[0]) <= CLEAN_MAX_LEN
                ):
                    pair_flags = self.classifier.flags(value[0])
                    if pair_flags & SENSITIVE and hides(value[1], pair_flags):
                        return True
                inner = zip(repeat(None), value)
            elif kind in _LEAVES:
                continue
            else:
                return True  # converted once, on the slow path
            if depth >= MAX_DEPTH or self._collect(inner, depth + 1, texts, self._flag_cache, left):
                return True
        return False

    # -- the slow path: convert and replace ----------------------------------------------------

    def _failure_record(self, event_dict: EventDict, exc: Exception) -> EventDict:
        """The stamps alone, for a record whose redaction failed: the caller's ones scrubbed."""
        record = {k: event_dict[k] for k in CORE_FIELDS if k in event_dict}
        for key in CONTRACT_FIELDS - GENERATED:
            if key in record:
                try:
                    value = record[key]
                    record[key] = self.scanner.scrub(value) if type(value) is str else MARKER
                except Exception:
                    record[key] = MARKER
        record.update(event=MARKER, redacted=["*"], redaction_error=type(exc).__name__)
        return record

    def _redact_record(self, event_dict: EventDict) -> None:
        """Redact in place, small fields first: a large value may exhaust the budget, but
        never at the cost of an id or a count logged beside it."""
        walk = _Walk(self.max_items, self.max_chars, self.max_text)
        top_flags = self.classifier.table(event_dict)
        fields = list(event_dict.items())
        lost = 0
        if len(fields) > self.max_items:  # more fields than the budget: the stamps stay
            over = [k for k, _ in fields[self.max_items :] if k not in CONTRACT_FIELDS]
            for key in over:
                del event_dict[key]
            lost = len(over)
            fields = fields[: self.max_items] + [
                field for field in fields[self.max_items :] if field[0] in CONTRACT_FIELDS
            ]
        fields.sort(key=lambda field: cost_order(field[1]))
        texts_left = sum(type(v) is str and len(v) > SMALL_TEXT for _, v in fields)
        for key, value in fields:
            if key in GENERATED:
                continue
            if walk.items <= 0 and key not in CONTRACT_FIELDS:
                del event_dict[key]  # the budget is spent: what is not scanned is not written
                lost += 1
                continue
            walk.items -= 1
            flags = top_flags.get(key) if type(key) is str else None
            if flags is None or flags & LEAK:
                name, flags = self._key(key, top_flags, walk.paths, "")
            else:
                name = key
            if flags & TALLY and is_tally(value):
                continue
            if type(value) is str and len(value) > SMALL_TEXT:  # long texts share what is left
                walk.text_limit = min(self.max_text, max(walk.chars, 0) // texts_left)
                texts_left -= 1
            new = self._redact_value(name, flags, value, "", 0, walk)
            walk.text_limit = self.max_text
            if name is not key:
                del event_dict[key]
                event_dict[_unique(name, event_dict)] = new
            elif new is not value:
                event_dict[key] = new
        if lost:
            event_dict[_unique(ITEMS_KEY, event_dict)] = ITEMS_MARKER.format(lost)
            walk.cut = True
        if walk.paths:  # a key and its value replaced: one path
            event_dict["redacted"] = list(dict.fromkeys(walk.paths))
        if walk.cut:
            event_dict["truncated"] = True

    def _key(
        self, key: Any, table: dict[Any, int], paths: list[str], parent: str
    ) -> tuple[str, int]:
        """A key as it will be written (text, its secrets replaced, cut past `SMALL_TEXT`
        characters after a scan that reads a margin beyond) and its flags."""
        name = key if type(key) is str else _json_key(key)  # no hashing of foreign keys
        size = len(name)
        if size > SMALL_TEXT:
            name = name[: SMALL_TEXT + _CUT_MARGIN]
        flags = table.get(name)
        if flags is None:
            flags = self.classifier.flags(name)
        if flags & LEAK:
            name = self.scanner.scrub(name)
            paths.append(_path(parent, name))
        if size > SMALL_TEXT:
            name = name[:SMALL_TEXT] + TRUNCATED_MARKER.format(size - SMALL_TEXT)
        return name, flags

    def _redact_value(
        self, name: str | None, flags: int, value: Any, parent: str, depth: int, walk: _Walk
    ) -> Any:
        """`value` (under the key `name`, of class `flags`, in the container at `parent`) as it
        will be written: the same object when nothing changes, else a converted or redacted
        copy. Paths are built only when needed."""
        if flags & SKIP:  # written unscanned, within the budget
            return value if is_small(value) else sanitize(value, depth, None, walk)
        kind = type(value)
        if flags & SENSITIVE:
            if kind not in PLAIN_SCALARS and kind is not str and flags & USAGE:
                value = walk.convert(value)  # a usage count from numpy is still a count
                kind = type(value)
            if hides(value, flags):
                walk.paths.append(_path(parent, name))
                return MARKER
        if kind is str:
            return self._redact_text(value, parent, name, walk)
        if kind in PLAIN_SCALARS:
            return safe_int(value) if kind is int else value
        for _ in range(MAX_DEPTH):  # each round converts one step (an Enum of a set, ...)
            if (
                kind is str
                or kind in PLAIN_SCALARS
                or kind is dict
                or kind is list
                or kind is tuple
            ):
                break
            if kind in _LEAVES or isinstance(value, NATIVE_LEAVES):
                return value
            value = walk.convert(value)
            kind = type(value)
        else:
            return "[max depth]"
        if kind is str:
            return self._redact_text(value, parent, name, walk)
        if kind in PLAIN_SCALARS:
            return safe_int(value) if kind is int else value
        if depth >= MAX_DEPTH:
            return "[max depth]"
        if id(value) in walk.active:
            return "[circular]"
        walk.active.add(id(value))
        try:
            here = _path(parent, name) if name is not None else parent
            if kind is dict:
                return self._redact_dict(value, here, depth, walk)
            return self._redact_list(value, here, depth, walk)
        finally:
            walk.active.discard(id(value))

    def _redact_dict(self, value: dict[Any, Any], here: str, depth: int, walk: _Walk) -> Any:
        size = len(value)
        walk.items -= CONTAINER_ITEMS
        items = list(islice(dict.items(value), min(size, MAX_ITEMS, max(walk.items, 0))))
        out: dict[str, Any] = {}
        changed = False
        cached = self._flag_cache.get
        kept = 0
        for key, item in items:
            if walk.items <= 0:
                break
            walk.items -= 1
            kept += 1
            flags = cached(key) if type(key) is str else None
            if flags is None or flags & LEAK:
                name, flags = self._key(key, self._flag_cache, walk.paths, here)
            else:
                name = key
            kind = type(item)
            if flags:
                new = self._redact_value(name, flags, item, here, depth + 1, walk)
            elif kind is str:  # the common leaves, without a call through _redact_value
                new = self._redact_text(item, here, name, walk)
            elif kind is float or kind is bool or item is None:
                new = item
            elif kind is int:
                new = safe_int(item)
            else:
                new = self._redact_value(name, flags, item, here, depth + 1, walk)
            if name is not key or new is not item:
                changed = True
            out[name if name not in out else _unique(name, out)] = new
        if kept < size:
            out[_unique(ITEMS_KEY, out)] = ITEMS_MARKER.format(size - kept)
            walk.cut = changed = True
        return out if changed or len(out) != kept else value

    def _redact_list(self, value: Any, here: str, depth: int, walk: _Walk) -> Any:
        size = len(value)
        walk.items -= CONTAINER_ITEMS
        items = list(islice(value, min(size, MAX_ITEMS, max(walk.items, 0))))
        pair_flags = 0
        if len(items) == 2:  # a ("Authorization", value) header pair, str or bytes
            header = _header_name(items)
            if header is not None and len(header) <= CLEAN_MAX_LEN:
                pair_flags = self.classifier.flags(header) & ~LEAK
        # in bulk: nothing to scan
        if not pair_flags and PLAIN_SCALARS.issuperset(map(type, items)):
            walk.items -= len(items)
            out = items
            changed = False
        else:
            out = []
            changed = False
            for index, item in enumerate(items):
                if walk.items <= 0:
                    break
                walk.items -= 1
                flags = pair_flags if index == 1 else 0
                if type(item) is str and not flags:
                    new = self._redact_text(item, here, str(index), walk)
                else:
                    new = self._redact_value(str(index), flags, item, here, depth + 1, walk)
                changed = changed or new is not item
                out.append(new)
        if len(out) < size:
            out.append(ITEMS_MARKER.format(size - len(out)))
            walk.cut = changed = True
        if not changed:
            return value
        return tuple(out) if type(value) is tuple else out

    def _redact_text(self, text: str, parent: str, name: str | None, walk: _Walk) -> str:
        size = len(text)
        if size <= walk.chars and size <= walk.text_limit:  # within the budget: spent inline
            walk.chars -= size
        else:  # cut, but scan past the cut: no secret is cut in half
            keep = walk.text(text, walk.text_limit)
            if not keep:  # nothing of it is written: nothing to scan
                return TRUNCATED_MARKER.format(size)
            window = text[: keep + _CUT_MARGIN]
            scrubbed = self.scanner.scrub(window)
            if scrubbed is not window:
                walk.paths.append(_path(parent, name))
            return scrubbed[:keep] + TRUNCATED_MARKER.format(size - keep)
        scanner = self.scanner
        if text in self._clean or not scanner.worth_scanning(text):
            return text
        scrubbed = scanner.scrub(text)
        if scrubbed is text:
            scanner.remember_clean(text)
            return text
        walk.paths.append(_path(parent, name))
        return scrubbed


def _unique(name: str, taken: Mapping[str, Any]) -> str:
    """`name`, or `name#2`, `name#3`, ... when two keys are written the same way."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}#{n}"
    return candidate


def message_args(processors: Iterable[Any], args: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """The mapping for a `"%(name)s"` message, its sensitive values replaced by the redactor
    of the chain `processors` (a chain without one formats as it is)."""
    for processor in tuple(processors):
        redactor = getattr(processor, "__self__", None)
        if isinstance(redactor, Redactor):
            return redactor.message_args(args)
    return args
