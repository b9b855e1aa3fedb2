"""What the running platform offers beyond portable Python, decided once at import.

Linux and macOS have fork hooks, `flock` and `pread`; Windows has none of them. Without fork
hooks there is no fork to recover from; without `flock` the log cannot be shared safely by
several processes, so `configure()` says so once. A module here never fails to import for
lack of any of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable

try:
    import fcntl
except ImportError:
    fcntl = None  # type: ignore[assignment]

FILE_LOCKS = fcntl is not None
"""Whether `fcntl.flock` exists, which several processes sharing one log rely on. Without it
the lock functions below do nothing (and `try_lock_exclusive` says None)."""


def lock_shared(fd: int) -> None:
    """A shared `flock` on `fd`, waiting for it."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_SH)


def lock_exclusive(fd: int) -> None:
    """An exclusive `flock` on `fd`, waiting for it."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)


def try_lock_exclusive(fd: int) -> bool | None:
    """An exclusive `flock` on `fd` without waiting: True when taken, False when another
    descriptor holds a lock on the file, None without file locks on this platform."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def unlock(fd: int) -> None:
    """Release this descriptor's `flock`."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _seek_and_read(fd: int, length: int, offset: int) -> bytes:
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, length)


pread: Callable[[int, int, int], bytes] = getattr(os, "pread", _seek_and_read)
"""`os.pread` where it exists; elsewhere a seek and a read (which moves the fd's offset)."""


def _seek_and_write(fd: int, data: bytes, offset: int) -> int:
    os.lseek(fd, offset, os.SEEK_SET)
    return os.write(fd, data)


pwrite: Callable[[int, bytes, int], int] = getattr(os, "pwrite", _seek_and_write)
"""`os.pwrite` where it exists; elsewhere a seek and a write (which moves the fd's offset)."""


def at_fork_in_child(func: Callable[[], object]) -> None:
    """Run `func` in every forked child, where the platform can fork at all."""
    register = getattr(os, "register_at_fork", None)
    if register is not None:
        register(after_in_child=func)
