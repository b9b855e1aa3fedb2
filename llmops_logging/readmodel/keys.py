"""Field names as the records read from a log hold them, for the loops that look them up in
a million records (`stats`, `runs`).

orjson keeps the keys it reads in a cache, and gives every record the same str object for
the same key. A dict looks for a key by identity before it compares text, so a lookup with
that very object skips the comparison: about 180 of the 500 instructions a `record.get`
costs on this project's reference machine. The names are equal either way, so only speed
depends on it: a key orjson no longer holds (another key took its place in the cache) is
found by its text, as before.
"""

from __future__ import annotations

import orjson


def as_read(*names: str) -> tuple[str, ...]:
    """`names` as the str objects orjson gives for them when it reads them (one by one: two
    equal names give the same object twice)."""
    return tuple(next(iter(orjson.loads(orjson.dumps({name: 0})))) for name in names)
