"""`tail -f`: follow one log's live file across rotations, each record once, in write order.

The follower holds the live file open by descriptor. When the live path names another inode,
the file it holds was renamed to the next rotated number (`reader.open_live` tells which):
it drains that descriptor, reads the rotated files that came and went between two polls (a
fast writer rotates more than once per poll), then reads the new live file from offset 0.
A line counts once its newline is there.

Another process may still be appending to a file just renamed (it checked the live path a
moment before the rename), so recently rotated plain files stay open and are drained again on
every poll for a grace period; such a late line is printed when it lands.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import orjson

from .reader import (
    READ_ERRORS,
    Accept,
    ReadReport,
    open_live,
    open_rotated,
    rotated_files,
    split_log_path,
)

Record = dict[str, Any]
Sink = Callable[[Record], Any]
_CHUNK = 1 << 20
GRACE_S = 2.0
"""How long a rotated file is watched for lines that writers in flight add late."""
MAX_WATCHED = 64
"""At most this many rotated files are watched at once (a descriptor each)."""


class _Tracked:
    """One open file: its descriptor, inode, the offset read up to and an unfinished line."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.fd = stream.fileno()
        self.ino = os.fstat(self.fd).st_ino
        self.pos = 0
        self.partial = b""
        self.since = time.monotonic()

    def read_lines(self) -> Iterator[list[bytes]]:
        """The complete lines written since the last call, a chunk at a time."""
        while True:
            data = os.pread(self.fd, _CHUNK, self.pos)
            if not data:
                break
            self.pos += len(data)
            data = self.partial + data
            end = data.rfind(b"\n") + 1
            self.partial = data[end:]
            if end:
                yield data[:end].splitlines()
        if os.fstat(self.fd).st_size < self.pos:  # truncated in place: start over
            self.pos, self.partial = 0, b""

    def close(self) -> None:
        self.stream.close()


class Follower:
    """Polls a log for new records; `start(n)` gives the last n records, then `poll()` the rest."""

    def __init__(self, path: str, accept: Accept | None = None) -> None:
        directory, self.live_name, single = split_log_path(path)
        if single:
            raise ValueError(f"{path} is a rotated file: follow its directory or live file")
        self.directory = directory
        self.live_path = os.path.join(directory, self.live_name)
        self.accept = accept
        self.torn = 0
        self.missed: list[str] = []
        self._live: _Tracked | None = None
        self._base = 0  # the live file we hold will be rotated to number _base + 1
        self._watched: deque[_Tracked] = deque()  # recently rotated, oldest first

    # -- reading --------------------------------------------------------------------------

    def _records(self, lines: Iterable[bytes], sink: Sink) -> None:
        accept = self.accept
        for line in lines:
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                record = None
            if not isinstance(record, dict):
                self.torn += bool(line.strip())
                continue
            if accept is None or accept(record, line):
                sink(record)

    def _drain(self, tracked: _Tracked, sink: Sink) -> None:
        for lines in tracked.read_lines():
            self._records(lines, sink)

    def _read_rotated(self, path: str, sink: Sink, watch: bool) -> None:
        """A rotated file's records; a plain one is kept open (watched) when `watch`."""
        report = ReadReport()
        opened = open_rotated(path, report)
        self.missed += report.errors
        if opened is None:
            return
        name, stream = opened
        if name.endswith(".gz") or not watch:
            with stream, contextlib.suppress(*READ_ERRORS):
                self._records(stream, sink)
            return
        tracked = _Tracked(stream)
        self._drain(tracked, sink)
        self._watch(tracked)

    def _watch(self, tracked: _Tracked) -> None:
        tracked.since = time.monotonic()
        self._watched.append(tracked)

    def _expire(self) -> None:
        now = time.monotonic()
        watched = self._watched
        while watched and (len(watched) > MAX_WATCHED or now - watched[0].since > GRACE_S):
            old = watched.popleft()
            self.torn += bool(old.partial)  # a line that file never finished
            old.close()

    def _read_numbers(self, low: int, high: int, sink: Sink) -> None:
        """Every record of the rotated files numbered `low` to `high`, oldest first.

        Numbers have no gaps, so a gap means the listing ran while a file was being compressed
        and missed it (list again), or that retention removed it first (nothing to be done).
        """
        found: dict[int, str] = {}
        for attempt in range(5):
            found = {n: p for n, p in rotated_files(self.directory, self.live_name)
                     if low <= n <= high}  # fmt: skip
            if len(found) == high - low + 1:
                break
            time.sleep(0.001 * attempt)
        for number in range(low, high + 1):
            if number not in found:
                self.missed.append(f"rotated file number {number} was gone before it was read")
        for number in sorted(found):
            self._read_rotated(found[number], sink, watch=True)

    def _open_live(self) -> tuple[_Tracked | None, int]:
        stream, base = open_live(self.directory, self.live_name)
        return (_Tracked(stream) if stream is not None else None), base

    # -- the public steps -----------------------------------------------------------------

    def start(self, n: int) -> list[Record]:
        """The last `n` matching records, and the position to follow from."""
        self._live, self._base = self._open_live()
        newest: deque[Record] = deque(maxlen=n)
        if self._live is not None:
            self._drain(self._live, newest.append)
        chunks = [list(newest)]
        wanted = n - len(newest)
        rotated = rotated_files(self.directory, self.live_name)
        for _, path in reversed([(k, p) for k, p in rotated if k <= self._base]):
            if wanted <= 0:
                break
            part: deque[Record] = deque(maxlen=wanted)
            self._read_rotated(path, part.append, watch=False)
            chunks.append(list(part))
            wanted -= len(part)
        return [record for chunk in reversed(chunks) for record in chunk]

    def poll(self) -> list[Record]:
        """Records written since the last call, in write order."""
        out: list[Record] = []
        for tracked in self._watched:
            self._drain(tracked, out.append)
        self._expire()
        if self._live is not None:
            self._drain(self._live, out.append)
        try:
            current = os.stat(self.live_path).st_ino
        except FileNotFoundError:
            return out  # between a rename and the new file's creation: look again next time
        if self._live is None or current != self._live.ino:
            self._switch(out)
        return out

    def _switch(self, out: list[Record]) -> None:
        old, old_base = self._live, self._base
        new, new_base = self._open_live()
        if new is None:
            return
        if old is not None:
            self._drain(old, out.append)  # what was written before the rename
            self._watch(old)
        # old_base + 1 is the file we held (read through its descriptor); any numbers after
        # it up to new_base came and went between two polls: read them whole.
        self._read_numbers(old_base + (2 if old is not None else 1), new_base, out.append)
        self._live, self._base = new, new_base

    def close(self) -> None:
        for tracked in [*self._watched, *([self._live] if self._live else [])]:
            tracked.close()
        self._watched.clear()
