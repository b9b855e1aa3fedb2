"""RotatingJsonlHandler: an append-only JSONL file that several processes can write and rotate.

Every record is one `os.write` of a whole line on an `O_APPEND` descriptor, so writers in any
number of processes never interleave inside a line. Before each write the writer reads the
file's size with `lseek(SEEK_END)`, so a file passes `max_bytes` by at most one line per other
writer appending at that moment, and a file that shrank (a copy-truncate by another program)
is noticed at the next record. The size is read before every record, never inferred from
this writer's own writes: between two of its records other processes may append any amount
(nothing bounds their number or rate), so a read skipped could let a file pass `max_bytes` by
any number of lines, or send records into a file another process has just rotated. The read
costs about 0.3 µs of the 7 µs a record takes (`bench_throughput.py --profile`).
Rotation renames the live file to `events.jsonl.NNNNNN` under
an `flock` on the hidden `.events.jsonl.lock` and bumps a counter in that file. A file is only
rotated when nearly full, and near the end (`CAREFUL_MARGIN`) every write reads that counter
first, so a writer reopens the live path instead of appending to a file another process has
just rotated (unless a line longer than the margin left more room than that). No shared
memory: a mapped file that someone truncates, or a full disk, would raise SIGBUS. A writer
holds a shared `flock` on the file it appends to, and compression and retention (in
`_logfiles`) pass over files still held, so no record lands in a file being gzipped or
deleted. Renames or removals by anyone else are noticed by an `lstat` of the live
path (and of the lock file) at the first record after every `check_interval` seconds (0:
before every record), and a removal also at `close()`.

Nothing in the directory is trusted: files are opened without following links and only when
they are this user's and no one else can write them (`_logfiles.open_private`); a FIFO or a
device at the path (or a system link to one, such as `/dev/stdout`) is written straight
through, without rotation or lock file. Write errors and refusals never reach the
application: they are counted in `dropped` and reported once per episode on stderr. After a
fork, the child starts with closed files and a clean state, whatever another thread of the
parent was doing.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import stat
import sys
import time
import weakref
from collections.abc import Callable

from ._contract import O_CLOEXEC, O_NONBLOCK, lock_name
from ._logfiles import RotatedFiles, UnsafeFileError, open_private
from ._platform import at_fork_in_child, lock_shared, pread
from ._rotation_lock import RotationLock

__all__ = ["RotatingJsonlHandler"]

DEFAULT_MAX_BYTES = 10 * 2**20
DEFAULT_BACKUP_COUNT = 5
DEFAULT_FILE_MODE = 0o600
DEFAULT_CHECK_INTERVAL = 1.0
CAREFUL_MARGIN = 64 * 1024
"""The last `max_bytes // 8` of a file, up to this many bytes, are written on the careful path."""
DIRECTORY_MODE = 0o700
"""A log directory this library creates is private: log files may hold what users typed."""

_fork_generation = 0

_lseek, _write, _monotonic, SEEK_END = os.lseek, os.write, time.monotonic, os.SEEK_END
"""What the hot path calls, bound once (a global each, not a module's attribute)."""


_handlers: weakref.WeakSet[RotatingJsonlHandler] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A child must not hold its parent's descriptors (their shared locks would keep
    compression and retention off those files for as long as the child lives), nor inherit
    the state of a write another thread of the parent was in the middle of."""
    global _fork_generation
    _fork_generation += 1
    for handler in list(_handlers):
        handler._reset_after_fork()


at_fork_in_child(_after_fork_in_child)


def _ends_in_partial_line(fd: int) -> bool:
    """Whether the file ends in a fragment a killed writer left (not in a write in progress).

    Another process's append can be seen half done (the size grows page by page while the
    writer holds the inode's lock, and it may be preempted in between). An empty write waits
    for that lock on Linux file systems, so a write in progress is finished once it returns;
    where it does not wait, a tail without a newline only counts as torn once the size has
    stood still for a moment.
    """
    os.write(fd, b"")
    size = os.fstat(fd).st_size
    for _ in range(5):
        if size == 0 or pread(fd, 1, size - 1) == b"\n":
            return False
        time.sleep(0.001)
        os.write(fd, b"")
        grown = os.fstat(fd).st_size
        if grown == size:
            return True
        size = grown
    return True


def _count_lines(fd: int, start: int, end: int) -> int:
    """Newlines in bytes [start, end) of the file, read a MiB at a time."""
    count = 0
    while start < end:
        chunk = pread(fd, min(end - start, 1 << 20), start)
        if not chunk:
            break
        count += chunk.count(b"\n")
        start += len(chunk)
    return count


def _owned_by_us_or_root(st: os.stat_result) -> bool:
    geteuid = getattr(os, "geteuid", None)
    return geteuid is None or st.st_uid in (0, geteuid())


def _is_trusted_link(path: str, st: os.stat_result) -> bool:
    """A link no one else could have planted: this user's or root's, in a directory that
    only this user or root can write (`/dev/stdout`, not a link in a shared `/tmp`)."""
    try:
        parent = os.stat(os.path.dirname(path))
    except OSError:
        return False
    return _owned_by_us_or_root(st) and _owned_by_us_or_root(parent) and not parent.st_mode & 0o022


class RotatingJsonlHandler(logging.Handler):
    """A `logging.Handler` writing a JSON line per record, rotating by size, shared by processes.

    `write_line(bytes)` is the direct write path (structlog events use it); `emit()` formats a
    stdlib `LogRecord` (by default with `formatters.JsonlFormatter`) and takes the same path.
    `max_bytes=0` or `backup_count=0` turns rotation off, as the stdlib's handler does.
    """

    _fast_until: int | float = math.inf
    _max_bytes = _backup_count = 0  # until __init__ sets them through the properties

    def __init__(
        self,
        filename: str | os.PathLike[str],
        max_bytes: int = DEFAULT_MAX_BYTES,
        backup_count: int = DEFAULT_BACKUP_COUNT,
        compress: bool = False,
        *,
        file_mode: int = DEFAULT_FILE_MODE,
        check_interval: float = DEFAULT_CHECK_INTERVAL,
        level: int | str = logging.NOTSET,
        formatter: logging.Formatter | None = None,
    ) -> None:
        super().__init__(level)
        if max_bytes < 0 or backup_count < 0 or check_interval < 0:
            raise ValueError("max_bytes, backup_count and check_interval must be >= 0")
        if file_mode & 0o022:
            raise ValueError("file_mode must not let group or others write: such a file is refused")
        self.path = os.path.abspath(os.fspath(filename))
        self.directory, self.live_name = os.path.split(self.path)
        self.lock_path = os.path.join(self.directory, lock_name(self.live_name))
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self.compress = compress
        self.file_mode = file_mode
        self.check_interval = check_interval
        self.dropped = 0
        """Records that could not be written (I/O errors, refused files); torn partial writes
        count too."""
        self.mirror: Callable[[bytes], None] | None = None
        """Called with every line written, e.g. to echo it on a console."""
        self.rotated = RotatedFiles(self.directory, self.live_name, file_mode)
        self._fd: int | None = None
        self._stream: int | None = None  # a FIFO or device: written straight through
        self._lock: RotationLock | None = None
        self._inode = -1
        self._size = 0  # the file's size after this writer's last write; it never shrinks
        self._checked_size = 0  # its size at the last check that found it at the live path
        self._checked_at = 0.0
        self._seen_mark = b""
        self._next_check = 0.0
        self._generation = _fork_generation
        self._needs_newline = False
        self._checking = False  # inside _write_with_checks
        self._failing: str | None = None
        self._closed = False
        if formatter is None:
            from .formatters import JsonlFormatter

            formatter = JsonlFormatter()
        self.setFormatter(formatter)
        _handlers.add(self)

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @max_bytes.setter
    def max_bytes(self, value: int) -> None:
        self._max_bytes = value
        self._set_rotate_at()

    @property
    def backup_count(self) -> int:
        return self._backup_count

    @backup_count.setter
    def backup_count(self, value: int) -> None:
        self._backup_count = value
        self._set_rotate_at()

    @property
    def rotates(self) -> bool:
        return self._max_bytes > 0 and self._backup_count > 0

    def _set_rotate_at(self) -> None:
        """Past `_fast_until` the write path takes its careful branch, which reads the rotation
        counter (so it never appends to a file another process has just rotated, which is
        always this full) and rotates once a line would pass `max_bytes`."""
        margin = min(self._max_bytes // 8, CAREFUL_MARGIN)
        self._fast_until = self._max_bytes - margin if self.rotates else math.inf

    # -- the write path -------------------------------------------------------------------

    def handle(self, record: logging.LogRecord) -> bool | logging.LogRecord:  # type: ignore[override]
        """Filter and emit without holding the handler's lock while the record is formatted:
        formatting runs user code (`__repr__`, `__str__`), and `write_line` locks by itself."""
        result = self.filter(record)
        if isinstance(result, logging.LogRecord):  # Python 3.12+: a filter may swap the record
            record = result
        if result:
            self.emit(record)
        return result

    def emit(self, record: logging.LogRecord) -> None:
        try:
            format_bytes = getattr(self.formatter, "format_bytes", None)
            if format_bytes is not None:
                line = format_bytes(record, file=self.path)  # numbered by this file
                if line is None:  # dropped on purpose (sampling)
                    return
            else:
                line = (self.format(record) + "\n").encode("utf-8", "backslashreplace")
        except Exception:
            self.handleError(record)
            return
        self.write_line(line)

    def write_line(self, line: bytes) -> bool:
        """Append one whole line (it must end with a newline); False when it was dropped."""
        size = len(line)
        with self.lock:  # type: ignore[union-attr]  # createLock() always sets it
            fd = self._fd
            if fd is not None and not self._checking and _monotonic() < self._next_check:
                # _checking: a signal handler that logs between the lseek and the write must
                # append on its own, not reopen or rotate (closing fd) under this write
                self._checking = True
                try:
                    end = _lseek(fd, 0, SEEK_END)
                    if self._size <= end and end + size <= self._fast_until:
                        written = _write(fd, line)  # _write_whole, inline on the hot path
                        if written != size:
                            self._needs_newline = True
                            raise OSError(errno.EIO, f"short write ({written} of {size} bytes)")
                        self._size = end + size
                        fd = None
                except OSError as exc:
                    self._drop(exc)
                    return False
                finally:
                    self._checking = False
                # fd is not None: nearly full (or rotated by another), or the file shrank
                if fd is not None and not self._write_with_checks(line):
                    return False
            elif not self._write_with_checks(line):
                return False
        mirror = self.mirror
        if mirror is not None:
            with contextlib.suppress(Exception):
                mirror(line)
        return True

    def _write_with_checks(self, line: bytes) -> bool:
        """The write path after any change: (re)open, rotate, mend a torn tail, and read the
        size afresh, since another writer may have appended."""
        if self._stream is not None:
            return self._write_stream(self._stream, line)
        if self._checking:  # re-entered by a signal handler that logs, in the middle of it
            return self._append_while_reentered(line)
        try:
            self._checking = True
            fd = self._prepare(len(line))
            if self._needs_newline:
                line = b"\n" + line
            written = self._write_whole(fd, line)
            self._needs_newline = False
            self._size += written
        except OSError as exc:
            self._drop(exc)
            return False
        finally:
            self._checking = False
            if self._closed:  # a late record (at exit, or a stale logger): keep no files
                self._close_files()
        if self._failing is not None:
            self._recovered()
        return True

    def _write_stream(self, fd: int, line: bytes) -> bool:
        """A FIFO or device takes the line as it is: no size, no rotation, no lock."""
        try:
            self._write_whole(fd, line)
        except OSError as exc:
            self._drop(exc)
            return False
        finally:
            if self._closed:
                self._close_files()
        if self._failing is not None:
            self._recovered()
        return True

    def _write_whole(self, fd: int, line: bytes) -> int:
        """`os.write` of the whole line; a short write leaves a fragment, so the next line
        must start with a newline, and it raises like any write error."""
        written = os.write(fd, line)
        if written != len(line):
            self._needs_newline = True
            raise OSError(errno.EIO, f"short write ({written} of {len(line)} bytes)")
        return written

    def _append_while_reentered(self, line: bytes) -> bool:
        """Append to the live path on a descriptor of its own, leaving the interrupted
        opening or rotation (and its files and locks) alone; the file may pass `max_bytes`
        by this line."""
        try:
            fd, _ = open_private(self.path, os.O_WRONLY | os.O_APPEND, self.file_mode)
            try:
                written = os.write(fd, line)
            finally:
                os.close(fd)
        except OSError:
            written = -1
        if written != len(line):
            self.dropped += 1
            return False
        return True

    def _measure(self) -> None:
        """Read the file's size. Smaller than this writer left it means that another program
        truncated it in place (a copy-truncate rotation): what was appended between its copy
        and its truncation is gone, and nobody can count it, so it is reported."""
        assert self._fd is not None
        end = os.lseek(self._fd, 0, os.SEEK_END)
        if end < self._size:
            self._report(
                f"truncated by another program (from {self._size} to {end} bytes); records "
                "appended between its copy and the truncation are lost: rotate by renaming"
            )
        self._size = end

    def _prepare(self, incoming: int) -> int:
        """The descriptor of the live file, measured, with room for `incoming` bytes."""
        lock = self._lock
        if (
            self._fd is None
            or lock is None
            or self._generation != _fork_generation
            or lock.mark() != self._seen_mark
        ):
            self._open()
        elif time.monotonic() >= self._next_check:
            self._check_live_path()
        if self._stream is None:
            self._measure()
            if self.rotates and self._size > 0 and self._size + incoming > self.max_bytes:
                self._rotate(incoming)
                if self._stream is None:
                    self._measure()
        fd = self._fd if self._stream is None else self._stream
        assert fd is not None
        return fd

    def _check_live_path(self) -> None:
        """Notice what others did to the log since the last check: a rename (logrotate, or
        another writer's rotation), a removal, a replaced lock file."""
        now = time.monotonic()
        self._next_check = now + self.check_interval
        try:
            st: os.stat_result | None = os.lstat(self.path)
        except FileNotFoundError:  # deleted or renamed away, perhaps with the directory
            st = None
        if st is not None and st.st_ino == self._inode:
            self._checked_size, self._checked_at = st.st_size, now
            lock = self._lock
            if lock is None or lock.is_current():
                return
        else:
            self._note_removal(now)
        if self._lock is not None and not self._lock.is_current():
            self._lock.close()  # deleted or replaced: share the one the others use now
            self._lock = None
        self._open()

    def _note_removal(self, now: float) -> None:
        """The live path no longer names this writer's file. Renamed (rotated), every line is
        still on disk; removed (its link count is 0), the lines appended since the last check
        may have been written after the removal, so they are counted and reported as lost."""
        fd = self._fd
        if fd is None:
            return
        try:
            st = os.fstat(fd)
            if st.st_nlink > 0:
                return
            lines = _count_lines(fd, self._checked_size, st.st_size)
        except OSError:
            return
        self._report(
            f"removed by another program; up to {lines} record(s) appended to it in the "
            f"{now - self._checked_at:.1f} s before this writer noticed may be lost"
        )

    def _open(self) -> None:
        """(Re)open the live file, holding a shared lock on it; mend a torn tail."""
        if self._generation != _fork_generation:  # the locks are shared with the parent
            self._close_files()
            self._generation = _fork_generation
        else:
            if self._fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._fd)
                self._fd = None
            if self._stream is not None:
                with contextlib.suppress(OSError):
                    os.close(self._stream)
                self._stream = None
        os.makedirs(self.directory, mode=DIRECTORY_MODE, exist_ok=True)
        if self._open_stream():
            return
        if self._lock is None:
            self._lock = RotationLock(self.lock_path, self.file_mode)
        while True:
            mark = self._lock.mark()  # read first: a rotation after it makes us look again
            fd, _ = open_private(self.path, os.O_RDWR | os.O_APPEND, self.file_mode)
            try:
                lock_shared(fd)
                st = os.fstat(fd)
                with contextlib.suppress(FileNotFoundError):
                    if st.st_nlink > 0 and os.lstat(self.path).st_ino == st.st_ino:
                        break
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # rotated (and perhaps compressed) between open and lock: again
        self._fd, self._inode, self._seen_mark = fd, st.st_ino, mark
        self._size = 0  # a new file: its size is measured next, and may be anything
        self._checked_at = time.monotonic()
        self._checked_size = st.st_size
        self._next_check = self._checked_at + self.check_interval
        self._needs_newline = _ends_in_partial_line(fd)

    def _open_stream(self) -> bool:
        """Open the path as a stream when it is a FIFO or a device, or a system link such as
        `/dev/stdout`; False when it is a regular file (or missing), to open as a log file.

        A link is followed only where no one else could have planted it: owned by this user
        or root, in a directory that only they can write. A FIFO must be theirs too.
        """
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return False
        if stat.S_ISREG(st.st_mode):
            return False
        if stat.S_ISLNK(st.st_mode) and not _is_trusted_link(self.path, st):
            raise UnsafeFileError(
                errno.ELOOP,
                f"refusing {self.path}: it is a symbolic link in a directory others can write",
            )
        flags = os.O_WRONLY | os.O_APPEND | O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
        fd = os.open(self.path, flags | O_NONBLOCK)  # a FIFO without a reader: ENXIO, no wait
        try:
            target = os.fstat(fd)
            if not stat.S_ISCHR(target.st_mode) and (  # only root makes device nodes
                not _owned_by_us_or_root(target) or target.st_mode & 0o002
            ):
                raise UnsafeFileError(
                    errno.EPERM, f"refusing {self.path}: another user's file or FIFO"
                )
            if O_NONBLOCK:
                os.set_blocking(fd, True)  # a slow reader slows the writer, as print() does
        except BaseException:
            os.close(fd)
            raise
        self._stream = fd
        return True

    def _reset_after_fork(self) -> None:
        """In a child: forget a write in progress in another thread of the parent."""
        self._checking = False
        self._needs_newline = False
        self._close_files()

    def _close_files(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        if self._stream is not None:
            with contextlib.suppress(OSError):
                os.close(self._stream)
        if self._lock is not None:
            self._lock.close()
        self._fd = self._stream = self._lock = None

    # -- rotation ---------------------------------------------------------------------------

    def _rotate(self, incoming: int) -> None:
        assert self._lock is not None
        with self._lock.held():
            try:
                st = os.lstat(self.path)
            except FileNotFoundError:
                st = None
            if st is None or st.st_ino != self._inode:
                self._open()  # another process rotated first
                return
            if st.st_size + incoming <= self.max_bytes:
                self._size = st.st_size  # others' records made it look fuller than it is
                return
            # The counter and the directory both tell the newest number (a lost or recreated
            # lock file forgets it); a rename never replaces a file that exists.
            number = max(self._lock.latest_number(), *self.rotated.numbers(), 0) + 1
            while os.path.lexists(self.rotated.path(number)) or os.path.lexists(
                self.rotated.path(number, compressed=True)
            ):
                number += 1
            if self._fd is not None:  # Windows cannot rename an open file; _open() reopens
                with contextlib.suppress(OSError):
                    os.close(self._fd)
                self._fd = None
            os.rename(self.path, self.rotated.path(number))
            self._lock.set_latest_number(number)
            self._open()
            try:
                self.rotated.housekeep(self.backup_count, self.compress)
            except OSError as exc:  # the record in hand is still written; say what failed
                self._report(f"cannot compress or prune rotated files ({exc})")

    def rotated_files(self) -> dict[int, list[str]]:
        """Rotated file names by number."""
        return self.rotated.numbers()

    # -- errors and lifecycle ---------------------------------------------------------------

    def _drop(self, exc: OSError) -> None:
        self.dropped += 1
        self._close_files()  # reopen from scratch next time: the directory may come back
        if self._failing is None:  # report the first failure of an episode, not every record
            self._failing = reason = f"{type(exc).__name__}: {exc.strerror or exc}"
            with contextlib.suppress(Exception):
                sys.stderr.write(
                    f"llmops_logging: cannot write {self.path} ({reason}); "
                    "dropping records until it can\n"
                )

    def _report(self, problem: str) -> None:
        with contextlib.suppress(Exception):
            sys.stderr.write(f"llmops_logging: {self.path}: {problem}\n")

    def _recovered(self) -> None:
        self._failing = None
        with contextlib.suppress(Exception):
            sys.stderr.write(
                f"llmops_logging: writing {self.path} again; "
                f"{self.dropped} records dropped so far\n"
            )

    def close(self) -> None:
        """Release the files; records that still arrive are written without keeping them.
        A removal of the live file that no check has seen yet is reported here, so that a
        process which ends before its next check (logging's shutdown at exit closes every
        handler) still says that records went with the file."""
        with self.lock:  # type: ignore[union-attr]
            self._closed = True
            if not self._checking:
                self._note_removal(time.monotonic())
            self._close_files()
        super().close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path} ({logging.getLevelName(self.level)})>"
