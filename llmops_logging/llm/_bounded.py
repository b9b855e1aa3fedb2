"""A bounded map of what an instrumentation opened and waits to see end.

A framework reports the start of a span (a run, a call) and later its end; what the start
opened is held until then under the framework's id. Some never end: a stream dropped, a worker
killed, a span its framework forgot to end. Held for the life of the process, they would grow
the map without bound. Past `LIMIT` entries the oldest is forgotten, silently: its end, if it
still comes, writes nothing, and its start record stays, so a reader sees a scope that never
ended. Not counted as an internal error: the framework dropped the span, nothing failed here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

LIMIT = 10_000
"""Entries kept at most; read at each insertion (a test may lower it)."""


class Bounded(Generic[K, V]):
    """A map from a framework's id to what its start opened, the oldest forgotten past
    `LIMIT`; each operation is atomic (frameworks call from several threads)."""

    __slots__ = ("_items", "_lock")

    def __init__(self) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __setitem__(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > LIMIT:
                self._items.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def pop(self, key: K) -> V | None:
        with self._lock:
            return self._items.pop(key, None)

    def values(self) -> list[V]:
        """A copy: another thread may change the map meanwhile."""
        with self._lock:
            return list(self._items.values())
