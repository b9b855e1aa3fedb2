"""Rarer young-generation garbage collections while spans are built (`ship`, `export --format
otlp`): a span is built of many short-lived dicts, and collecting every 700 allocations
(Python's default) cost `ship` a fifth of its time. What is allocated is freed as spans are
written or sent, so memory stays bounded."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

GC_THRESHOLD = 50_000
"""Allocations between two young-generation collections."""


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """`GC_THRESHOLD` inside, the previous thresholds restored after."""
    threshold = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
