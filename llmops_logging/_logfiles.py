"""The files of one log: naming, and the housekeeping of rotated files.

Rotated files are `events.jsonl.NNNNNN`: a number that only grows, so a name never changes
again except to gain `.gz`. A writer holds a shared `flock` on the file its descriptor points
to, for as long as it holds the descriptor; compression and deletion take an exclusive lock
without waiting, and leave a file that someone may still append to for the next rotation.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import shutil
from collections.abc import Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX platforms get no cross-process locks
    fcntl = None  # type: ignore[assignment]

ROTATED_DIGITS = 6


def rotated_name(live_name: str, number: int, compressed: bool = False) -> str:
    """The name of the `number`-th rotated file of the log whose live file is `live_name`."""
    return f"{live_name}.{number:0{ROTATED_DIGITS}d}" + (".gz" if compressed else "")


def rotated_pattern(live_name: str) -> re.Pattern[str]:
    """Matches rotated file names of that log; group 1 is the number, group 2 the `.gz`."""
    return re.compile(re.escape(live_name) + r"\.(\d+)(\.gz)?$")


def lock_shared(fd: int) -> None:
    """Mark a descriptor as one a writer may still append to (see module docstring)."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_SH)


@contextlib.contextmanager
def _idle(path: str) -> Iterator[int | None]:
    """An fd of `path` held exclusively, or None when a writer still holds it (or it is gone)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        yield None
        return
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield None
                return
        yield fd
    finally:
        os.close(fd)


class RotatedFiles:
    """Finds, compresses and prunes the rotated files of one log."""

    def __init__(self, directory: str, live_name: str, file_mode: int) -> None:
        self.directory = directory
        self.live_name = live_name
        self.file_mode = file_mode
        self._pattern = rotated_pattern(live_name)

    def path(self, number: int, compressed: bool = False) -> str:
        return os.path.join(self.directory, rotated_name(self.live_name, number, compressed))

    def numbers(self) -> dict[int, list[str]]:
        """Rotated file names by number (a number may briefly have a plain and a `.gz` file)."""
        found: dict[int, list[str]] = {}
        for name in os.listdir(self.directory):
            match = self._pattern.match(name)
            if match:
                found.setdefault(int(match.group(1)), []).append(name)
        return found

    def housekeep(self, keep: int, compress: bool) -> None:
        """Delete all but the newest `keep` numbers; gzip the plain ones no writer holds."""
        files = self.numbers()
        for number in sorted(files)[:-keep]:
            for name in files.pop(number):
                self._remove_if_idle(os.path.join(self.directory, name))
        if compress:
            for number, names in sorted(files.items()):
                if rotated_name(self.live_name, number) in names:
                    self._compress(number)

    def _remove_if_idle(self, path: str) -> None:
        with _idle(path) as fd:
            if fd is not None:
                os.unlink(path)

    def _compress(self, number: int) -> None:
        """Write `N.gz` through a hidden temporary and a rename, then remove the plain `N`."""
        plain, final = self.path(number), self.path(number, compressed=True)
        with _idle(plain) as fd:
            if fd is None:
                return
            if not os.path.exists(final):  # else a crash came between rename and unlink
                temp = os.path.join(self.directory, f".{os.path.basename(final)}.tmp")
                flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
                try:
                    with (
                        open(fd, "rb", closefd=False) as src,
                        open(os.open(temp, flags, self.file_mode), "wb") as raw,
                        gzip.GzipFile(fileobj=raw, mode="wb") as dst,
                    ):
                        shutil.copyfileobj(src, dst, 1 << 20)
                    os.replace(temp, final)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(temp)
                    raise
            os.unlink(plain)
