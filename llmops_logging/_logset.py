"""Which files make a log, as a reader finds and opens them.

A log is its live file plus the rotated files beside it (`events.jsonl.000001`, ... and their
`.gz` forms), named as `_contract.parse_rotated` reads them, the same rule the writer prunes
and compresses by. Other files under the log's glob (logrotate's `events.jsonl.1`, a `.bak`
copy) are not part of it: they are listed as unread, never skipped silently.

Files come and go while writers rotate, compress and prune, so a read takes a consistent
snapshot: `open_live` pins the live file together with the rotated number it will get, the
rotated files below that number are read first (a plain one compressed meanwhile is read from
its `.gz`), then the live file through the descriptor held since the start. A file found in
the directory is opened only when it is a regular file (`open_log_file`).
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, NamedTuple, cast

from ._contract import (
    FOUND_FILE_FLAGS,
    GZ_SUFFIX,
    LIVE_NAME,
    O_NONBLOCK,
    StrPath,
    parse_rotated,
)
from ._lines import CHUNK

_ANY_ROTATED = re.compile(r"\.[0-9]+(\.gz)?\Z")
"""A numbered name of any tool's (`events.jsonl.000003`, logrotate's `events.jsonl.3`): given
on its own, such a file is read alone rather than as the live file of a log."""


def split_log_path(path: StrPath) -> tuple[str, str, bool]:
    """`(directory, file name, single)` for a path; `single` for a rotated file named alone."""
    text = os.fspath(path)
    if os.path.isdir(text):
        return text, LIVE_NAME, False
    directory, name = os.path.split(text)
    return directory, name, bool(_ANY_ROTATED.search(name)) and os.path.isfile(text)


def _scan(directory: str, live_name: str) -> tuple[dict[int, str], list[str]]:
    """The log's rotated files by number, and the other names under its glob, sorted.

    Only the writer's own spelling of a number counts (`parse_rotated`): logrotate's
    `events.jsonl.2` would otherwise take the same number and hide one of the two files.
    """
    found: dict[int, str] = {}
    others: list[str] = []
    try:
        names = os.listdir(directory or ".")
    except (FileNotFoundError, NotADirectoryError):
        return found, others
    for name in names:
        if not name.startswith(live_name) or name == live_name:
            continue
        parsed = parse_rotated(live_name, name)
        if parsed is None:
            others.append(name)
        elif parsed[1] or parsed[0] not in found:
            found[parsed[0]] = name
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
    errors: list[str] | None = None,
    named: bool = False,
) -> tuple[IO[bytes] | None, int]:
    """The live file, open, and the newest rotated number from a moment it surely was live.

    Numbers only grow, so the file we hold will be rotated to exactly that number plus one,
    and every lower number is older. The same newest number in listings before and after the
    open, and the live name still pointing at what we opened, prove no rotation raced it.
    A live file the user `named` (not found in a directory) is opened even through a link;
    a refused one is noted in `errors`.
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
            _refused(live_path, exc, errors)
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
        if path.endswith(GZ_SUFFIX):
            return cast(IO[bytes], _GzipOwning(raw))
        return raw
    if path.endswith(GZ_SUFFIX):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb", buffering=CHUNK)


def _names(path: str, stream: IO[bytes]) -> bool:
    """Whether `path` still names the file open as `stream`."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(stream.fileno()))
    except FileNotFoundError:
        return False


def open_rotated(path: str, errors: list[str]) -> tuple[str, IO[bytes]] | None:
    """Open a rotated file, or its `.gz` if compression replaced it since the listing; a file
    refused or removed is noted in `errors`."""
    for candidate in (path, path + GZ_SUFFIX) if not path.endswith(GZ_SUFFIX) else (path,):
        try:
            return candidate, open_log_file(candidate, found=True)
        except FileNotFoundError:
            continue
        except OSError as exc:  # a link or a FIFO planted at a rotated name
            _refused(candidate, exc, errors)
            return None
    if (note := f"{path}: removed before it could be read") not in errors:
        errors.append(note)  # once, as a refusal: the log may be named twice
    return None


def _refused(path: str, exc: OSError, errors: list[str] | None) -> None:
    """Note once that a file under the log's name was not read, and why."""
    if isinstance(exc, RefusedFileError):
        note = str(exc)
    elif exc.errno == errno.ELOOP:
        note = f"{path}: a symbolic link, not read (the writer never makes one)"
    else:
        note = f"{path}: {exc.strerror or exc}, not read"
    if errors is not None and note not in errors:
        errors.append(note)


class LogPart(NamedTuple):
    """One file of a log as `log_parts` found it: the live file open already (`stream`), a
    rotated file by name, opened in its turn (`rotated`), or a file named alone."""

    name: str
    stream: IO[bytes] | None = None
    rotated: bool = False


def log_parts(path: StrPath, errors: list[str], unread: list[str]) -> list[LogPart]:
    """The files of one log in write order: the live file pinned open (`open_live`), the
    rotated files below its number by name. Files under the log's glob that are not of its
    naming go to `unread`, a refused live file to `errors`; the caller closes the stream."""
    directory, name, single = split_log_path(path)
    if single:
        return [LogPart(os.fspath(path))]
    unread.extend(unread_files(directory, name))
    live, base = open_live(directory, name, errors, named=not os.path.isdir(path))
    parts = []
    try:
        for number, rotated in rotated_files(directory, name):
            if number > base:
                break  # the live file we hold, rotated since: read it through `live`
            parts.append(LogPart(rotated, rotated=True))
    except BaseException:
        if live is not None:
            live.close()
        raise
    if live is not None:
        parts.append(LogPart(os.path.join(directory, name), live))
    return parts


def open_part(part: LogPart, errors: list[str]) -> tuple[str, IO[bytes]] | None:
    """`(name, open stream)` of a part: its stream, or the file opened now; a rotated file
    refused or removed is noted in `errors` (None), a file named alone raises."""
    if part.stream is not None:
        return part.name, part.stream
    if part.rotated:
        return open_rotated(part.name, errors)
    return part.name, open_log_file(part.name)


def log_streams(
    path: StrPath, errors: list[str], unread: list[str]
) -> Iterator[tuple[str, IO[bytes]]]:
    """`(name, open stream)` for each file of one log, in write order, opened one by one.

    Files under the log's glob that are not of its naming go to `unread`; vanished or refused
    files are noted in `errors`; the caller closes each stream.
    """
    yield from open_in_turn(log_parts(path, errors, unread), errors)


def open_in_turn(
    steps: list[Any], errors: list[str], aside: Callable[[Any], object] | None = None
) -> Iterator[tuple[str, IO[bytes]]]:
    """`(name, open stream)` of each `LogPart` of `steps` in turn (`open_part`), the others
    handed to `aside` where they come; each stream is the caller's once handed over, the
    ones not reached are closed."""
    try:
        for number, step in enumerate(steps):
            if not isinstance(step, LogPart):
                if aside is not None:
                    aside(step)
                continue
            opened = open_part(step, errors)
            steps[number] = LogPart(step.name)  # its stream, if any, is the caller's now
            if opened is not None:
                yield opened
    finally:
        close_parts(steps)


def close_parts(steps: Iterable[object]) -> None:
    """Closes the files that the `LogPart`s among `steps` hold open."""
    for step in steps:
        if isinstance(step, LogPart) and step.stream is not None:
            with contextlib.suppress(OSError):
                step.stream.close()
