"""The rules of redaction: which key names are sensitive, which shapes of text are secrets.

Kept apart from the `Redactor` that applies them; `configure(redact=...)` options are
checked here too. Every rule runs in time linear in the text: each pattern starts at a
literal character and reads a bounded or non-overlapping stretch after it (no nested
quantifiers, no alternatives retried from every position), and the value after a key is found
by `value_span`, whose searches never go back over text an earlier pair already covered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# The shortest key-value pair the rules find is `pwd=x` (and it needs `=` or `:`); the
# shortest shape is `Basic dXNlcjpw`. Shorter strings are not scanned.
_MIN_PAIR_LEN, _MIN_SHAPE_LEN = 5, 14

# Sensitive key names, after `normalize_key`: whole names, parts of names, endings.
_KEY_NAMES = frozenset({"token", "auth", "pwd", "pass", "jwt", "bearer", "apikey", "sessid",
                        "sig", "signature"})  # fmt: skip
_KEY_PARTS = (
    "password", "passwd", "passphrase", "secret", "api_key", "apikey", "private_key",
    "privatekey", "authorization", "cookie", "credential", "session_id", "sessionid",
    "session_token", "session_key", "access_key", "accesskey", "access_token", "refresh_token",
    "id_token", "auth_token", "bearer_token", "account_key", "amz_signature", "goog_signature",
)  # fmt: skip
_KEY_ENDINGS = ("_token", "_pwd", "_jwt", "_auth")
_NOT_SECRET_KEYS = frozenset(  # a tokenizer's special tokens
    f"{name}_token" for name in ("eos", "bos", "pad", "unk", "sep", "cls", "mask", "stop", "eot")
)
_USAGE_WORDS = frozenset({"count", "counts", "usage", "used", "limit", "budget", "num", "n",
                          "max", "min", "total"})  # fmt: skip
# Every sensitive name holds one of these; the pair search looks only for keys that do.
_KEY_STEMS = ("pass", "pwd", "secret", "token", "auth", "key", "cookie", "sess", "credential",
              "jwt", "bearer", "sig")  # fmt: skip
# In text, a key glued to what precedes it (`1token=`, `Xpwd=`) counts by these endings too;
# not `pass` after a letter (`compass=`, `bypass=`).
_GLUED_NAMES = tuple(sorted(_KEY_NAMES))
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_TO_UNDERSCORE = str.maketrans({"-": "_", " ": "_", ".": "_"})

_BEARER = r"(?=[A-Za-z._~+/=-]*[0-9])[A-Za-z0-9._~+/=-]{8,}|[A-Za-z0-9._~+/=-]{16,}"


def _by_first_character(alternatives: tuple[str, ...]) -> str:
    """One pattern of alternatives that each start with a literal character, grouped by it:
    at each position the engine tries one branch per character, not one per rule."""
    groups: dict[str, list[str]] = {}
    for alternative in alternatives:
        groups.setdefault(alternative[0], []).append(alternative[1:])
    return "|".join(f"{re.escape(c)}(?:{'|'.join(rests)})" for c, rests in groups.items())


# Every alternative starts with a literal character, so the engine tries a match only where
# that character occurs, and names one group: the part to replace (`_BACK`: how many
# characters before the group belong to the secret too).
_SHAPES = re.compile(
    _by_first_character(
        (
            r"-(?<=sk-)(?<![A-Za-z0-9]sk-)(?P<openai>[A-Za-z0-9_-]{20,})",
            r"-(?<=xox[abposr]-)(?<![A-Za-z0-9]xox[abposr]-)(?P<slack>[A-Za-z0-9-]{10,})",
            r"-(?<=xapp-)(?<![A-Za-z0-9]xapp-)(?P<slack_app>[A-Za-z0-9-]{10,})",
            r"-(?<=glpat-)(?<![A-Za-z0-9]glpat-)(?P<gitlab>[A-Za-z0-9_-]{20,})",
            r"-(?<=GOCSPX-)(?<![A-Za-z0-9]GOCSPX-)(?P<google_oauth>[A-Za-z0-9_-]{20,})",
            r"-(?P<pem>----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
            r"(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z))",
            r"_(?<=[spr]k_)(?<![A-Za-z0-9][spr]k_)(?:live|test)_(?P<stripe>[A-Za-z0-9]{16,})",
            r"_(?<=hf_)(?<![A-Za-z0-9]hf_)(?P<huggingface>[A-Za-z0-9]{30,})",
            r"_(?<=gh[pousr]_)(?<![A-Za-z0-9]gh[pousr]_)(?P<github>[A-Za-z0-9]{36,})",
            r"_(?<=github_)(?<![A-Za-z0-9]github_)pat_(?P<github_pat>[A-Za-z0-9_]{22,})",
            r"_(?<=whsec_)(?<![A-Za-z0-9]whsec_)(?P<webhook>[A-Za-z0-9+/=_-]{20,})",
            r"_(?<=npm_)(?<![A-Za-z0-9]npm_)(?P<npm>[A-Za-z0-9]{36,})",
            r"A(?<![A-Za-z0-9]A)(?P<google>Iza[A-Za-z0-9_-]{35})",
            r"A(?<![A-Z0-9]A)(?P<aws>(?:KIA|SIA|BIA|CCA|3T[A-Z0-9])[A-Z0-9]{16})(?![A-Z0-9])",
            r"9(?<=ya29)(?<![A-Za-z0-9]ya29)\.(?P<google_access>[A-Za-z0-9._-]{20,})",
            r"S(?<![A-Za-z0-9]S)G\.(?P<sendgrid>[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,})",
            r"J(?<=eyJ)(?<![A-Za-z0-9_-]eyJ)"
            r"(?P<jwt>[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)",
            rf"B(?<![A-Za-z0-9]B)(?i:earer)[ \t]+(?P<bearer>{_BEARER})",
            rf"b(?<![A-Za-z0-9]b)(?i:earer)[ \t]+(?P<bearer_lower>{_BEARER})",
            r"B(?<![A-Za-z0-9]B)asic[ \t]+"
            r"(?P<basic>(?=[A-Za-z0-9+/]*(?:[0-9+/=]|[a-z][A-Z]))[A-Za-z0-9+/]{8,}={0,2})",
            # An Azure storage account key: 64 random bytes in base64, read back from its end.
            r"=(?<===)(?<=[A-Za-z0-9+/]{86}==)(?<![A-Za-z0-9+/]{87}==)(?P<azure_key>)",
            # The start of a URL's user:password@ (`UrlPasswords` finds its end). The user is
            # read once, as an atomic group would (a lookahead is never re-entered; Python
            # 3.10 has no possessive quantifiers); the other runs stop at a character they
            # exclude, so backing off them cannot find another match.
            r"://(?=(?P<url_host>[^/\s:@\"'<>]{0,256}))(?P=url_host):"
            r"(?![0-9]{1,5}(?:[/?#\s\"'<>]|\Z))(?=[^\s\"'<>@]{0,128}@)(?P<url_user>)",
        )
    )
)
_BACK = {"google": 1, "aws": 1, "jwt": 3, "pem": 1, "azure_key": 88}
_URL_RUN_END = re.compile(r"[\s\"'<>]")


class UrlPasswords:
    """The password of a URL's `user:password@` (the user may be empty): everything up to the
    last `@` before the URL ends, so that `@` and `/` in it are covered. Searches are
    remembered, so URLs packed into one long word cost one pass."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._end = (-1, -1)  # (searched from, end of the URL found)
        self._last_at = (-1, -1)  # (end of the URL, its last `@`)

    def span(self, start: int) -> tuple[int, int] | None:
        """The password starting at `start`, without its `@`; None when there is none."""
        if not start <= self._end[1]:
            found = _URL_RUN_END.search(self.text, start)
            self._end = (start, found.start() if found else len(self.text))
        end = self._end[1]
        if self._last_at[0] != end:
            self._last_at = (end, self.text.rfind("@", start, end))
        at = self._last_at[1]
        return (start, at) if at > start else None


# An AWS secret access key has no prefix: 40 characters of base64 near its key id.
AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
AWS_SECRET_REACH = 256
# The value after a sensitive key's separator (see `value_span`).
_LEAD = re.compile(r"[ \t]*(?:[=>]+[ \t]*)?(?:b(?=\\?[\"']))?")
_BARE = re.compile(r"(?i:(?:bearer|basic|digest|token|bot)[ \t]+)?[^\s\"'\\&]*")
_REST_OF_LINE = re.compile(r"[^\r\n\"'\\]*")
_TRAILING = ",;.:)]}> \t"
_LINE_END = re.compile(r"[\r\n]")


class Closers:
    """Where the quote closing a value is, for one text. Searches are remembered, so a
    text of many unclosed quotes costs one pass, not one per quote."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._found: dict[str, tuple[int, int]] = {}  # needle -> (searched from, found at)
        self._eol = (-1, -1)  # (searched from, end of that line)

    def close(self, quote: str, start: int) -> int:
        """The index of `quote` at or after `start` on the same line, or -1."""
        hit = self._found.get(quote)
        if hit is None or not hit[0] <= start or (hit[1] >= 0 and start > hit[1]):
            hit = self._found[quote] = (start, self.text.find(quote, start))
        found = hit[1]
        if found < 0:
            return -1
        if not self._eol[0] <= start <= self._eol[1]:
            eol = _LINE_END.search(self.text, start)
            self._eol = (start, eol.start() if eol else len(self.text))
        return found if found < self._eol[1] else -1


def value_span(text: str, start: int, whole_line: bool, closers: Closers) -> tuple[int, int]:
    """The value that starts after a separator at `start`: a quoted string, else a bare word
    (`Bearer x` included, trailing punctuation not), or for headers the rest of the line."""
    pos = _LEAD.match(text, start).end()  # type: ignore[union-attr]
    quote = text[pos : pos + 2] if text.startswith("\\", pos) else text[pos : pos + 1]
    if quote[-1:] in ("'", '"'):
        inner = pos + len(quote)
        close = closers.close(quote, inner)
        if close >= 0:
            return inner, close
        pos = inner  # an unclosed quote: the bare value after it
    end = (_REST_OF_LINE if whole_line else _BARE).match(text, pos).end()  # type: ignore[union-attr]
    return pos, pos + len(text[pos:end].rstrip(_TRAILING if not whole_line else " \t"))


def normalize_key(key: str) -> str:
    """One spelling per name: `X-Api-Key`, `x_api_key`, `xApiKey`, `X API KEY` -> `x_api_key`."""
    return _CAMEL.sub("_", key).lower().translate(_TO_UNDERSCORE)


def _sensitive_name(name: str) -> bool:
    if name in _NOT_SECRET_KEYS:
        return False
    return name in _KEY_NAMES or name.endswith(_KEY_ENDINGS) or any(p in name for p in _KEY_PARTS)


def glued_name(name: str, names: tuple[str, ...]) -> bool:
    """Whether a key read from text ends in a sensitive whole name (`1token`, `xpwd`)."""
    for whole in names:
        if name.endswith(whole) and len(name) > len(whole):
            if whole == "pass" and name[-5].isalpha():
                continue
            return name not in _NOT_SECRET_KEYS
    return False


def _usage_name(name: str) -> bool:
    """An LLM token count: `max_tokens`, `prompt_tokens`, `token_count`, ..."""
    parts = name.split("_")
    return "tokens" in parts or ("token" in parts and not _USAGE_WORDS.isdisjoint(parts))


def _pair_regex(keys: frozenset[str], encoded: bool) -> re.Pattern[str]:
    """Key-value pairs whose key holds a stem (or one of `keys`), in reversed, lower-cased
    text: the separator (`=`, `:`, the `,` of a quoted `('name', 'value')` pair and, when
    `encoded`, a URL-encoded `%3D`), then the key read backwards. `https://` is no pair.
    The separators start with one character class, so the engine skips to them."""
    stems = [re.escape(stem[::-1]) for stem in _KEY_STEMS]
    stems += ["[_-]?".join(re.escape(p[::-1]) for p in reversed(k.split("_"))) for k in keys]
    separators = r"[:=,](?:(?<=,)[ \t]*[\"']|(?<=[:=])(?<!//[:=])[ \t]*[\"']?)"
    if encoded:
        separators += "|d3%"
    return re.compile(
        rf"(?:{separators})\\?(?=[a-z0-9_-]{{0,63}}?(?:" + "|".join(stems) + r"))([a-z0-9_-]{1,64})"
    )


def _key_names(option: str, values: Any) -> frozenset[str]:
    names = set()
    for name in _sequence(option, values):
        if not isinstance(name, str):
            raise TypeError(f"redact {option!r} holds key names (str), not {name!r}")
        if not name.strip():
            raise ValueError(f"redact {option!r} holds an empty key name")
        names.add(normalize_key(name.strip()))
    return frozenset(names)


def _sequence(option: str, values: Any) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"redact {option!r} must be a list, not {values!r}")
    return list(values)


def _compile(pattern: Any) -> re.Pattern[str]:
    if isinstance(pattern, str):
        try:
            pattern = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"redact pattern {pattern!r} does not compile: {exc}") from None
    if not isinstance(pattern, re.Pattern) or not isinstance(pattern.pattern, str):
        raise TypeError(f"redact patterns are str or str re.Pattern, not {pattern!r}")
    if pattern.search("") is not None:
        raise ValueError(f"redact pattern {pattern.pattern!r} matches the empty string")
    return pattern
