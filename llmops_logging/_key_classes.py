"""Key classification for redaction: what a key's name says about its value.

A key's class is a set of bit flags, worked out once per key and cached: `SENSITIVE` (its
value is replaced whole), `USAGE` (a count of tokens or calls: a number under it stays),
`LINE` (a cookie or an authorization header: its value runs to the end of the line), `SKIP`
(an allowed key: never redacted), `TALLY` (`counts` or `dropped` of a run's closing record,
which hold kind names and numbers) and `LEAK` (the key's own text holds a secret). Whether a
key's text holds a secret is the scanner's question (`_secret_scan`), passed in as a function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._contract import EVENT_ID, KIND, LEVEL, PID, RUN_ERROR, RUN_OK, SEQ, STAMPS, TS, EventDict
from ._redaction_rules import _sensitive_name, _usage_name, normalize_key

SENSITIVE, USAGE, LINE, SKIP, TALLY, LEAK = 1, 2, 4, 8, 16, 32
CACHE_SIZE = 4096
"""Entries each cache of keys or strings keeps before it starts afresh."""
CLEAN_MAX_LEN = 256
"""The longest key or string a cache keeps."""
CONTRACT_FIELDS = STAMPS
"""Stamps the contract guarantees: never replaced because of their key's name."""
GENERATED = frozenset({TS, EVENT_ID, SEQ, PID, LEVEL})
"""Stamps the library makes itself from nothing the caller gave: never walked."""
RUN_ENDS = frozenset({RUN_OK, RUN_ERROR})
"""The kinds of a run's closing record, whose `counts` and `dropped` are tallies."""


def name_flags(name: str, keys: frozenset[str]) -> int:
    """The class a normalized key name has by itself (`keys`: extra sensitive names)."""
    flags = SENSITIVE if name in keys or _sensitive_name(name) else 0
    if _usage_name(name):
        flags |= USAGE
    if "cookie" in name or "authorization" in name:
        flags |= LINE
    return flags


def hides(value: Any, flags: int) -> bool:
    """Whether the value of a sensitive key is replaced: not when it holds nothing to hide
    (None, a bool, ""), nor when it is the number of a usage-count key."""
    if value is None or value is True or value is False or (type(value) is str and not value):
        return False
    return not (flags & USAGE and type(value) in (int, float))


def is_tally(value: Any) -> bool:
    """A run's `counts` or `dropped`: a small dict of numbers, kept as it is."""
    return (
        type(value) is dict
        and len(value) <= CLEAN_MAX_LEN
        and all(type(n) is int for n in value.values())
    )


class KeyClassifier:
    """The class of each key of a record, cached: `cache` for keys inside values, `top` and
    `end` for a record's own keys (the stamps a caller may set are scanned but never replaced
    for their name; a run's closing record also has its tallies)."""

    def __init__(
        self,
        keys: frozenset[str],
        allow: frozenset[str],
        holds_secret: Callable[[str], bool],
        min_leak_len: int,
    ) -> None:
        self.keys = keys
        self.allow = allow
        self._holds_secret = holds_secret
        self._min_leak_len = min_leak_len  # a shorter key cannot hold a secret
        self.cache: dict[Any, int] = {None: 0}  # None: the "key" of a list item
        self.top = {**self.cache, **dict.fromkeys(CONTRACT_FIELDS - GENERATED, 0)}
        self.end = {**self.top, "counts": TALLY, "dropped": TALLY}

    def table(self, event_dict: EventDict) -> dict[Any, int]:
        """The cache for the record's own keys: a run's closing record has its own."""
        kind = event_dict.get(KIND)
        return self.end if type(kind) is str and kind in RUN_ENDS else self.top

    def flags(self, key: str) -> int:
        """The class of a str key, cached for keys of ordinary length."""
        flags = self.cache.get(key)
        if flags is None:
            flags = self._classify(key)
            if len(self.cache) < CACHE_SIZE and len(key) <= CLEAN_MAX_LEN:
                self.cache[key] = flags
        return flags

    def _classify(self, key: str) -> int:
        name = normalize_key(key)
        if name in self.allow:
            return SKIP
        flags = name_flags(name, self.keys)
        if len(key) >= self._min_leak_len and self._holds_secret(key):
            flags |= LEAK
        return flags

    def hidden(self, key: Any, value: Any) -> bool:
        """Whether the value under `key` of a `"%(name)s"` message mapping is replaced."""
        flags = self.flags(key) if type(key) is str else 0
        return bool(flags & SENSITIVE) and not flags & SKIP and hides(value, flags)
