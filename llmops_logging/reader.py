"""read_events(): the records of one or more logs, across rotated and gzipped files, oldest first.

A log is its live file plus the rotated files beside it (`events.jsonl.000001`, ... and their
`.gz` forms). Other files under the log's glob (logrotate's `events.jsonl.1`, a `.bak` copy)
are not part of it: they are listed in the report as unread, never skipped silently.

Reading streams a chunk at a time and holds at most `max_line_bytes` of any one line, so
memory stays bounded whatever the size of the log or the length of a line (a longer line is
dropped as it streams past and reported as oversize). Lines that are torn or not JSON objects
are skipped and counted in the stream's `report` instead of raising: a log written by crashing
processes must still be readable, and a record glued to a killed writer's fragment is
recovered (`recover_glued`, shared with `validate` and `tail -f`).

A faster parser (Arrow's, for the Parquet export) can take the log a block of whole lines at
a time (`EventStream.blocks`): a block whose lines all look like plain records goes to it,
any other block, or one it refuses, through the same line loop, so the records and the
report are the same either way.

Files come and go while writers rotate, compress and prune, so a read takes a consistent
snapshot: `open_live` pins the live file together with the rotated number it will get, the
rotated files below that number are read first (a plain one compressed meanwhile is read from
its `.gz`), then the live file through the descriptor held since the start.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import gzip
import io
import itertools
import os
import re
import stat
import time
import zlib
from collections.abc import Callable, Collection, Generator, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import IO, Any, TypeVar, cast

import orjson

from ._contract import (
    FOUND_FILE_FLAGS,
    KIND,
    LEVEL,
    LEVELS,
    LIVE_NAME,
    O_NONBLOCK,
    RUN_ID,
    TS,
    Record,
    StrPath,
    rotated_name,
    rotated_pattern,
)

Accept = Callable[[Record, bytes], bool]
T = TypeVar("T")

MAX_BAD_KEPT = 10_000
"""`report.bad` keeps the first this many places; `report.bad_count` counts them all."""
RECORD_START = b'{"ts":"'
"""How every line this library writes begins (the stamps come first)."""

READ_ERRORS = (OSError, EOFError, zlib.error)
"""What reading a file can raise midway: a truncated or corrupt gzip, an I/O error."""
MAX_LINE_BYTES = 16 * 2**20
"""Longer lines are skipped unread: 64 times the writer's default `max_record_bytes`."""
MAX_RECOVERY_TRIES = 64
"""Record starts tried on one torn line, so a hostile line costs a bounded number of parses."""
CHUNK = 1 << 20
MAX_DEPTH = 1024
"""How deep orjson nests objects and arrays; it refuses a line that goes deeper."""
_ANY_ROTATED = re.compile(r"\.\d+(\.gz)?$")


@dataclass
class ReadReport:
    """What a read saw: filled in as the stream is consumed, final once it is exhausted."""

    files: list[str] = field(default_factory=list)
    lines: int = 0
    records: int = 0
    """Lines that held a JSON object, whether or not a filter kept them."""
    matched: int = 0
    """Records that passed the filters (the ones yielded)."""
    bad: list[str] = field(default_factory=list)
    """`file:line` of each torn or non-JSON line (the first `MAX_BAD_KEPT`)."""
    bad_count: int = 0
    oversize: list[str] = field(default_factory=list)
    """`file:line` of each line longer than `max_line_bytes`, skipped unread (the first
    `MAX_BAD_KEPT`)."""
    oversize_count: int = 0
    unread: list[str] = field(default_factory=list)
    """Files under the log's glob that are not of its naming (another tool's, such as
    logrotate's `events.jsonl.1`): not read; name one on its own to read it."""
    errors: list[str] = field(default_factory=list)
    """Files that vanished or broke off (a truncated gzip, say) while being read."""

    def add_bad(self, where: str) -> None:
        self.bad_count += 1
        if len(self.bad) < MAX_BAD_KEPT:
            self.bad.append(where)

    def add_oversize(self, where: str) -> None:
        self.oversize_count += 1
        if len(self.oversize) < MAX_BAD_KEPT:
            self.oversize.append(where)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- which files make a log ------------------------------------------------------------------


def split_log_path(path: StrPath) -> tuple[str, str, bool]:
    """`(directory, file name, single)` for a path; `single` for a rotated file named alone."""
    text = os.fspath(path)
    if os.path.isdir(text):
        return text, LIVE_NAME, False
    directory, name = os.path.split(text)
    return directory, name, bool(_ANY_ROTATED.search(name)) and os.path.isfile(text)


def _scan(directory: str, live_name: str) -> tuple[dict[int, str], list[str]]:
    """The log's rotated files by number, and the other names under its glob, sorted.

    Only the writer's own spelling of a number counts (`events.jsonl.000002`): logrotate's
    `events.jsonl.2` would otherwise take the same number and hide one of the two files.
    """
    pattern = rotated_pattern(live_name)
    found: dict[int, str] = {}
    others: list[str] = []
    try:
        names = os.listdir(directory or ".")
    except (FileNotFoundError, NotADirectoryError):
        return found, others
    for name in names:
        if not name.startswith(live_name) or name == live_name:
            continue
        match = pattern.match(name)
        number = int(match.group(1)) if match else -1
        if not match or name != rotated_name(live_name, number, bool(match.group(2))):
            others.append(name)
        elif match.group(2) or number not in found:
            found[number] = name
    return found, sorted(others)


def _list_rotated(directory: str, live_name: str) -> dict[int, str]:
    return _scan(directory, live_name)[0]


def unread_files(directory: str, live_name: str = LIVE_NAME) -> list[str]:
    """Paths under the log's glob (`events.jsonl*`) that are not files of the log."""
    return [os.path.join(directory, name) for name in _scan(directory, live_name)[1]]


def rotated_files(directory: str, live_name: str = LIVE_NAME) -> list[tuple[int, str]]:
    """`(number, path)` of the rotated files, oldest first; the `.gz` wins over a plain twin.

    A listing that runs while a file is being compressed can miss both of its names (a
    directory scan need not see entries renamed during it). Numbers have no gaps, but for
    files someone removed, so a gap is listed again, a few times.
    """
    found = _list_rotated(directory, live_name)
    for attempt in range(1, 4):
        if not found or len(found) == max(found) - min(found) + 1:
            break
        time.sleep(0.001 * attempt)
        found = _list_rotated(directory, live_name)
    return [(n, os.path.join(directory, found[n])) for n in sorted(found)]


def open_live(
    directory: str,
    live_name: str = LIVE_NAME,
    report: ReadReport | None = None,
    named: bool = False,
) -> tuple[IO[bytes] | None, int]:
    """The live file, open, and the newest rotated number from a moment it surely was live.

    Numbers only grow, so the file we hold will be rotated to exactly that number plus one,
    and every lower number is older. The same newest number in listings before and after the
    open, and the live name still pointing at what we opened, prove no rotation raced it.
    A live file the user `named` (not found in a directory) is opened even through a link;
    a refused one is noted in `report`.
    """
    live_path = os.path.join(directory, live_name)
    newest = max(_list_rotated(directory, live_name), default=0)
    for _ in range(1000):
        try:
            stream: IO[bytes] | None = open_log_file(live_path, found=not named)
        except (FileNotFoundError, IsADirectoryError):
            stream = None
        except OSError as exc:  # a link or a FIFO planted at the live name
            stream = None
            _refused(live_path, exc, report)
        after = max(_list_rotated(directory, live_name), default=0)
        if after == newest and (stream is None or _names(live_path, stream)):
            return stream, newest
        if stream is not None:
            stream.close()
        newest = after
    raise OSError(errno.EAGAIN, f"{live_path} rotates too fast to read")


def log_files(path: StrPath) -> list[str]:
    """The files of the log at `path` in write order; raises FileNotFoundError if there are none.

    A directory means its `events.jsonl` log (possibly empty); a file means that file and its
    rotated siblings; a rotated file (`name.000003[.gz]`) given on its own is read alone.
    """
    directory, name, single = split_log_path(path)
    if single:
        return [os.fspath(path)]
    files = [p for _, p in rotated_files(directory, name)]
    live = os.path.join(directory, name)
    if os.path.isfile(live):
        files.append(live)
    if not files and not os.path.isdir(path):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), os.fspath(path))
    return files


class _GzipOwning(gzip.GzipFile):
    """A gzip reader of an open file that closes the file with itself, as `gzip.open` does."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


class RefusedFileError(OSError):
    """A file found under a log's name that is no log file: a link, a FIFO, a device."""


def open_log_file(path: str, found: bool = False) -> IO[bytes]:
    """A binary stream of the file, gunzipped when its name ends in `.gz`.

    Read through `capped_lines` (or `read_lines`), it never holds more than the limit of one
    line: `gzip` inflates no more than the size asked for, so a small bomb never expands whole.
    A file `found` in a log's directory (not named by the user) is opened only when it is a
    regular file there: the writer never makes a link, so a link there was planted and would
    bring another file's lines into the log, and a FIFO would block the reader forever.
    """
    if found:
        fd = os.open(path, os.O_RDONLY | FOUND_FILE_FLAGS)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise RefusedFileError(errno.EINVAL, f"{path}: not a regular file, not read")
            if O_NONBLOCK:
                os.set_blocking(fd, True)
            raw: IO[bytes] = open(fd, "rb", buffering=CHUNK)  # noqa: SIM115  # the caller closes it
        except BaseException:
            os.close(fd)
            raise
        if path.endswith(".gz"):
            return cast(IO[bytes], _GzipOwning(raw))
        return raw
    if path.endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb", buffering=CHUNK)


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


def _names(path: str, stream: IO[bytes]) -> bool:
    """Whether `path` still names the file open as `stream`."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(stream.fileno()))
    except FileNotFoundError:
        return False


def open_rotated(path: str, report: ReadReport) -> tuple[str, IO[bytes]] | None:
    """Open a rotated file, or its `.gz` if compression replaced it since the listing."""
    for candidate in (path, path + ".gz") if not path.endswith(".gz") else (path,):
        try:
            return candidate, open_log_file(candidate, found=True)
        except FileNotFoundError:
            continue
        except OSError as exc:  # a link or a FIFO planted at a rotated name
            _refused(candidate, exc, report)
            return None
    report.errors.append(f"{path}: removed before it could be read")
    return None


def _refused(path: str, exc: OSError, report: ReadReport | None) -> None:
    """Note once that a file under the log's name was not read, and why."""
    if isinstance(exc, RefusedFileError):
        note = str(exc)
    elif exc.errno == errno.ELOOP:
        note = f"{path}: a symbolic link, not read (the writer never makes one)"
    else:
        note = f"{path}: {exc.strerror or exc}, not read"
    if report is not None and note not in report.errors:
        report.errors.append(note)


def log_streams(path: StrPath, report: ReadReport) -> Iterator[tuple[str, IO[bytes]]]:
    """`(name, open stream)` for each file of one log, in write order, opened one by one.

    Vanished files are noted in `report.errors`; the caller closes each stream.
    """
    directory, name, single = split_log_path(path)
    if single:
        yield os.fspath(path), open_log_file(os.fspath(path))
        return
    report.unread += unread_files(directory, name)
    live, base = open_live(directory, name, report, named=not os.path.isdir(path))
    try:
        for number, rotated in rotated_files(directory, name):
            if number > base:
                break  # the live file we hold, rotated since: read it through `live`
            opened = open_rotated(rotated, report)
            if opened is not None:
                yield opened
        if live is not None:
            stream, live = live, None
            yield os.path.join(directory, name), stream
    finally:
        if live is not None:
            live.close()


# -- filters ----------------------------------------------------------------------------------


_FRACTION = re.compile(r"(\d\d:\d\d:\d\d)[.,](\d+)")


def ts_parts(value: Any) -> tuple[datetime, int] | None:
    """An ISO-8601 time as (the time to the microsecond, its nanoseconds beyond), or None if
    `value` is not one. The same on every Python: a trailing `Z` is UTC and a fraction of any
    length is read (truncated to nanoseconds), which `datetime.fromisoformat` refuses before
    3.11. The time is naive when the text names no zone."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = f"{text[:-1]}+00:00"
    extra = 0
    fraction = _FRACTION.search(text)
    if fraction is not None:
        digits = fraction.group(2)
        extra = int(digits[6:9].ljust(3, "0")) if len(digits) > 6 else 0
        text = f"{text[: fraction.end(1)]}.{digits[:6].ljust(6, '0')}{text[fraction.end(2) :]}"
    try:
        return datetime.fromisoformat(text), extra
    except ValueError:
        return None


def parse_ts(value: str) -> datetime:
    """An ISO-8601 time (`ts_parts`); a time without zone is taken as UTC. ValueError if
    `value` is not one."""
    parts = ts_parts(value.replace(" ", "T", 1))
    if parts is None:
        raise ValueError(f"not an ISO-8601 time: {value!r}")
    moment = parts[0]
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def ts_key(value: datetime | str) -> str:
    """The contract's fixed-width UTC form, which orders correctly as a plain string."""
    moment = parse_ts(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _record_ts(record: Record) -> str | None:
    ts = record.get(TS)
    if not isinstance(ts, str):
        return None
    if len(ts) == 32 and ts.endswith("+00:00"):
        return ts
    try:
        return ts_key(ts)
    except ValueError:
        return None


def _field_in(name: str, wanted: Collection[str]) -> Callable[[Record, bytes], bool]:
    def accept(record: Record, line: bytes) -> bool:
        value = record.get(name)
        return isinstance(value, str) and value in wanted

    return accept


def make_filter(
    *,
    run_id: str | Collection[str] | None = None,
    kind: str | Collection[str] | None = None,
    level: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    grep: str | re.Pattern[str] | None = None,
    where: Callable[[Record], bool] | None = None,
) -> Accept | None:
    """One predicate `(record, raw line) -> bool` for all the filters given, None for none."""
    tests: list[Accept] = []
    if run_id is not None:
        tests.append(_field_in(RUN_ID, {run_id} if isinstance(run_id, str) else set(run_id)))
    if kind is not None:
        tests.append(_field_in(KIND, {kind} if isinstance(kind, str) else set(kind)))
    if level is not None:
        floor = LEVELS.get(level.lower())
        if floor is None:
            raise ValueError(f"unknown level {level!r}; one of {', '.join(LEVELS)}")
        tests.append(_field_in(LEVEL, {n for n, v in LEVELS.items() if v >= floor}))
    if since is not None or until is not None:
        low = ts_key(since) if since is not None else ""
        high = ts_key(until) if until is not None else "\uffff"

        def in_window(record: Record, line: bytes) -> bool:
            ts = _record_ts(record)
            return ts is not None and low <= ts < high

        tests.append(in_window)
    if grep is not None:
        search = (re.compile(grep) if isinstance(grep, str) else grep).search
        tests.append(lambda record, line: search(line.decode("utf-8", "replace")) is not None)
    if where is not None:
        tests.append(lambda record, line: bool(where(record)))
    if not tests:
        return None
    if len(tests) == 1:
        return tests[0]
    return lambda record, line: all(test(record, line) for test in tests)


# -- the stream -------------------------------------------------------------------------------


class EventStream:
    """The records of one or more logs in write order; `.report` says what was read.

    One pass only, like a generator: iterate it (or call `next()`), or read it by `blocks()`;
    `close()` (or `with`) releases the open file early. `progress()` gives bytes read so far
    and the total.
    """

    def __init__(
        self,
        paths: Iterable[StrPath],
        accept: Accept | None = None,
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        self.paths = [os.fspath(p) for p in paths]
        for path in self.paths:
            log_files(path)  # a missing path fails here, before any record is read
        self.accept = accept
        if max_line_bytes < 1:
            raise ValueError(f"max_line_bytes must be at least 1, not {max_line_bytes}")
        self.max_line_bytes = max_line_bytes
        self.report = ReadReport()
        self._records: Generator[Any, None, None] | None = None
        self._blockwise = False
        self._current: IO[bytes] | None = None
        self._done_bytes = 0
        self._total_bytes: int | None = None

    def __iter__(self) -> Iterator[Record]:
        if self._blockwise:
            raise RuntimeError("this EventStream is read by blocks()")
        if self._records is None:
            self._records = self._read()
        return self._records

    def __next__(self) -> Record:
        return next(iter(self))

    def close(self) -> None:
        if self._records is not None:
            self._records.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def progress(self) -> tuple[int, int]:
        """`(bytes read, bytes in all files)`, compressed bytes for gzip files."""
        if self._total_bytes is None:
            total = 0
            for path in self.paths:
                with contextlib.suppress(OSError):  # files may vanish: a guess is enough
                    total += sum(os.path.getsize(name) for name in log_files(path))
            self._total_bytes = total
        done = self._done_bytes
        current = self._current
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if current is not None:
                raw = current.fileobj if isinstance(current, gzip.GzipFile) else current
                done += raw.tell()
        return done, max(done, self._total_bytes)

    def _read(self) -> Generator[Record, None, None]:
        for name, stream in self._files():
            yield from self._decode(name, stream)

    def _files(self) -> Generator[tuple[str, IO[bytes]], None, None]:
        """`(name, stream)` of each file of the logs in turn, listed in the report, closed and
        counted as read once the caller is done with it."""
        for path in self.paths:
            for name, stream in log_streams(path, self.report):
                self.report.files.append(name)
                self._current = stream
                try:
                    yield name, stream
                finally:
                    with contextlib.suppress(OSError):
                        self._done_bytes += os.fstat(stream.fileno()).st_size
                    self._current = None
                    stream.close()

    def _decode(self, name: str, stream: IO[bytes], first: int = 0) -> Iterator[Record]:
        """The records of the lines of `stream`, numbered on from `first` in file `name`, one
        line at a time; what they held and what was skipped is counted in the report."""
        report = self.report
        accept = self.accept
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        number = first
        skipped = matched = recovered = 0
        limit = self.max_line_bytes
        try:
            for number, line in enumerate(capped_lines(stream, limit), first + 1):
                if len(line) > limit and is_cut(line, limit):  # one comparison, mostly
                    skip_rest(stream)
                    skipped += 1
                    report.add_oversize(f"{name}:{number}")
                    continue
                try:
                    record = loads(line)
                except decode_error:
                    skipped += 1
                    if line.strip():
                        report.add_bad(f"{name}:{number}")
                    glued = recover_glued(line)
                    if glued is None:
                        continue
                    record, recovered = glued, recovered + 1
                if type(record) is not dict:
                    skipped += 1
                    report.add_bad(f"{name}:{number}")
                    continue
                if accept is None:
                    yield record
                elif accept(record, line):
                    matched += 1
                    yield record
        except READ_ERRORS as exc:
            report.errors.append(_broke_off(name, exc, number))
        finally:
            lines = number - first
            report.lines += lines
            report.records += lines - skipped + recovered
            report.matched += (lines - skipped + recovered) if accept is None else matched

    def blocks(
        self, parse: Callable[[bytes, int], T | None], size: int
    ) -> Iterator[T | list[Record]]:
        """The log a block of whole lines at a time, for a reader faster than this one's
        line loop (Arrow's); iterate it instead of the stream, not besides.

        A block of about `size` bytes whose lines all look like plain records (`plain_lines`)
        goes to `parse(data, lines)`, and what it returns is yielded; it must return None
        unless it read from `data` exactly `lines` objects, each what `orjson` reads from its
        line. A block it refuses, or that does not look plain, is read line by line as
        iterating the stream would, and its records are yielded as a list (maybe empty). So
        the report ends up the same either way, torn lines and all; with a filter, every
        block is read line by line. Memory holds one block and at most `max_line_bytes` of
        a line longer than the block.
        """
        if self._records is not None:
            raise RuntimeError("an EventStream is read once")
        self._blockwise = True
        self._records = blocks = self._blocks(parse, size)
        return blocks

    def _blocks(
        self, parse: Callable[[bytes, int], T | None], size: int
    ) -> Generator[T | list[Record], None, None]:
        report = self.report
        fast = self.accept is None
        limit = self.max_line_bytes
        for name, stream in self._files():
            read = getattr(stream, "read1", stream.read)  # gzip: what one inflation gives
            number = 0
            carry = b""
            while True:
                pieces, got, error = [carry], 0, None
                try:
                    while got < size and (piece := read(size - got)):
                        pieces.append(piece)
                        got += len(piece)
                except READ_ERRORS as exc:
                    error = exc
                data = b"".join(pieces)
                cut = data.rfind(b"\n") + 1
                block, carry = data[:cut], data[cut:]
                del data, pieces
                if block:
                    lines = block.count(b"\n")
                    parsed = (
                        parse(block, lines)
                        if fast and len(block) <= limit and plain_lines(block, lines)
                        else None
                    )
                    if parsed is None:
                        yield list(self._decode(name, io.BytesIO(block), number))
                    else:
                        report.lines += lines
                        report.records += lines
                        report.matched += lines
                        yield parsed
                    number += lines
                if error is not None:  # as the line loop: the lines before the break count
                    report.errors.append(_broke_off(name, error, number))
                    break
                if len(carry) > limit:  # dropped as it streams past, as `capped_lines` does
                    number += 1
                    report.lines += 1
                    report.add_oversize(f"{name}:{number}")
                    carry = b""
                    try:
                        skip_rest(stream)
                    except READ_ERRORS as exc:
                        report.errors.append(_broke_off(name, exc, number))
                        break
                elif not got:  # the end: a last line without a newline is read on its own
                    if carry:
                        yield list(self._decode(name, io.BytesIO(carry), number))
                    break


def _broke_off(name: str, error: BaseException, number: int) -> str:
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


def read_events(
    path: StrPath | Iterable[StrPath],
    *,
    run_id: str | None = None,
    kind: str | Collection[str] | None = None,
    level: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    grep: str | re.Pattern[str] | None = None,
    where: Callable[[Record], bool] | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> EventStream:
    """The records of the log at `path` (or of several paths, one after the other).

    Filters: exact `run_id`; `kind` (one or several); `level` is a minimum (`"warning"` keeps
    warnings, errors and criticals); `since <= ts < until` (datetimes or ISO strings, naive
    means UTC); `grep` searches the raw JSON line; `where(record)` for anything else.
    Returns an `EventStream`: iterate it for dicts; its `.report` counts files, lines, records
    and the `file:line` of skipped torn lines and of lines longer than `max_line_bytes`
    (skipped unread, so memory stays bounded), and lists files under the log's glob that are
    not of its naming (not read). Raises FileNotFoundError for a missing path.
    """
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    accept = make_filter(
        run_id=run_id, kind=kind, level=level, since=since, until=until, grep=grep, where=where
    )
    return EventStream(paths, accept, max_line_bytes)
