"""RotatingJsonlHandler: an append-only JSONL file that several processes can write and rotate.

Every record is one `os.write` of a whole line on an `O_APPEND` descriptor, so writers in any
number of processes never interleave inside a line. Rotation renames the live file to
`events.jsonl.NNNNNN` under an `flock` on the hidden `.events.jsonl.lock`, and bumps a counter
in that file that every writer reads before each write (a memory read, not a syscall), so
the others reopen the live path before their next record. Beside the counter sits the token of
the writer that appended last: a writer that finds its own token there adds its lines to the
size it knows; otherwise it claims the slot and reads the size with `lseek(SEEK_END)`, so a
file passes `max_bytes` by at most one line per other writer appending at that moment. A
writer holds a shared `flock` on the file it appends to, and
compression and retention (in `_logfiles`) pass over files still held, so no record lands in a
file being gzipped or deleted. Renames or deletions by anyone else are noticed by a `stat` of
the live path (and of the lock file) every `check_interval` seconds (0: before every record).
Write errors never reach the application: they are counted in `dropped` and reported once per
episode on stderr.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import mmap
import os
import sys
import time
import weakref
from collections.abc import Callable

from ._logfiles import RotatedFiles, lock_shared, rotated_name, rotated_pattern
from ._platform import at_fork_in_child, pread
from ._rotation_lock import MAP_SIZE, TOKEN_SIZE, RotationLock

__all__ = ["RotatingJsonlHandler", "rotated_name", "rotated_pattern"]

DEFAULT_MAX_BYTES = 10 * 2**20
DEFAULT_BACKUP_COUNT = 5
DEFAULT_FILE_MODE = 0o600
DEFAULT_CHECK_INTERVAL = 1.0

_fork_generation = 0


_handlers: weakref.WeakSet[RotatingJsonlHandler] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A child must not hold its parent's descriptors: their shared locks would keep
    compression and retention off those files for as long as the child lives."""
    global _fork_generation
    _fork_generation += 1
    for handler in list(_handlers):
        handler._close_files()


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


class RotatingJsonlHandler(logging.Handler):
    """A `logging.Handler` writing a JSON line per record, rotating by size, shared by processes.

    `write_line(bytes)` is the direct write path (structlog events use it); `emit()` formats a
    stdlib `LogRecord` (by default with `formatters.JsonlFormatter`) and takes the same path.
    `max_bytes=0` or `backup_count=0` turns rotation off, as the stdlib's handler does.
    """

    _rotate_at: int | float = math.inf
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
        self.path = os.path.abspath(os.fspath(filename))
        self.directory, self.live_name = os.path.split(self.path)
        self.lock_path = os.path.join(self.directory, f".{self.live_name}.lock")
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self.compress = compress
        self.file_mode = file_mode
        self.check_interval = check_interval
        self.dropped = 0
        """Records that could not be written (I/O errors); torn partial writes count too."""
        self.mirror: Callable[[bytes], None] | None = None
        """Called with every line written, e.g. to echo it on a console."""
        self.rotated = RotatedFiles(self.directory, self.live_name, file_mode)
        self._fd: int | None = None
        self._lock: RotationLock | None = None
        self._inode = -1
        self._size = 0
        self._seen_mark = b""
        self._mark_map: mmap.mmap | None = None
        self._token = b""
        self._own_mark = b""  # the map's bytes when the fast path may write; b"": never
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
        """Past this size the write path takes its slow branch (which rotates if it should)."""
        self._rotate_at = self._max_bytes if self.rotates else math.inf

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
            if (
                fd is not None
                and self._size + size <= self._rotate_at
                and time.monotonic() < self._next_check
            ):
                shared = self._mark_map[:MAP_SIZE]  # type: ignore[index]
                if shared == self._own_mark:  # nobody rotated; the last append was this writer's
                    try:  # _write_whole, inline on the hot path
                        written = os.write(fd, line)
                        if written != size:
                            self._needs_newline = True
                            raise OSError(errno.EIO, f"short write ({written} of {size} bytes)")
                    except OSError as exc:
                        self._drop(exc)
                        return False
                    self._size += size  # no one else appended since this writer's last look
                elif not self._append_after_another(fd, line, shared):
                    return False
            elif not self._write_with_checks(line):
                return False
        mirror = self.mirror
        if mirror is not None:
            with contextlib.suppress(Exception):
                mirror(line)
        return True

    def _append_after_another(self, fd: int, line: bytes, shared: bytes) -> bool:
        """Another writer appended last (the common case when several share the file): claim
        the slot, read the size, and append, unless the line needs the careful path."""
        if shared[: len(self._seen_mark)] != self._seen_mark or self._needs_newline:
            return self._write_with_checks(line)  # rotated by another process, or a torn tail
        try:
            self._measure()
            if self._size + len(line) <= self._rotate_at:
                self._size += self._write_whole(fd, line)
                return True
        except OSError as exc:
            self._drop(exc)
            return False
        return self._write_with_checks(line)  # time to rotate

    def _write_with_checks(self, line: bytes) -> bool:
        """The write path after any change: (re)open, rotate, mend a torn tail, and read the
        size afresh, since another writer may have appended."""
        if self._checking:  # re-entered by a signal handler that logs, in the middle of it
            return self._append_while_reentered(line)
        self._checking = True
        try:
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
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags, self.file_mode)
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
        """Put this writer's token in the shared slot, then read the file's size. Until another
        writer appends (and puts its token there), the fast path counts the size itself, with
        no `lseek`. Claiming before reading leaves one blind spot per other writer: a line
        appended but not yet claimed, so the size is short by at most one line of each."""
        mark_map, fd = self._mark_map, self._fd
        assert mark_map is not None and fd is not None
        mark_map[MAP_SIZE - TOKEN_SIZE : MAP_SIZE] = self._token
        self._own_mark = b"" if self._needs_newline else self._seen_mark + self._token
        self._size = os.lseek(fd, 0, os.SEEK_END)

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
        self._measure()
        if self.rotates and self._size > 0 and self._size + incoming > self.max_bytes:
            self._rotate(incoming)
            self._measure()
        assert self._fd is not None
        return self._fd

    def _check_live_path(self) -> None:
        self._next_check = time.monotonic() + self.check_interval
        if self._lock is not None and not self._lock.is_current():
            self._lock.close()  # deleted or replaced: share the one the others use now
            self._lock = None
            self._open()
            return
        try:
            st = os.stat(self.path)
        except FileNotFoundError:  # deleted or renamed away, perhaps with the directory
            self._open()
            return
        if st.st_ino != self._inode:
            self._open()

    def _open(self) -> None:
        """(Re)open the live file, holding a shared lock on it; mend a torn tail."""
        if self._generation != _fork_generation:  # the locks are shared with the parent
            self._close_files()
            self._generation = _fork_generation
        elif self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        os.makedirs(self.directory, exist_ok=True)
        if self._lock is None:
            self._lock = RotationLock(self.lock_path, self.file_mode)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        while True:
            mark = self._lock.mark()  # read first: a rotation after it makes us look again
            fd = os.open(self.path, flags, self.file_mode)
            try:
                lock_shared(fd)
                st = os.fstat(fd)
                with contextlib.suppress(FileNotFoundError):
                    if st.st_nlink > 0 and os.stat(self.path).st_ino == st.st_ino:
                        break
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # rotated (and perhaps compressed) between open and lock: again
        self._fd, self._inode, self._seen_mark = fd, st.st_ino, mark
        self._mark_map = self._lock.map
        self._token = os.urandom(TOKEN_SIZE)
        self._next_check = time.monotonic() + self.check_interval
        self._needs_newline = _ends_in_partial_line(fd)
        self._own_mark = b""  # the fast path waits for _prepare to measure this file

    def _close_files(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        if self._lock is not None:
            self._lock.close()
        self._fd = self._lock = None

    # -- rotation ---------------------------------------------------------------------------

    def _rotate(self, incoming: int) -> None:
        assert self._lock is not None
        with self._lock.held():
            try:
                st = os.stat(self.path)
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
        """Release the files; records that still arrive are written without keeping them."""
        with self.lock:  # type: ignore[union-attr]
            self._closed = True
            self._close_files()
        super().close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path} ({logging.getLevelName(self.level)})>"
