"""Redaction: secrets never reach the log file.

Two rules run over every field of a record except the contract's stamps (the message, `event`,
is scanned): the value of a sensitive key is replaced whole, and a secret-shaped piece of any
string (API keys, bearer tokens, JWTs, AWS key ids, GitHub tokens, PEM private keys,
`password=...` pairs, passwords in URLs) is replaced where it stands. Either way the secret
becomes `[REDACTED]` and the record's `redacted` field lists where, as dotted paths.

Most records hold no secret, so that case is kept cheap: one walk over the fields gathers the
strings long enough to hold a secret (strings seen clean recently are skipped) and two
precompiled searches run over them, joined. Each search starts at a character that is rare in
ordinary text (`-`, `_`, `:`, a capital `A`, `J` or `B`; `=` or `:` for key-value pairs), so
the regex engine skips most text; the key-value search runs over the reversed text, so that it
can start at the separator and read the key backwards. Nothing is copied unless something is
replaced, and containers that belong to the caller are copied, never changed.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time
from itertools import repeat
from typing import Any
from uuid import UUID

from ._contract import EventDict
from ._redaction_rules import (
    _BACK,
    _LINE_VALUE,
    _MIN_PAIR_LEN,
    _MIN_SHAPE_LEN,
    _SHAPES,
    _VALUE,
    _compile,
    _key_names,
    _pair_regex,
    _sensitive_name,
    _sequence,
    _usage_name,
    normalize_key,
)
from ._render import CORE_FIELDS, MAX_DEPTH, json_default, safe_str

RedactionSettings = bool | Mapping[str, Any] | None
"""`True` (the built-in rules), `False` / `None` (off), or a mapping of extra rules."""

MARKER = "[REDACTED]"
CONTRACT_FIELDS = frozenset({"ts", "run_id", "event_id", "seq", "pid", "level", "logger", "kind"})
"""Stamps the contract guarantees, never redacted (`event` is not among them)."""

_OPTIONS = frozenset({"keys", "patterns", "allow"})
_USE = "keys, patterns, allow"
_NATIVE_LEAVES = (int, float, datetime, date, time, UUID, enum.Enum)
_SCALARS = frozenset({int, float, bool, type(None)})
_RUN_ENDS = frozenset({"run_ok", "run_error"})
# Key classes, bit flags cached per key. _SKIP: an allowed key or a stamp. _TALLY: `counts` or
# `dropped` of a run's closing record, which hold kind names (`auth` is no secret) and numbers.
_SENSITIVE, _USAGE, _LINE, _SKIP, _TALLY = 1, 2, 4, 8, 16
_CACHE_SIZE = 4096
_CLEAN_MAX_LEN = 256


def _hides(value: Any, flags: int) -> bool:
    """Whether the value of a sensitive key is replaced: not when it holds nothing to hide
    (None, a bool, ""), nor when it is the number of a usage-count key."""
    if value is None or value is True or value is False or (type(value) is str and not value):
        return False
    return not (flags & _USAGE and isinstance(value, (int, float)))


def _is_tally(value: Any) -> bool:
    return type(value) is dict and all(type(n) is int for n in value.values())


def _path(parent: str, key: Any) -> str:
    name = key if isinstance(key, str) else safe_str(key)
    return f"{parent}.{name}" if parent else name


def _expand(value: Any) -> tuple[str, Any]:
    """What the renderer makes of a value that is not a str, number, dict, list or tuple:
    ("text", str), ("map", pairs), ("seq", pairs) or ("leaf", None)."""
    if isinstance(value, str):
        return "text", str.__str__(value)
    if isinstance(value, _NATIVE_LEAVES) or value is None:
        return "leaf", None
    if isinstance(value, dict):
        return "map", list(dict.items(value))
    if isinstance(value, (list, tuple)):
        return "seq", list(enumerate(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return "map", [(f.name, getattr(value, f.name, None)) for f in dataclasses.fields(value)]
    converted = json_default(value)  # bytes, sets, exceptions, mappings, models, repr()
    if isinstance(converted, str):
        return "text", converted
    if isinstance(converted, dict):
        return "map", list(converted.items())
    if isinstance(converted, list):
        return "seq", list(enumerate(converted))
    return "leaf", None


def _lower(text: str) -> str:
    """`text.lower()`, keeping every offset (U+0130 alone lower-cases to two characters)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else "".join([c.lower()[0] for c in text])


class Redactor:
    """Processor that replaces secrets by `[REDACTED]` and lists their paths in `redacted`.

    `keys` adds sensitive key names (whole names; case, `-`, `_` and camelCase do not
    matter); `patterns` adds regexes whose matches are replaced in any string; `allow` names
    keys that are never redacted, neither by name nor inside their value.
    """

    def __init__(
        self,
        keys: Iterable[str] = (),
        patterns: Iterable[str | re.Pattern[str]] = (),
        allow: Iterable[str] = (),
    ) -> None:
        self.keys = _key_names("keys", keys)
        self.allow = _key_names("allow", allow)
        self.patterns = tuple(_compile(p) for p in _sequence("patterns", patterns))
        # With extra patterns, any string may hold a secret.
        self._min_pair_len = 1 if self.patterns else _MIN_PAIR_LEN
        self._min_shape_len = 1 if self.patterns else _MIN_SHAPE_LEN
        self._pairs = _pair_regex(self.keys)
        self._clean: set[str] = set()  # strings recently found to hold no secret
        self._flag_cache: dict[Any, int] = {None: 0}  # None: the "key" of a list item
        self._top_flags = {**self._flag_cache, **dict.fromkeys(CONTRACT_FIELDS, _SKIP)}
        self._end_flags = {**self._top_flags, "counts": _TALLY, "dropped": _TALLY}

    @classmethod
    def from_settings(cls, settings: RedactionSettings) -> Redactor | None:
        """The redactor `configure(redact=...)` asks for; None when redaction is off."""
        if settings is None or settings is False:
            return None
        if settings is True:
            return cls()
        if not isinstance(settings, Mapping):
            raise TypeError(
                f"redact must be True, False, None or a mapping of {_USE}, not {settings!r}"
            )
        unknown = sorted(map(str, set(settings) - _OPTIONS))
        if unknown:
            raise ValueError(f"unknown redact option(s) {', '.join(unknown)}; use {_USE}")
        return cls(**{str(k): v for k, v in settings.items()})

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        try:
            kind = event_dict.get("kind")  # the closing record of a run has its own table
            table = self._end_flags if type(kind) is str and kind in _RUN_ENDS else self._top_flags
            plain = table.get
            min_pair, min_shape, clean = self._min_pair_len, self._min_shape_len, self._clean
            texts: list[str] = []
            rest: list[tuple[Any, Any]] = []  # what the loop below does not settle
            for key in event_dict.keys() - CONTRACT_FIELDS:  # the stamps are never walked
                value = event_dict[key]
                shape = type(value)
                if plain(key) != 0 or (shape is not str and shape not in _SCALARS):
                    rest.append((key, value))
                elif shape is str:  # under a plain key: the rule of _collect for text
                    size = len(value)
                    if (
                        size >= min_shape or (size >= min_pair and (":" in value or "=" in value))
                    ) and value not in clean:
                        texts.append(value)
            if (rest and self._collect(rest, 0, texts, table)) or (
                texts and self._texts_hold_secret(texts)
            ):
                self._redact_record(event_dict)
            return event_dict
        except Exception as exc:  # never raise into the caller, never write what was unscanned
            record = {k: event_dict[k] for k in CORE_FIELDS if k in event_dict}
            record.update(event=MARKER, redacted=["*"], redaction_error=type(exc).__name__)
            return record

    def scrub(self, text: str) -> str:
        """`text` with every secret in it replaced; the same object when it holds none."""
        spans = [(m.start(n) - _BACK.get(n, 0), m.end(n))
                 for m in _SHAPES.finditer(text) for n in (m.lastgroup or "",)]  # fmt: skip
        if ":" in text or "=" in text:
            spans += self._pair_spans(text)
        for pattern in self.patterns:
            spans += [m.span() for m in pattern.finditer(text) if m.end() > m.start()]
        if not spans:
            return text
        out: list[str] = []
        last = 0
        for start, end in sorted(spans):
            if start < last:  # overlaps the previous span: one marker covers both
                last = max(last, end)
                continue
            out += (text[last:start], MARKER)
            last = end
        out.append(text[last:])
        return "".join(out)

    # -- keys -----------------------------------------------------------------------------

    def _flags(self, key: Any) -> int:
        """The class of a key (0 for keys that are not strings), cached for str and int keys."""
        flags = self._flag_cache.get(key)
        if flags is None:
            flags = self._classify(key) if isinstance(key, str) else 0
            if isinstance(key, (str, int)) and len(self._flag_cache) < _CACHE_SIZE:
                self._flag_cache[key] = flags
        return flags

    def _classify(self, key: str) -> int:
        name = normalize_key(key)
        if name in self.allow:
            return _SKIP
        flags = _SENSITIVE if name in self.keys or _sensitive_name(name) else 0
        if _usage_name(name):
            flags |= _USAGE
        if "cookie" in name or "authorization" in name:
            flags |= _LINE
        return flags

    def _top_level_flags(self, event_dict: EventDict) -> dict[Any, int]:
        kind = event_dict.get("kind")
        return self._end_flags if type(kind) is str and kind in _RUN_ENDS else self._top_flags

    # -- the fast check: could this record hold a secret? ---------------------------------

    def _texts_hold_secret(self, texts: list[str]) -> bool:
        """Whether any of the strings `_collect` gathered holds a secret; clean ones are
        remembered, so recurring values are not searched again."""
        text = texts[0] if len(texts) == 1 else "\x00".join(texts)
        if _SHAPES.search(text) is not None:
            return True
        pairs_possible = "=" in text or text.count(":") > text.count("://")
        if pairs_possible and next(self._sensitive_pairs(text), None) is not None:
            return True
        if any(p.search(text) is not None for p in self.patterns):
            return True
        if len(self._clean) >= _CACHE_SIZE:
            self._clean.clear()
        self._clean.update(t for t in texts if len(t) <= _CLEAN_MAX_LEN)
        return False

    def _collect(
        self,
        pairs: Iterable[tuple[Any, Any]],
        depth: int,
        texts: list[str],
        table: dict[Any, int],
    ) -> bool:
        """Gather the strings worth scanning into `texts`; True when a key alone (or nesting
        too deep to scan) calls for the slow path. Hot, so flat and without cycle tracking: a
        cycle runs into the depth limit, and the slow path copes with it."""
        min_pair, min_shape, clean = self._min_pair_len, self._min_shape_len, self._clean
        cached = table.get
        for key, value in pairs:
            flags = cached(key)
            if flags is None:
                flags = self._flags(key)
                if isinstance(key, (str, int)) and len(table) < _CACHE_SIZE:
                    table[key] = flags
            if flags:
                if flags & _SKIP or (flags & _TALLY and _is_tally(value)):
                    continue
                if flags & _SENSITIVE and _hides(value, flags):
                    return True
            kind = type(value)
            if kind is str:
                size = len(value)
                if (
                    size >= min_shape or (size >= min_pair and (":" in value or "=" in value))
                ) and (value not in clean):
                    texts.append(value)
                continue
            if kind in _SCALARS:
                continue
            if kind is dict:
                inner: Iterable[tuple[Any, Any]] = value.items()
            elif kind is list or kind is tuple:
                inner = zip(repeat(None), value)
            else:
                shape, expanded = _expand(value)
                if shape == "text":
                    texts.append(expanded)
                if shape in ("text", "leaf"):
                    continue
                inner = expanded
            if depth >= MAX_DEPTH or self._collect(inner, depth + 1, texts, self._flag_cache):
                return True
        return False

    def _sensitive_pairs(self, text: str) -> Iterator[tuple[int, int]]:
        """(index of the separator, key flags) of each pair in `text` with a sensitive key."""
        size = len(text)
        for match in self._pairs.finditer(_lower(text)[::-1]):
            start, end = match.span(1)
            flags = self._flags(text[size - end : size - start])
            if flags & _SENSITIVE and not flags & _SKIP:
                yield size - 1 - match.start(), flags

    # -- the slow path: replace --------------------------------------------------------------

    def _redact_record(self, event_dict: EventDict) -> None:
        paths: list[str] = []
        active: set[int] = set()
        top_flags = self._top_level_flags(event_dict).get
        for key, value in list(event_dict.items()):
            flags = top_flags(key)
            if flags is None:
                flags = self._flags(key)
            if flags & _SKIP or (flags & _TALLY and _is_tally(value)):
                continue
            new = self._redact_field(key, value, "", 0, paths, active)
            if new is not value:
                event_dict[key] = new
        if paths:
            event_dict["redacted"] = paths

    def _redact_field(
        self, key: Any, value: Any, parent: str, depth: int, paths: list[str], active: set[int]
    ) -> Any:
        """`value` (under `key` in the container at path `parent`) with its secrets replaced:
        the same object when it holds none, else a copy (a dict for mappings, a list or tuple
        for sequences, a str for text forms). Paths are built only when needed."""
        if isinstance(key, str):
            flags = self._flags(key)
            if flags & _SKIP:
                return value
            if flags & _SENSITIVE and _hides(value, flags):
                paths.append(_path(parent, key))
                return MARKER
        kind = type(value)
        if kind in _SCALARS:
            return value
        pairs: Any
        if kind is dict:
            shape, pairs = "map", list(value.items())
        elif kind is list or kind is tuple:
            shape, pairs = "seq", list(enumerate(value))
        else:
            shape, pairs = ("text", value) if kind is str else _expand(value)
        if shape == "text":
            size = len(pairs)
            if (
                pairs in self._clean
                or size < self._min_pair_len
                or (size < self._min_shape_len and ":" not in pairs and "=" not in pairs)
            ):
                return value
            text = self.scrub(pairs)
            if text is pairs:
                if size <= _CLEAN_MAX_LEN and len(self._clean) < _CACHE_SIZE:
                    self._clean.add(text)
                return value
            paths.append(_path(parent, key))
            return text
        if shape == "leaf":
            return value
        if depth >= MAX_DEPTH:
            return "[max depth]"
        if id(value) in active:
            return "[circular]"
        active.add(id(value))
        here, changes = _path(parent, key), {}
        try:
            for inner_key, item in pairs:
                new = self._redact_field(inner_key, item, here, depth + 1, paths, active)
                if new is not item:
                    changes[inner_key] = new
        finally:
            active.discard(id(value))
        if not changes:
            return value
        if shape == "map":
            return {k: changes.get(k, item) for k, item in pairs}
        items = [changes.get(index, item) for index, item in pairs]
        return tuple(items) if kind is tuple else items

    def _pair_spans(self, text: str) -> list[tuple[int, int]]:
        spans = []
        for separator, flags in self._sensitive_pairs(text):
            value = (_LINE_VALUE if flags & _LINE else _VALUE).match(text, separator + 1)
            if value is None:
                continue
            start, end = value.span("quoted") if value.start("quoted") >= 0 else value.span("bare")
            if end > start and not text.startswith(MARKER, start):
                spans.append((start, end))
        return spans
