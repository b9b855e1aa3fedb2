"""The files of one log: naming, and the housekeeping of rotated files.

Rotated files are `events.jsonl.NNNNNN`: a number that only grows, so a name never changes
again except to gain `.gz`. A writer holds a shared `flock` on the file its descriptor points
to, for as long as it holds the descriptor; compression and deletion take an exclusive lock
without waiting, and leave a file that someone may still append to for the next rotation.

A log directory may be shared with other users (a sticky `/tmp`), so no file of the log is
opened through a symbolic link, a new file is only ever created with `O_EXCL`, temporaries get
unpredictable names, and a file is only written, compressed or deleted when it is a regular
file of this user's that no one else can write (`open_private`, `unsafe_reason`).
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator

from ._contract import (
    FOUND_FILE_FLAGS,
    GZ_SUFFIX,
    O_NONBLOCK,
    parse_rotated,
    rotated_name,
)
from ._platform import try_lock_exclusive, unlock

_OPEN_ATTEMPTS = 100
_geteuid = getattr(os, "geteuid", None)
_TEMP_SUFFIX = ".tmp"


class UnsafeFileError(OSError):
    """A file of the log that this process refuses to open: a link, another user's, ..."""


def unsafe_reason(st: os.stat_result) -> str | None:
    """Why a file (from `fstat` or `lstat`) is not one this process may write, or None."""
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if _geteuid is not None and st.st_uid != _geteuid():
        return f"owned by uid {st.st_uid}, not by this process's user"
    if st.st_mode & 0o022:
        return "writable by group or others"
    if st.st_nlink > 1:
        return "hard-linked elsewhere"
    return None


def open_private(path: str, flags: int, mode: int) -> tuple[int, os.stat_result]:
    """Open `path`, creating it (`O_EXCL`) when missing, never through a symbolic link, and
    check with `fstat` that it is a regular file of this user's that no one else can write.

    Raises `UnsafeFileError` for a file planted by someone else, `OSError` as `os.open` does.
    """
    base = flags | FOUND_FILE_FLAGS
    for _ in range(_OPEN_ATTEMPTS):  # each retry means another process created or removed it
        try:
            fd = os.open(path, base)
        except FileNotFoundError:
            try:
                fd = os.open(path, base | os.O_CREAT | os.O_EXCL, mode)
            except FileExistsError:  # created meanwhile, or a dangling link: look again
                continue
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafeFileError(
                    errno.ELOOP, f"refusing {path}: it is a symbolic link"
                ) from None
            raise
        try:
            st = os.fstat(fd)
            problem = unsafe_reason(st)
            if problem is not None:
                raise UnsafeFileError(errno.EPERM, f"refusing {path}: {problem}")
            if O_NONBLOCK:
                os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd, st
    raise OSError(errno.EAGAIN, f"{path} keeps being created and removed")


@contextlib.contextmanager
def _idle(path: str) -> Iterator[int | None]:
    """An fd of `path` held exclusively, or None when a writer still holds it, it is gone, or
    it is not a file of this log's (a link or another user's file is left alone)."""
    try:
        fd = os.open(path, os.O_RDONLY | FOUND_FILE_FLAGS)
    except OSError:
        yield None
        return
    try:
        if unsafe_reason(os.fstat(fd)) is not None:
            yield None
            return
        if try_lock_exclusive(fd) is False:
            yield None
            return
        try:
            yield fd
        finally:
            unlock(fd)  # now: a forked child's copy of fd must not keep the lock
    finally:
        os.close(fd)


class RotatedFiles:
    """Finds, compresses and prunes the rotated files of one log."""

    def __init__(self, directory: str, live_name: str, file_mode: int) -> None:
        self.directory = directory
        self.live_name = live_name
        self.file_mode = file_mode

    def path(self, number: int, compressed: bool = False) -> str:
        return os.path.join(self.directory, rotated_name(self.live_name, number, compressed))

    def numbers(self) -> dict[int, list[str]]:
        """Rotated file names by number (a number may briefly have a plain and a `.gz` file)."""
        found: dict[int, list[str]] = {}
        for name in os.listdir(self.directory):
            parsed = parse_rotated(self.live_name, name)
            if parsed is not None:
                found.setdefault(parsed[0], []).append(name)
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
                if not path.endswith(GZ_SUFFIX):  # a compressor's lock: see the method
                    self._remove_dead_temporaries(os.path.basename(path))
                os.unlink(path)

    @staticmethod
    def _temporary_prefix(plain_name: str) -> str:
        """The start of the names of the hidden gzip temporaries of one rotated file."""
        return f".{plain_name}{GZ_SUFFIX}."

    def _remove_dead_temporaries(self, plain_name: str) -> None:
        """Delete the gzip temporaries a compressor of `plain_name` left when it died.

        Called with the file's exclusive lock held: every compressor takes that lock before it
        makes a temporary, so while this process holds it, every temporary found is dead."""
        prefix = self._temporary_prefix(plain_name)
        for name in os.listdir(self.directory):
            if name.startswith(prefix) and name.endswith(_TEMP_SUFFIX):
                path = os.path.join(self.directory, name)
                if self._is_own(path):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(path)

    def _compress(self, number: int) -> None:
        """Write `N.gz` through a hidden temporary and a rename, then remove the plain `N`."""
        plain, final = self.path(number), self.path(number, compressed=True)
        with _idle(plain) as fd:
            if fd is None:
                return
            self._remove_dead_temporaries(os.path.basename(plain))
            if not self._is_own(final):  # else a crash came between rename and unlink
                # mkstemp: a random name, created with O_EXCL (and O_NOFOLLOW), mode 0600
                temp_fd, temp = tempfile.mkstemp(
                    prefix=self._temporary_prefix(os.path.basename(plain)),
                    suffix=_TEMP_SUFFIX,
                    dir=self.directory,
                )
                try:
                    with (
                        open(fd, "rb", closefd=False) as src,
                        open(temp_fd, "wb") as raw,
                        gzip.GzipFile(fileobj=raw, mode="wb") as dst,
                    ):
                        if self.file_mode != 0o600 and hasattr(os, "fchmod"):
                            os.fchmod(temp_fd, self.file_mode)
                        shutil.copyfileobj(src, dst, 1 << 20)
                    os.replace(temp, final)  # replaces a planted link itself, never its target
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(temp)
                    raise
            os.unlink(plain)

    @staticmethod
    def _is_own(path: str) -> bool:
        """Whether `path` is a regular file of this user's (not a link someone planted)."""
        try:
            return unsafe_reason(os.lstat(path)) is None
        except FileNotFoundError:
            return False
