"""Secret scanning: where in a string a secret stands, and replacing it.

Two precompiled searches run over text: secret shapes (`_SHAPES`: API keys, bearer tokens,
JWTs, cloud keys, PEM private keys, passwords in URLs) and key-value pairs with a sensitive
key (`password=...`, `"token": ...`). Each starts at a character that is rare in ordinary
text, so the regex engine skips most of it; the pair search runs over the reversed text, so
that it can start at the separator and read the key backwards. A key read from text may be
glued to what precedes it (`xpassword=`), so its class is worked out here, with a cache.

Strings found clean recently are remembered (`clean`), so recurring values are not searched
again; `worth_scanning` is the one rule for which strings could hold a secret at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ._key_classes import CACHE_SIZE, CLEAN_MAX_LEN, LINE, SENSITIVE, SKIP, name_flags
from ._redaction_rules import (
    _BACK,
    _GLUED_NAMES,
    _MIN_PAIR_LEN,
    _MIN_SHAPE_LEN,
    _SHAPES,
    AWS_SECRET,
    AWS_SECRET_REACH,
    Closers,
    UrlPasswords,
    _pair_regex,
    glued_name,
    normalize_key,
    value_span,
)

MARKER = "[REDACTED]"


def _lower(text: str) -> str:
    """`text.lower()`, keeping every offset (U+0130 alone lower-cases to two characters)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else "".join([c.lower()[0] for c in text])


class SecretScanner:
    """Finds and replaces secrets in text: the built-in shapes, pairs whose key is sensitive
    (the built-in names and `keys`, but not `allow`), and the extra `patterns`.

    `min_pair_len` and `min_shape_len`: a string shorter than the first holds no secret, and
    one shorter than the second only with a separator (`:`, `=`, `%`); with extra patterns,
    any string may hold one.
    """

    def __init__(
        self, keys: frozenset[str], allow: frozenset[str], patterns: Iterable[re.Pattern[str]]
    ) -> None:
        self.keys = keys
        self.allow = allow
        self.patterns = tuple(patterns)
        self.min_pair_len = 1 if self.patterns else _MIN_PAIR_LEN
        self.min_shape_len = 1 if self.patterns else _MIN_SHAPE_LEN
        self._pairs = _pair_regex(keys, encoded=False)
        self._encoded_pairs = _pair_regex(keys, encoded=True)  # `%3D` separators too
        self._glued = tuple(sorted(set(_GLUED_NAMES) | keys))
        self._text_flags: dict[str, int] = {}  # keys as read from text
        self.clean: set[str] = set()
        """Strings recently found to hold no secret."""

    def worth_scanning(self, text: str) -> bool:
        """Whether `text` could hold a secret at all: long enough for a shape, or for a pair
        and with a separator. The hot loops of the redactor's fast check inline this rule."""
        size = len(text)
        return size >= self.min_shape_len or (
            size >= self.min_pair_len and (":" in text or "=" in text or "%" in text)
        )

    def holds_secret(self, text: str) -> bool:
        """Whether `text` holds anything `scrub` would replace."""
        return self._built_in_secret(text) or any(p.search(text) is not None for p in self.patterns)

    def _built_in_secret(self, text: str) -> bool:
        """Whether `text` holds a secret of a built-in shape or a sensitive key's pair."""
        first = _SHAPES.search(text)
        if first is not None:
            if first.lastgroup != "url_user":
                return True
            urls = UrlPasswords(text)  # a URL's user: a secret only if a password follows
            for match in _SHAPES.finditer(text, first.start()):
                if match.lastgroup != "url_user" or urls.span(match.end()) is not None:
                    return True
        pairs_possible = (
            "=" in text
            or text.count(":") > text.count("://")
            or "%3" in text
            or "'," in text
            or '",' in text
        )
        return pairs_possible and next(self._sensitive_pairs(text), None) is not None

    def _joined_hold_secret(self, texts: list[str]) -> bool:
        """`holds_secret` over several strings: the built-in rules search them joined, in one
        pass; a user's patterns search each on its own, since one may be anchored (`^...$`)
        and would miss a secret that is not the whole of the joined text."""
        if len(texts) == 1:
            return self.holds_secret(texts[0])
        if self._built_in_secret("\x00".join(texts)):
            return True
        return any(p.search(text) is not None for p in self.patterns for text in texts)

    def texts_hold_secret(self, texts: list[str]) -> bool:
        """Whether any of `texts` holds a secret (searched joined, in one pass); clean ones
        are remembered, so recurring values are not searched again."""
        if self._joined_hold_secret(texts):
            return True
        clean = self.clean
        if len(clean) >= CACHE_SIZE:
            clean.clear()
        clean.update(t for t in texts if len(t) <= CLEAN_MAX_LEN)
        return False

    def all_clean(self, texts: list[str]) -> bool:
        """Whether none of `texts` holds a secret; those worth scanning are searched joined,
        and every string (clean, or too short to hold a secret) is remembered in `clean`."""
        worth = [text for text in texts if self.worth_scanning(text)]
        if worth and self._joined_hold_secret(worth):
            return False
        clean = self.clean
        if len(clean) >= CACHE_SIZE:
            clean.clear()
        clean.update(t for t in texts if len(t) <= CLEAN_MAX_LEN)
        return True

    def remember_clean(self, text: str) -> None:
        if len(text) <= CLEAN_MAX_LEN and len(self.clean) < CACHE_SIZE:
            self.clean.add(text)

    def scrub(self, text: str) -> str:
        """`text` with every secret in it replaced; the same object when it holds none."""
        spans = self._shape_spans(text)
        if ":" in text or "=" in text or "%3" in text or "'," in text or '",' in text:
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

    def _text_key_flags(self, key: str) -> int:
        """The class of a key read from text, where it may be glued to what precedes it."""
        flags = self._text_flags.get(key)
        if flags is None:
            name = normalize_key(key)
            flags = SKIP if name in self.allow else name_flags(name, self.keys)
            if not flags and glued_name(name, self._glued):
                flags = SENSITIVE
            if len(self._text_flags) < CACHE_SIZE:
                self._text_flags[key] = flags
        return flags

    def _sensitive_pairs(self, text: str) -> Iterator[tuple[int, int]]:
        """(where the value starts, key flags) of each pair in `text` with a sensitive key,
        from the last to the first."""
        size = len(text)
        pairs = self._encoded_pairs if "%3" in text else self._pairs
        for match in pairs.finditer(_lower(text)[::-1]):
            start, end = match.span(1)
            flags = self._text_key_flags(text[size - end : size - start])
            if flags & SENSITIVE and not flags & SKIP:
                yield size - match.start(), flags

    def _shape_spans(self, text: str) -> list[tuple[int, int]]:
        spans = []
        reach = 0  # an AWS key id's neighbourhood is searched once
        urls = None
        for match in _SHAPES.finditer(text):
            group = match.lastgroup or ""
            if group == "url_user":
                urls = urls or UrlPasswords(text)
                password = urls.span(match.end())
                if password is not None:
                    spans.append(password)
                continue
            start, end = match.start(group) - _BACK.get(group, 0), match.end(group)
            spans.append((start, end))
            if group == "aws":
                low, high = max(start - AWS_SECRET_REACH, reach), end + AWS_SECRET_REACH
                spans += [m.span() for m in AWS_SECRET.finditer(text, low, high)]
                reach = high
        return spans

    def _pair_spans(self, text: str) -> list[tuple[int, int]]:
        """The values of sensitive pairs; a pair inside a value already found is part of it,
        so no stretch of text is read twice."""
        spans: list[tuple[int, int]] = []
        covered = 0
        closers = Closers(text)
        for start, flags in reversed(list(self._sensitive_pairs(text))):
            if start < covered:
                continue
            begin, end = value_span(text, start, bool(flags & LINE), closers)
            if end > begin and not text.startswith(MARKER, begin):
                spans.append((begin, end))
                covered = end
        return spans
