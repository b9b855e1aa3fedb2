"""Line framing and recovery: how the bytes of a log file become lines, and lines records.

Reading holds at most a limit of any one line, so memory stays bounded whatever the length of
a line: a longer line is dropped as it streams past (`capped_lines` with `is_cut` and
`skip_rest` for a file read to its end, `LineSplitter` for bytes fed as they come). A record
glued to a killed writer's fragment is recovered (`recover_glued`); `decode_line` is the whole
rule for one line, which `validate` and `tail -f` share with the reader's loop. `plain_lines`
tells a block of lines that a faster parser (Arrow's) may read whole.
"""

from __future__ import annotations

import functools
import itertools
import zlib
from collections.abc import Callable, Iterator
from typing import IO

import orjson

from ._contract import Record

RECORD_START = b'{"ts":"'
"""How every line this library writes begins (the stamps come first)."""
READ_ERRORS = (OSError, EOFError, zlib.error)
"""What reading a file can raise midway: a truncated or corrupt gzip, an I/O error."""
MAX_LINE_BYTES = 16 * 2**20
"""Longer lines are skipped unread: 64 times the writer's default `max_record_bytes`."""
MAX_RECOVERY_TRIES = 64
"""Record starts tried on one torn line, so a hostile line costs a bounded number of parses."""
CHUNK = 1 << 20
"""Bytes read at a time (and the buffer of an open log file)."""
MAX_DEPTH = 1024
"""How deep orjson nests objects and arrays; it refuses a line that goes deeper."""


def capped_lines(stream: IO[bytes], limit: int) -> Iterator[bytes]:
    """The lines of `stream` with their newline, none read past `limit + 1` bytes.

    A longer line comes out as its first `limit + 1` bytes without a newline (`is_cut`): the
    caller drops the rest with `skip_rest` before taking the next line. Buffered `readline`
    with a size, in C: the bulk read's decode loop stays as fast as a plain line loop.
    """
    return iter(functools.partial(stream.readline, limit + 1), b"")


def is_cut(line: bytes, limit: int) -> bool:
    """Whether `line` from `capped_lines` is only the start of a line longer than `limit`."""
    return len(line) > limit and not line.endswith(b"\n")


def skip_rest(stream: IO[bytes]) -> None:
    """Reads and drops the rest of a cut line, a chunk at a time."""
    while (piece := stream.readline(CHUNK)) and not piece.endswith(b"\n"):
        pass


class LineSplitter:
    """Cuts bytes fed as they come (`tail -f`) into lines (without `\\n`), holding at most
    `limit` bytes of one line.

    A longer line is dropped piece by piece as it arrives; an empty line takes its place, so
    later line numbers stay right, and `on_oversize(number)` is called when it ends. Feed it
    pieces of at most `chunk` bytes, so no complete line inside a piece can exceed the limit.
    """

    def __init__(self, limit: int, on_oversize: Callable[[int], None]) -> None:
        self.limit = limit
        self.chunk = min(CHUNK, limit)
        self.on_oversize = on_oversize
        self.lines = 0
        """Lines completed so far (the number of the last line handed out)."""
        self._head: list[bytes] = []
        self._size = 0
        self._skipping = False

    @property
    def pending(self) -> bool:
        """Whether part of an unfinished line was seen."""
        return self._skipping or bool(self._head)

    def feed(self, data: bytes) -> list[bytes]:
        """The lines that `data` completes."""
        lines = data.split(b"\n")
        tail = lines.pop()
        if lines:
            if self._skipping or self._size + len(lines[0]) > self.limit:
                self.on_oversize(self.lines + 1)
                lines[0] = b""
            elif self._head:
                lines[0] = b"".join((*self._head, lines[0]))
            self._head, self._size, self._skipping = [], 0, False
            self.lines += len(lines)
        if tail and not self._skipping:
            self._size += len(tail)
            if self._size > self.limit:
                self._head, self._size, self._skipping = [], 0, True
            else:
                self._head.append(tail)
        return lines

    def finish(self) -> list[bytes]:
        """The last line, when the stream ended without a newline after it."""
        if not self.pending:
            return []
        self.lines += 1
        if self._skipping:
            self.on_oversize(self.lines)
            line = b""
        else:
            line = b"".join(self._head)
        self._head, self._size, self._skipping = [], 0, False
        return [line]


def read_lines(stream: IO[bytes], splitter: LineSplitter) -> Iterator[bytes]:
    """Every line of `stream` through `splitter`, read a chunk at a time."""

    def batches() -> Iterator[list[bytes]]:
        # read1: what one inflated block gives, so the lines before a truncated gzip's end
        # are not lost with the error it raises.
        read = getattr(stream, "read1", stream.read)
        size, feed = splitter.chunk, splitter.feed
        while data := read(size):
            yield feed(data)
        yield splitter.finish()

    return itertools.chain.from_iterable(batches())


def broke_off(name: str, error: BaseException, number: int) -> str:
    """The report's note of a file that broke off (`READ_ERRORS`) after line `number`."""
    return f"{name}: {type(error).__name__}: {error} after line {number}"


def plain_lines(block: bytes, lines: int) -> bool:
    """Whether each of the `lines` lines of `block` could be one record as orjson reads it:
    it starts with `{` and ends with `}`, all of it is UTF-8, and, if it is JSON, it nests
    objects and arrays no deeper than orjson reads (`MAX_DEPTH`).

    Then no JSON value can run from one line into the next (after a `}` inside an object or
    array, a `{` cannot follow), so a parser that reads `lines` values from the block read
    one from each line. Blank lines, a line ending in `\\r` or a space, a foreign line that
    is not an object, a pretty-printed object all fail this, and go line by line.
    """
    if not (block.startswith(b"{") and block.endswith(b"}\n")):
        return False
    if block.count(b"}\n{") != lines - 1:
        return False
    if not block.isascii():
        try:
            block.decode()
        except UnicodeDecodeError:
            return False
    return _shallow(block)


def _shallow(block: bytes) -> bool:
    """Whether no line of `block` that is valid JSON nests deeper than `MAX_DEPTH`.

    Each level takes two bytes (its brackets), so only a line of over `2 * MAX_DEPTH` bytes
    can; such a line covers a whole window of `MAX_DEPTH` bytes with no newline in it, and
    the brackets of each line found that way are counted.
    """
    step = MAX_DEPTH
    find, count = block.find, block.count
    start, size = 0, len(block)
    while start < size:
        if find(b"\n", start, start + step) >= 0:
            start += step
            continue
        first = block.rfind(b"\n", 0, start) + 1
        end = find(b"\n", start)
        if count(b"{", first, end) + count(b"[", first, end) > MAX_DEPTH:
            return False
        start = end + 1
    return True


def decode_line(line: bytes) -> tuple[Record | None, bool]:
    """`(record, torn)` for one line: its object; for a torn or non-object line `torn` and the
    record glued after the fragment, if any (`recover_glued`); `(None, False)` for a blank
    line. `validate` and `tail -f` decode through this; `read_events` inlines the same steps
    in its loop: measured on 200k records of ~200 bytes, the call costs ~140 ns a line, 7% of
    `read_events`' ~2 µs."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        record = None
    if type(record) is dict:
        return record, False
    if not line.strip():
        return None, False
    return recover_glued(line), True


def recover_glued(line: bytes) -> Record | None:
    """The whole record a torn line ends with, after the fragment a killed writer left.

    Every record of this library starts with `{"ts":"`, and a writer killed mid-line leaves
    no newline, so the next record can follow the fragment on its line. The leftmost start
    from which the rest of the line parses is that record (a later start would be an object
    nested in it). `read_events`, `validate` and `tail -f` all recover through this.
    """
    view = memoryview(line)
    start = line.find(RECORD_START, 1)
    for _ in range(MAX_RECOVERY_TRIES):
        if start < 0:
            break
        try:
            record = orjson.loads(view[start:])
        except orjson.JSONDecodeError:
            start = line.find(RECORD_START, start + 1)
            continue
        return record if type(record) is dict else None
    return None
