"""`tail`: the last records of a log, one line each; `tail -f` follows one log's live file
across rotations, each record once, in write order.

The follower holds the live file open by descriptor. When the live path names another inode,
the file it holds was renamed to the next rotated number (`_logset.open_live` tells which):
it drains that descriptor, reads the rotated files that came and went between two polls (a
fast writer rotates more than once per poll), then reads the new live file from offset 0.
A line counts once its newline is there; no more than `MAX_LINE_BYTES` of one is held.

Another process may still be appending to a file just renamed (it checked the live path a
moment before the rename), so rotated plain files stay open and are drained again on every
poll, after the live file, until no writer holds them: writers keep a shared `flock` on the
file they append to, so once an exclusive one is granted no line can land there any more. A
line that a writer added late was written before anything that writer put in the live file,
so it is read in the same poll or an earlier one, and each poll puts every process's records
back in `seq` order. Lines are decoded, and torn ones recovered, by the reader's `decode_line`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import signal
import stat
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TextIO

from .._contract import PID, SEQ
from .._lines import MAX_LINE_BYTES, READ_ERRORS, LineSplitter, decode_line, read_lines
from .._logset import open_live, open_rotated, rotated_files, split_log_path
from .._platform import try_lock_exclusive, unlock
from ..reader import Accept
from . import _steps
from ._output import Progress, record_printer, visible, wants_color
from ._parser import PROG

Record = dict[str, Any]
Sink = Callable[[Record], Any]

GRACE_S = 2.0
"""Without `flock`, how long a rotated file is watched for lines that writers add late."""
MAX_WATCHED = 64
"""At most this many rotated files are watched at once (a descriptor each)."""


class _Tracked:
    """One open file: its descriptor, inode, the offset read up to and an unfinished line."""

    def __init__(self, stream: IO[bytes], on_oversize: Callable[[int], None]) -> None:
        self.stream = stream
        self.fd = stream.fileno()
        self.ino = os.fstat(self.fd).st_ino
        self.pos = 0
        self.on_oversize = on_oversize
        self.lines = LineSplitter(MAX_LINE_BYTES, on_oversize)
        self.since = time.monotonic()

    def read_lines(self) -> Iterator[list[bytes]]:
        """The complete lines written since the last call, a chunk at a time."""
        while True:
            data = os.pread(self.fd, self.lines.chunk, self.pos)
            if not data:
                break
            self.pos += len(data)
            lines = self.lines.feed(data)
            if lines:
                yield lines
        if os.fstat(self.fd).st_size < self.pos:  # truncated in place: start over
            self.pos, self.lines = 0, LineSplitter(MAX_LINE_BYTES, self.on_oversize)

    def released(self) -> bool:
        """Whether no writer holds the file any more (see the module docstring)."""
        try:
            taken = try_lock_exclusive(self.fd)
        except OSError:  # locks not supported by this file system
            taken = None
        if taken is None:  # no locks: watch rotated files for GRACE_S instead
            return time.monotonic() - self.since > GRACE_S
        if taken:
            unlock(self.fd)
        return taken

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
        self.named = not os.path.isdir(path)  # the live file itself, named by the user
        self.accept = accept
        self.torn = 0
        self.oversize = 0
        self.missed: list[str] = []
        self._live: _Tracked | None = None
        self._base = 0  # the live file we hold will be rotated to number _base + 1
        self._watched: deque[_Tracked] = deque()  # recently rotated, oldest first

    # -- reading --------------------------------------------------------------------------

    def _count_oversize(self, line_number: int) -> None:
        self.oversize += 1

    def _track(self, stream: IO[bytes]) -> _Tracked:
        return _Tracked(stream, self._count_oversize)

    def _records(self, lines: Iterable[bytes], sink: Sink) -> None:
        accept = self.accept
        for line in lines:
            record, torn = decode_line(line)
            self.torn += torn
            if record is None:
                continue
            if accept is None or accept(record, line):
                sink(record)

    def _drain(self, tracked: _Tracked, sink: Sink) -> None:
        for lines in tracked.read_lines():
            self._records(lines, sink)

    def _read_rotated(self, path: str, sink: Sink) -> None:
        """A rotated file's records; a plain one a writer still holds is kept open (watched)."""
        opened = open_rotated(path, self.missed)
        if opened is None:
            return
        name, stream = opened
        if name.endswith(".gz"):
            with stream, contextlib.suppress(*READ_ERRORS):
                splitter = LineSplitter(MAX_LINE_BYTES, self._count_oversize)
                self._records(read_lines(stream, splitter), sink)
            return
        tracked = self._track(stream)
        self._drain(tracked, sink)
        if tracked.released():
            self._drain(tracked, sink)
            self._forget(tracked)
        else:
            self._watch(tracked)

    def _watch(self, tracked: _Tracked) -> None:
        tracked.since = time.monotonic()
        self._watched.append(tracked)

    def _expire(self, sink: Sink) -> None:
        """Stop watching the rotated files no writer holds, after reading their last lines."""
        kept: deque[_Tracked] = deque()
        for tracked in self._watched:
            if tracked.released():
                self._drain(tracked, sink)
                self._forget(tracked)
            else:
                kept.append(tracked)
        while len(kept) > MAX_WATCHED:
            self._forget(kept.popleft())
        self._watched = kept

    def _forget(self, tracked: _Tracked) -> None:
        self.torn += tracked.lines.pending  # a line that file never finished
        tracked.close()

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
            self._read_rotated(found[number], sink)

    def _open_live(self) -> tuple[_Tracked | None, int]:
        stream, base = open_live(self.directory, self.live_name, self.missed, named=self.named)
        return (self._track(stream) if stream is not None else None), base

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
            self._read_rotated(path, part.append)
            chunks.append(list(part))
            wanted -= len(part)
        return [record for chunk in reversed(chunks) for record in chunk]

    def poll(self) -> list[Record]:
        """Records written since the last call, each process's in its own order."""
        out: list[Record] = []
        if self._live is not None:
            self._drain(self._live, out.append)
        try:
            current: int | None = os.stat(self.live_path).st_ino
        except FileNotFoundError:
            current = None  # between a rename and the new file's creation: look again next time
        if current is not None and (self._live is None or current != self._live.ino):
            self._switch(out)
        # Last, so that what writers in flight added to rotated files is in this batch
        # (see the module docstring).
        for tracked in self._watched:
            self._drain(tracked, out.append)
        self._expire(out.append)
        return in_process_order(out)

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


def in_process_order(records: list[Record]) -> list[Record]:
    """The records, with each process's own (`pid`) put back in `seq` order in their slots
    (`process_order`)."""
    return [records[index] for index in process_order(records)]


def process_order(records: list[Record]) -> list[int]:
    """The indexes of `records` in the order `in_process_order` gives them: each process's
    own (`pid`) in `seq` order in their slots.

    Records without an integer `pid` and `seq` (other writers') keep their place, and so does
    the order between processes.
    """
    slots: dict[int, list[int]] = {}
    for index, record in enumerate(records):
        pid, seq = record.get(PID), record.get(SEQ)
        if type(pid) is int and type(seq) is int:
            slots.setdefault(pid, []).append(index)
    order = list(range(len(records)))
    for indexes in slots.values():
        if len(indexes) > 1:
            mine = sorted(indexes, key=lambda index: records[index][SEQ])
            for index, taken in zip(indexes, mine, strict=True):
                order[index] = taken
    return order


# -- the command ------------------------------------------------------------------------------


def command(args: argparse.Namespace) -> int:
    out = sys.stdout
    emit = record_printer(out, wants_color(out, args.color), args.json)

    if args.follow:
        return follow(args, emit, out)
    stream = _steps.stream(args)
    for record in deque(Progress(stream.progress).wrap(stream), maxlen=args.lines):
        emit(record)
    _steps.warn(stream.report)
    _steps.say_unmatched(stream.accept)
    return 0


def follow(args: argparse.Namespace, emit: Sink, out: TextIO) -> int:
    """`tail -f`: the last records, then new ones until Ctrl-C, SIGTERM or a closed pipe."""
    paths = _steps.paths(args, empty_ok=True)
    if len(paths) != 1:
        raise _steps.UsageError("tail -f follows one log: give one directory or live file")
    try:
        follower = Follower(paths[0], _steps.accept(args))
    except ValueError as exc:
        raise _steps.UsageError(str(exc)) from None
    stopped: list[int] = []
    try:
        for record in follower.start(args.lines):
            emit(record)
        out.flush()
    except KeyboardInterrupt:
        follower.close()
        return 0
    # From here a signal only sets a flag, so a batch is never cut off half printed.
    previous = {
        sig: signal.signal(sig, lambda signum, frame: stopped.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        while not stopped and not _reader_gone(out):
            batch = follower.poll()
            for record in batch:
                emit(record)
            if batch:
                out.flush()
            else:
                time.sleep(args.interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        follower.close()
    if follower.torn:
        print(f"{PROG}: skipped {_steps.plural(follower.torn, 'torn line')}", file=sys.stderr)
    if follower.oversize:
        print(
            f"{PROG}: skipped {_steps.plural(follower.oversize, 'line')} longer than the limit, "
            "unread",
            file=sys.stderr,
        )
    for missed in follower.missed:
        print(f"{PROG}: {visible(missed)}", file=sys.stderr)
    _steps.say_unmatched(follower.accept)
    return 0


def _reader_gone(out: TextIO) -> bool:
    """Whether the pipe we print to was closed (`tail -f | head` with head done): stop then,
    rather than wait for the next record to fail on it."""
    poll = getattr(select, "poll", None)
    try:
        fd = out.fileno()
        if poll is None or not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
    except (OSError, ValueError):
        return False
    watcher = poll()
    watcher.register(fd, 0)  # POLLERR and POLLHUP are always reported
    return any(event & (select.POLLERR | select.POLLHUP) for _, event in watcher.poll(0))
