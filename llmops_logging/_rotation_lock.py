"""The hidden lock file every process of one log shares: a mutex for rotation and a counter.

The first 8 bytes hold the number of the latest rotated file; the next 8 the token of the
writer that appended last. Each writer maps them into memory, so noticing that another process
rotated costs one memory read per record instead of a `stat` of the live path, and a writer
that finds its own token there knows the file grew by its own appends only, so it needs no
`lseek` to learn the size.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX platforms get no cross-process lock
    fcntl = None  # type: ignore[assignment]

_MARK_SIZE = TOKEN_SIZE = 8
MAP_SIZE = _MARK_SIZE + TOKEN_SIZE
"""The counter, then the last writer's token."""


class RotationLock:
    """`flock` on `.events.jsonl.lock` plus the shared rotation counter inside it."""

    def __init__(self, path: str, file_mode: int) -> None:
        self.path = path
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(path, flags, file_mode)
        try:
            if os.fstat(self._fd).st_size < MAP_SIZE:
                with self.held():
                    if os.fstat(self._fd).st_size < MAP_SIZE:
                        os.ftruncate(self._fd, MAP_SIZE)
            self.map = mmap.mmap(self._fd, MAP_SIZE)
        except BaseException:
            os.close(self._fd)
            raise

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Exclusive across processes (threads of one process are serialised by the caller)."""
        if fcntl is None:  # pragma: no cover
            yield
            return
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def is_current(self) -> bool:
        """Whether the lock path still names the file this lock holds open."""
        try:
            return os.stat(self.path).st_ino == os.fstat(self._fd).st_ino
        except OSError:
            return False

    def mark(self) -> bytes:
        """The counter's raw bytes: cheap to compare with an earlier reading."""
        return self.map[:_MARK_SIZE]

    def latest_number(self) -> int:
        return int.from_bytes(self.mark(), "little")

    def set_latest_number(self, number: int) -> None:
        self.map[:_MARK_SIZE] = number.to_bytes(_MARK_SIZE, "little")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.map.close()
        with contextlib.suppress(OSError):
            os.close(self._fd)
