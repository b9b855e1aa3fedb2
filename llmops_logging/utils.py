"""Small helpers for agent and workshop code: timing, ids, timestamps, seeded randomness, JSONL."""

from __future__ import annotations

import importlib
import os
import random
import time
import uuid
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from ._render import render_line
from .processors import format_ts

__all__ = ["Timer", "jitter", "new_run_id", "now_iso", "random_seed", "write_jsonl"]


class Timer:
    """Elapsed seconds on `time.perf_counter`; a context manager, or `start()` / `stop()`."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.stopped: float | None = None

    def start(self) -> Timer:
        self.started = time.perf_counter()
        self.stopped = None
        return self

    def stop(self) -> float:
        if self.started is None:
            raise RuntimeError("Timer.stop() before start()")
        self.stopped = time.perf_counter()
        return self.elapsed

    @property
    def elapsed(self) -> float:
        """Seconds since start, up to stop when stopped; 0.0 before start."""
        if self.started is None:
            return 0.0
        end = self.stopped if self.stopped is not None else time.perf_counter()
        return end - self.started

    def __enter__(self) -> Timer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def new_run_id() -> str:
    """A fresh run id: a uuid4 string."""
    return str(uuid.uuid4())


def now_iso() -> str:
    """The current UTC time as fixed-width ISO-8601 with microseconds (the records' `ts`)."""
    return format_ts(time.time_ns())


def random_seed(seed: int) -> int:
    """Seed Python's global `random` (and NumPy's, when installed) so runs repeat; returns seed."""
    random.seed(seed)
    try:  # optional: NumPy is no dependency, so it is looked up only at run time
        numpy = importlib.import_module("numpy")
    except ImportError:
        return seed
    numpy.random.seed(seed % 2**32)
    return seed


def jitter(p: float = 0.5, rng: random.Random | None = None) -> bool:
    """One Bernoulli sample: True with probability `p`, from `rng` or the global `random`."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be between 0 and 1, not {p!r}")
    return (rng or random).random() < p


def write_jsonl(path: str | os.PathLike[str], records: Iterable[Mapping[str, Any]]) -> int:
    """Append records to `path` as UTF-8 JSON lines, one `write` per line; returns the count."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o644)
    count = 0
    try:
        for record in records:
            os.write(fd, render_line(record, max_bytes=0))
            count += 1
    finally:
        os.close(fd)
    return count
