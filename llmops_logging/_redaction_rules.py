"""The rules of redaction: which key names are sensitive, which shapes of text are secrets.

Kept apart from the `Redactor` that applies them; `configure(redact=...)` options are
checked here too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# The shortest key-value pair the rules find is `pwd=x` (and it needs `=` or `:`); the
# shortest shape is `Basic dXNlcjpw`. Shorter strings are not scanned.
_MIN_PAIR_LEN, _MIN_SHAPE_LEN = 5, 14

# Sensitive key names, after `normalize_key`: whole names, parts of names, endings.
_KEY_NAMES = frozenset({"token", "auth", "pwd", "pass", "jwt", "bearer", "apikey", "sessid"})
_KEY_PARTS = (
    "password", "passwd", "passphrase", "secret", "api_key", "apikey", "private_key",
    "privatekey", "authorization", "cookie", "credential", "session_id", "sessionid",
    "session_token", "session_key", "access_key", "accesskey", "access_token", "refresh_token",
    "id_token", "auth_token", "bearer_token",
)  # fmt: skip
_KEY_ENDINGS = ("_token", "_pwd", "_jwt", "_auth")
_NOT_SECRET_KEYS = frozenset(  # a tokenizer's special tokens
    f"{name}_token" for name in ("eos", "bos", "pad", "unk", "sep", "cls", "mask", "stop", "eot")
)
_USAGE_WORDS = frozenset({"count", "counts", "usage", "used", "limit", "budget", "num", "n",
                          "max", "min", "total"})  # fmt: skip
# Every sensitive name holds one of these; the pair search looks only for keys that do.
_KEY_STEMS = ("pass", "pwd", "secret", "token", "auth", "key", "cookie", "sess", "credential",
              "jwt", "bearer")  # fmt: skip
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_TO_UNDERSCORE = str.maketrans({"-": "_", " ": "_", ".": "_"})

_BEARER = r"(?=[A-Za-z._~+/=-]*[0-9])[A-Za-z0-9._~+/=-]{8,}|[A-Za-z0-9._~+/=-]{16,}"
# Every alternative starts with a literal character, so the engine tries a match only where
# that character occurs, and names one group: the part to replace (`_BACK`: how many
# characters before the group belong to the secret too).
_SHAPES = re.compile(
    "|".join(
        (
            r"-(?<=sk-)(?<![A-Za-z0-9]sk-)(?P<openai>[A-Za-z0-9_-]{20,})",
            r"-(?<=xox[abposr]-)(?<![A-Za-z0-9]xox[abposr]-)(?P<slack>[A-Za-z0-9-]{10,})",
            r"-(?<=glpat-)(?<![A-Za-z0-9]glpat-)(?P<gitlab>[A-Za-z0-9_-]{20,})",
            r"-(?P<pem>----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
            r"(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z))",
            r"_(?<=[spr]k_)(?<![A-Za-z0-9][spr]k_)(?:live|test)_(?P<stripe>[A-Za-z0-9]{16,})",
            r"_(?<=hf_)(?<![A-Za-z0-9]hf_)(?P<huggingface>[A-Za-z0-9]{30,})",
            r"_(?<=gh[pousr]_)(?<![A-Za-z0-9]gh[pousr]_)(?P<github>[A-Za-z0-9]{36,})",
            r"_(?<=github_)(?<![A-Za-z0-9]github_)pat_(?P<github_pat>[A-Za-z0-9_]{22,})",
            r"A(?<![A-Za-z0-9]A)(?P<google>Iza[A-Za-z0-9_-]{35})",
            r"A(?<![A-Z0-9]A)(?P<aws>(?:KIA|SIA|BIA|CCA|3T[A-Z0-9])[A-Z0-9]{16})(?![A-Z0-9])",
            r"J(?<=eyJ)(?<![A-Za-z0-9_-]eyJ)"
            r"(?P<jwt>[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)",
            rf"B(?<![A-Za-z0-9]B)(?i:earer)[ \t]+(?P<bearer>{_BEARER})",
            rf"b(?<![A-Za-z0-9]b)(?i:earer)[ \t]+(?P<bearer_lower>{_BEARER})",
            r"B(?<![A-Za-z0-9]B)asic[ \t]+"
            r"(?P<basic>(?=[A-Za-z0-9+/]*(?:[0-9+/=]|[a-z][A-Z]))[A-Za-z0-9+/]{8,}={0,2})",
            r"://[^/\s:@\"'<>]{1,256}:(?P<url_password>[^/\s@\"'<>]{1,256})@",
        )
    )
)
_BACK = {"google": 1, "aws": 1, "jwt": 3, "pem": 1}
# The value after a sensitive key's separator: quoted, bare, or (headers) the rest of the line.
_VALUE_START = r"[ \t]*(?:[=>]+[ \t]*)?(?:(?P<q>\\?[\"'])(?P<quoted>[^\r\n]*?)(?P=q)|\\?[\"']?"
_VALUE = re.compile(
    _VALUE_START + r"(?P<bare>(?i:(?:bearer|basic|digest|token|bot)[ \t]+)?"
    r"[^\s\"'\\&]*[^\s\"'\\&,;.:)\]}>]))"
)
_LINE_VALUE = re.compile(_VALUE_START + r"(?P<bare>[^\r\n\"'\\]*[^\s\"'\\]))")


def normalize_key(key: str) -> str:
    """One spelling per name: `X-Api-Key`, `x_api_key`, `xApiKey`, `X API KEY` -> `x_api_key`."""
    return _CAMEL.sub("_", key).lower().translate(_TO_UNDERSCORE)


def _sensitive_name(name: str) -> bool:
    if name in _NOT_SECRET_KEYS:
        return False
    return name in _KEY_NAMES or name.endswith(_KEY_ENDINGS) or any(p in name for p in _KEY_PARTS)


def _usage_name(name: str) -> bool:
    """An LLM token count: `max_tokens`, `prompt_tokens`, `token_count`, ..."""
    parts = name.split("_")
    return "tokens" in parts or ("token" in parts and not _USAGE_WORDS.isdisjoint(parts))


def _pair_regex(keys: frozenset[str]) -> re.Pattern[str]:
    """Key-value pairs whose key holds a stem (or one of `keys`), in reversed, lower-cased
    text: the `=` or `:`, then the key read backwards. `https://` is no pair."""
    stems = [re.escape(stem[::-1]) for stem in _KEY_STEMS]
    stems += ["[_-]?".join(re.escape(p[::-1]) for p in reversed(k.split("_"))) for k in keys]
    return re.compile(
        r"[:=](?<!//[:=])[ \t]*[\"']?\\?(?=[a-z0-9_-]{0,63}?(?:"
        + "|".join(stems)
        + r"))([a-z0-9_-]{1,64})"
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
