"""RotatingJsonlHandler: an append-only JSONL file that several processes can write and rotate.

Every record is one `os.write` of a whole line on an `O_APPEND` descriptor, so writers in any
number of processes never interleave inside a line. Before each write the live path is checked:
a changed inode means another process rotated (reopen), a full file means rotate now. Rotation
renames the live file to `events.jsonl.NNNNNN` (a number that only grows, so the name never
changes again except to gain `.gz`) under an `flock` on the hidden `.events.jsonl.lock`.
Compression and retention happen under the same lock, compression one generation late so that
writers still in flight to the newest rotated file cannot lose a record. Write errors never
reach the application: they are counted in `dropped` and reported once on stderr.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import logging
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX platforms get no cross-process lock
    fcntl = None  # type: ignore[assignment]

DEFAULT_MAX_BYTES = 10 * 2**20
DEFAULT_BACKUP_COUNT = 5
DEFAULT_FILE_MODE = 0o600
ROTATED_DIGITS = 6

_fork_generation = 0


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1


os.register_at_fork(after_in_child=_after_fork_in_child)


def rotated_name(live_name: str, number: int, compressed: bool = False) -> str:
    """The name of the `number`-th rotated file of the log whose live file is `live_name`."""
    return f"{live_name}.{number:0{ROTATED_DIGITS}d}" + (".gz" if compressed else "")


def rotated_pattern(live_name: str) -> re.Pattern[str]:
    """Matches rotated file names of that log; group 1 is the number, group 2 the `.gz`."""
    return re.compile(re.escape(live_name) + r"\.(\d+)(\.gz)?$")


def _ends_in_partial_line(fd: int) -> bool:
    """Whether the file ends in a fragment a killed writer left (not in a write in progress).

    Another process's append can be seen half done (the size grows page by page), so a tail
    without a newline only counts as torn once the size has stood still for a moment.
    """
    size = os.fstat(fd).st_size
    for _ in range(5):
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return False
        time.sleep(0.001)
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

    def __init__(
        self,
        filename: str | os.PathLike[str],
        max_bytes: int = DEFAULT_MAX_BYTES,
        backup_count: int = DEFAULT_BACKUP_COUNT,
        compress: bool = False,
        *,
        file_mode: int = DEFAULT_FILE_MODE,
        level: int | str = logging.NOTSET,
        formatter: logging.Formatter | None = None,
    ) -> None:
        super().__init__(level)
        if max_bytes < 0 or backup_count < 0:
            raise ValueError("max_bytes and backup_count must be >= 0")
        self.path = os.path.abspath(os.fspath(filename))
        self.directory, self.live_name = os.path.split(self.path)
        self.lock_path = os.path.join(self.directory, f".{self.live_name}.lock")
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self.compress = compress
        self.file_mode = file_mode
        self.dropped = 0
        """Records that could not be written (I/O errors); torn partial writes count too."""
        self.mirror: Callable[[bytes], None] | None = None
        """Called with every line written, e.g. to echo it on a console."""
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._inode = -1
        self._generation = _fork_generation
        self._needs_newline = False
        self._failing: str | None = None
        self._rotated_re = rotated_pattern(self.live_name)
        if formatter is None:
            from .formatters import JsonlFormatter

            formatter = JsonlFormatter()
        self.setFormatter(formatter)

    @property
    def rotates(self) -> bool:
        return self.max_bytes > 0 and self.backup_count > 0

    # -- the write path -------------------------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        try:
            format_bytes = getattr(self.formatter, "format_bytes", None)
            if format_bytes is not None:
                line = format_bytes(record)
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
        with self.lock:  # type: ignore[union-attr]  # createLock() always sets it
            try:
                self._prepare(len(line))
                assert self._fd is not None
                if self._needs_newline:
                    line = b"\n" + line
                written = os.write(self._fd, line)
                self._needs_newline = written != len(line)
                if self._needs_newline:
                    raise OSError(errno.EIO, f"short write ({written} of {len(line)} bytes)")
            except OSError as exc:
                self._drop(exc)
                return False
            if self._failing is not None:
                self._recovered()
        mirror = self.mirror
        if mirror is not None:
            with contextlib.suppress(Exception):
                mirror(line)
        return True

    def _prepare(self, incoming: int) -> None:
        """Make sure `_fd` is the live file and has room for `incoming` bytes."""
        if self._fd is None or self._generation != _fork_generation:
            self._open()
        try:
            st = os.stat(self.path)
        except FileNotFoundError:  # deleted or renamed away, perhaps the directory too
            self._open()
            return
        if st.st_ino != self._inode:
            self._open()
        elif self.rotates and st.st_size > 0 and st.st_size + incoming > self.max_bytes:
            self._rotate(incoming)

    def _open(self) -> None:
        """(Re)open the live file; start on a new line after a torn tail."""
        if self._generation != _fork_generation:  # the lock is shared with the parent: own one
            self._close_fds()
            self._generation = _fork_generation
        elif self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        os.makedirs(self.directory, exist_ok=True)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(self.path, flags, self.file_mode)
        self._inode = os.fstat(self._fd).st_ino
        self._needs_newline = _ends_in_partial_line(self._fd)

    def _close_fds(self) -> None:
        for fd in (self._fd, self._lock_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fd = self._lock_fd = None

    # -- rotation ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _interprocess_lock(self) -> Iterator[None]:
        if self._lock_fd is None:
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
            self._lock_fd = os.open(self.lock_path, flags, self.file_mode)
        if fcntl is None:  # pragma: no cover
            yield
            return
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _rotate(self, incoming: int) -> None:
        with self._interprocess_lock():
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                st = None
            if st is None or st.st_ino != self._inode:
                self._open()  # another process rotated first
                return
            if st.st_size == 0 or st.st_size + incoming <= self.max_bytes:
                return
            number = self._next_number()
            target = os.path.join(self.directory, rotated_name(self.live_name, number))
            os.rename(self.path, target)
            self._record_number(number)
            self._open()
            self._housekeep(newest=number)

    def rotated_files(self) -> dict[int, list[str]]:
        """Rotated files by number (a number may briefly have both a plain and a `.gz` file)."""
        found: dict[int, list[str]] = {}
        for name in os.listdir(self.directory):
            match = self._rotated_re.match(name)
            if match:
                found.setdefault(int(match.group(1)), []).append(name)
        return found

    def _next_number(self) -> int:
        assert self._lock_fd is not None
        recorded = os.pread(self._lock_fd, 32, 0).strip()
        last = int(recorded) if recorded.isdigit() else 0
        return max([last, *self.rotated_files()]) + 1

    def _record_number(self, number: int) -> None:
        assert self._lock_fd is not None
        os.ftruncate(self._lock_fd, 0)
        os.pwrite(self._lock_fd, f"{number}\n".encode(), 0)

    def _housekeep(self, newest: int) -> None:
        """Compress closed generations and delete the oldest beyond `backup_count`."""
        files = self.rotated_files()
        for number in sorted(files)[: -self.backup_count]:
            for name in files.pop(number):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(self.directory, name))
        if not self.compress:
            return
        for number, names in sorted(files.items()):
            if number < newest:
                self._compress(number, names)

    def _compress(self, number: int, names: list[str]) -> None:
        plain = os.path.join(self.directory, rotated_name(self.live_name, number))
        if rotated_name(self.live_name, number) not in names:
            return
        final = plain + ".gz"
        if rotated_name(self.live_name, number, compressed=True) not in names:
            temp = os.path.join(self.directory, f".{os.path.basename(final)}.tmp")
            with open(plain, "rb") as src, gzip.open(temp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            os.chmod(temp, self.file_mode)
            os.replace(temp, final)  # complete, or not there at all
        os.unlink(plain)

    # -- errors and lifecycle ---------------------------------------------------------------

    def _drop(self, exc: OSError) -> None:
        self.dropped += 1
        self._close_fds()  # reopen from scratch next time: the directory may come back
        if self._failing is None:  # report the first failure of an episode, not every record
            self._failing = reason = f"{type(exc).__name__}: {exc.strerror or exc}"
            with contextlib.suppress(Exception):
                sys.stderr.write(
                    f"llmops_logging: cannot write {self.path} ({reason}); "
                    "dropping records until it can\n"
                )

    def _recovered(self) -> None:
        self._failing = None
        with contextlib.suppress(Exception):
            sys.stderr.write(
                f"llmops_logging: writing {self.path} again; "
                f"{self.dropped} records dropped so far\n"
            )

    def close(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._close_fds()
        super().close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path} ({logging.getLevelName(self.level)})>"
