"""read_events(): the records of one or more logs, across rotated and gzipped files, oldest first.

Which files make a log, and how they are opened while writers rotate, compress and prune, is
`_logset`'s; how bytes become lines and records, and how a torn line is recovered, is
`_lines`'. This module is the public reader on top: the filters, the stream and its report.

Reading streams a chunk at a time and holds at most `max_line_bytes` of any one line, so
memory stays bounded whatever the size of the log or the length of a line (a longer line is
dropped as it streams past and reported as oversize). Lines that are torn or not JSON objects
are skipped and counted in the stream's `report` instead of raising: a log written by crashing
processes must still be readable, and a record glued to a killed writer's fragment is
recovered.

A faster parser (Arrow's, for the Parquet export) can take the log a block of whole lines at
a time (`EventStream.blocks`): a block whose lines all look like plain records goes to it,
any other block, or one it refuses, through the same line loop, so the records and the
report are the same either way.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import itertools
import os
import re
from collections.abc import Callable, Collection, Generator, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import MAXYEAR, datetime, timezone
from typing import IO, Any, TypeVar

import orjson

from ._contract import KIND, LEVEL, LEVELS, RUN_ID, TS, Record, StrPath
from ._lines import (
    MAX_LINE_BYTES,
    READ_ERRORS,
    broke_off,
    capped_lines,
    is_cut,
    plain_lines,
    recover_glued,
    skip_rest,
)
from ._logset import LogPart, close_parts, log_files, log_parts, log_streams, open_in_turn

__all__ = ["EventStream", "ReadReport", "read_events"]


@dataclass
class Notes:
    """What finding a log's files noted (`log_parts`), for the report of the share of a
    `plan` that reads them: it comes before the log's files."""

    errors: list[str]
    unread: list[str]


Step = LogPart | Notes
"""One step of an `EventStream.plan`."""

Accept = Callable[[Record, bytes], bool]
"""A filter: `(record, raw line) -> keep?`."""
T = TypeVar("T")

MAX_BAD_KEPT = 10_000
"""`report.bad` keeps the first this many places; `report.bad_count` counts them all."""


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
    _broken: list[int] = field(default_factory=list, repr=False, compare=False)
    """Which of `errors` say a read broke off: said once per read, where what finding and
    opening the files notes is said once (`note`). Not part of `as_dict`."""

    def add_bad(self, where: str) -> None:
        self.bad_count += 1
        if len(self.bad) < MAX_BAD_KEPT:
            self.bad.append(where)

    def add_oversize(self, where: str) -> None:
        self.oversize_count += 1
        if len(self.oversize) < MAX_BAD_KEPT:
            self.oversize.append(where)

    def broke_off(self, name: str, error: BaseException, number: int) -> None:
        """Say that the read of file `name` broke off (`READ_ERRORS`) after line `number`."""
        self._broken.append(len(self.errors))
        self.errors.append(broke_off(name, error, number))

    def merge(self, later: ReadReport) -> None:
        """Add the report of a read of the files after ours: the report of one read of all."""
        self.files += later.files
        self.lines += later.lines
        self.records += later.records
        self.matched += later.matched
        self.bad += later.bad[: max(MAX_BAD_KEPT - len(self.bad), 0)]
        self.bad_count += later.bad_count
        self.oversize += later.oversize[: max(MAX_BAD_KEPT - len(self.oversize), 0)]
        self.oversize_count += later.oversize_count
        self.unread += later.unread
        broken = set(later._broken)
        for number, error in enumerate(later.errors):
            if number in broken:
                self._broken.append(len(self.errors))
                self.errors.append(error)
            else:
                self.note([error])

    def note(self, errors: Iterable[str]) -> None:
        """Add what went wrong finding or opening files: each note once, as the reader notes
        a file refused under a log named twice."""
        self.errors += [note for note in errors if note not in self.errors]

    def as_dict(self) -> dict[str, Any]:
        whole = asdict(self)
        del whole["_broken"]
        return whole


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


_PAST_THE_END = "9999-12-31T24 "
"""Orders after every UTC time of the calendar (`...T23:...`), before `"\\uffff"`."""
_BEFORE_THE_START = "0000 "
"""Orders before every UTC time of the calendar (`0001-...`), after `""`."""


def parse_ts(value: str) -> datetime:
    """An ISO-8601 time (`ts_parts`); a time without zone is taken as UTC. ValueError if
    `value` is not one."""
    parts = ts_parts(value.replace(" ", "T", 1))
    if parts is None:
        raise ValueError(f"not an ISO-8601 time: {value!r}")
    moment = parts[0]
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def ts_key(value: datetime | str) -> str:
    """The contract's fixed-width UTC form, which orders correctly as a plain string. A time
    within a day of either end of the calendar whose UTC instant lies past it (year 0 or
    10000, which datetime cannot hold) gets a prefix that orders it there, then the form of
    the same time a year inward."""
    moment = parse_ts(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")
    except OverflowError:
        late = moment.year == MAXYEAR  # only 31 December or 1 January can overflow
        inward = moment.replace(year=moment.year - 1 if late else moment.year + 1)
        form = inward.astimezone(timezone.utc).isoformat(timespec="microseconds")
        return f"{_PAST_THE_END if late else _BEFORE_THE_START}{form}"


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
    `close()` (or `with`) releases the open file early (`iter(stream)` is no generator, so
    close the stream itself). `progress()` gives bytes read so far and the total.
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
        self._chained: Iterator[Record] = iter(())
        self._decoding: Generator[Record, None, None] | None = None
        """The file being read's records, when they are read by `__iter__`."""
        self._blockwise = False
        self._current: IO[bytes] | None = None
        self._done_bytes = 0
        self._total_bytes: int | None = None
        self._plan: list[Step] | None = None

    def plan(self) -> list[Step]:
        """The files of the logs, found now, in write order, with what finding them noted: each
        live file pinned open (the caller closes it), the others by name. `of_plan` on
        consecutive shares of it reads what the stream would, and the shares' reports, merged
        in order, are the stream's."""
        steps: list[Step] = []
        try:
            for path in self.paths:
                notes = Notes([], [])
                parts = log_parts(path, notes.errors, notes.unread)
                steps += [notes, *parts]
        except BaseException:
            close_parts(steps)
            raise
        return steps

    @classmethod
    def of_plan(
        cls, steps: list[Step], accept: Accept | None = None, max_line_bytes: int = MAX_LINE_BYTES
    ) -> EventStream:
        """A stream of the files of a share of a `plan`, read in turn as this stream's own
        would be (a rotated file opened when its turn comes)."""
        stream = cls([], accept, max_line_bytes)
        stream._plan = steps
        return stream

    def __iter__(self) -> Iterator[Record]:
        if self._blockwise:
            raise RuntimeError("this EventStream is read by blocks()")
        if self._records is None:
            self._records = self._read()
            self._chained = itertools.chain.from_iterable(self._records)
        return self._chained

    def __next__(self) -> Record:
        return next(iter(self))

    def close(self) -> None:
        if self._decoding is not None:  # first: its `finally` counts what it read
            self._decoding.close()
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

    def _read(self) -> Generator[Iterator[Record], None, None]:
        """Each file's records (`_decode`) in turn, chained in C by `__iter__`: a record costs
        one generator's step, where `yield from` here made it two (about 210 instructions more
        a record, 1.2% of what `stats` spends on one)."""
        for name, stream in self._files():
            self._decoding = decoding = self._decode(name, stream)
            yield decoding

    def _files(self) -> Generator[tuple[str, IO[bytes]], None, None]:
        """`(name, stream)` of each file of the logs in turn, listed in the report, closed and
        counted as read once the caller is done with it."""
        for name, stream in self._opened():
            self.report.files.append(name)
            self._current = stream
            try:
                yield name, stream
            finally:
                with contextlib.suppress(OSError):
                    self._done_bytes += os.fstat(stream.fileno()).st_size
                self._current = None
                stream.close()

    def _opened(self) -> Iterator[tuple[str, IO[bytes]]]:
        report = self.report
        if self._plan is None:
            for path in self.paths:
                yield from log_streams(path, report.errors, report.unread)
            return

        def note(step: Notes) -> None:
            report.note(step.errors)
            report.unread += step.unread

        yield from open_in_turn(self._plan, report.errors, note)

    def _decode(
        self, name: str, stream: IO[bytes], first: int = 0
    ) -> Generator[Record, None, None]:
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
                # a line ends with its newline but a file's last and one `capped_lines` cut:
                # a look at the last byte costs less than `len(line) > limit` did (about
                # 130 instructions a record)
                if line[-1] != 10 and is_cut(line, limit):
                    skipped += 1
                    self._skip_cut(stream, f"{name}:{number}")
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
                if record.__class__ is not dict:
                    skipped += 1
                    report.add_bad(f"{name}:{number}")
                    continue
                if accept is None:
                    yield record
                elif accept(record, line):
                    matched += 1
                    yield record
        except READ_ERRORS as exc:
            report.broke_off(name, exc, number)
        except BaseException:  # a filter's own error, Ctrl-C, `close()`: the stream ends here,
            if not self._blockwise and self._records is not None:  # its file closed now, as
                self._records.close()  # when one generator read all the files' lines
            raise
        finally:
            lines = number - first
            report.lines += lines
            report.records += lines - skipped + recovered
            report.matched += (lines - skipped + recovered) if accept is None else matched

    def _skip_cut(self, stream: IO[bytes], where: str) -> None:
        """A line longer than the limit: noted as too long, the rest of it read past (which
        may break off: a truncated gzip file)."""
        self.report.add_oversize(where)
        skip_rest(stream)

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
                if error is not None:  # as the line loop: the lines before the break count,
                    if len(carry) > limit:  # and one past the limit is noted as too long
                        number += 1
                        report.lines += 1
                        report.add_oversize(f"{name}:{number}")
                    report.broke_off(name, error, number)
                    break
                if len(carry) > limit:  # dropped as it streams past, as `capped_lines` does
                    number += 1
                    report.lines += 1
                    report.add_oversize(f"{name}:{number}")
                    carry = b""
                    try:
                        skip_rest(stream)
                    except READ_ERRORS as exc:
                        report.broke_off(name, exc, number)
                        break
                elif not got:  # the end: a last line without a newline is read on its own
                    if carry:
                        yield list(self._decode(name, io.BytesIO(carry), number))
                    break


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
