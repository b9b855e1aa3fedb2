"""The hidden lock file every process of one log shares: a mutex for rotation and a counter.

The first 8 bytes hold the number of the latest rotated file (little-endian; a missing or
short file reads as 0). The counter is read with `pread` and written with `pwrite`, never
through `mmap`: a mapped file that someone truncates, or whose blocks a full disk cannot
supply, raises SIGBUS in the process that touches it, and no state of the file system may
kill the application. A writer reads it on its careful path only, so the per-record path
makes no call here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from ._logfiles import open_private
from ._platform import lock_exclusive, pread, pwrite, unlock

_MARK_SIZE = 8


class RotationLock:
    """`flock` on `.events.jsonl.lock` plus the shared rotation counter inside it."""

    def __init__(self, path: str, file_mode: int) -> None:
        self.path = path
        self._fd, st = open_private(path, os.O_RDWR, file_mode)
        self._inode = st.st_ino

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Exclusive across processes (threads of one process are serialised by the caller)."""
        lock_exclusive(self._fd)  # without file locks (Windows): nothing, one process only
        try:
            yield
        finally:
            unlock(self._fd)

    def is_current(self) -> bool:
        """Whether the lock path still names the file this lock holds open."""
        try:
            return os.lstat(self.path).st_ino == self._inode
        except OSError:
            return False

    def mark(self) -> bytes:
        """The counter's raw bytes: cheap to compare with an earlier reading."""
        return pread(self._fd, _MARK_SIZE, 0).ljust(_MARK_SIZE, b"\0")

    def latest_number(self) -> int:
        return int.from_bytes(self.mark(), "little")

    def set_latest_number(self, number: int) -> None:
        """Best effort: on a full disk the counter stays behind, and the rotated files in the
        directory still tell the number; other writers then notice the rotation by the size
        of their file or at their next periodic check."""
        with contextlib.suppress(OSError):
            pwrite(self._fd, number.to_bytes(_MARK_SIZE, "little"), 0)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)
