"""The one way the commands write a file (`export`, `report`): whole, or not at all.

The output is written to a temporary in `--out`'s directory and renamed over `--out`, so a
reader never sees half a file and a failed command leaves the old file as it was. The
temporary is made as the writer makes its files (`_logfiles`): a random name, created with
`O_EXCL | O_NOFOLLOW | O_CLOEXEC`, so no link planted beside `--out` can redirect the write
and two commands writing to one path do not share a temporary (the last rename wins). The
rename replaces the name `--out` itself: when `--out` is a symbolic link, the link is replaced
by the new file and the file it pointed to is left untouched. A regular file replaced keeps
its permission bits. An error or an interruption removes the temporary.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from typing import BinaryIO

from .._contract import O_CLOEXEC, O_NOFOLLOW

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC
_ATTEMPTS = 100
TEMP_SUFFIX = ".tmp"


def _create(directory: str, name: str) -> tuple[int, str]:
    """A new file with an unpredictable hidden name beside `name`: (descriptor, path)."""
    for _ in range(_ATTEMPTS):
        temp = os.path.join(directory, f".{name}.{secrets.token_hex(8)}{TEMP_SUFFIX}")
        try:
            return os.open(temp, _CREATE_FLAGS, 0o666), temp  # the umask applies, as for `open`
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, f"cannot create a temporary file beside {name} in {directory}")


def _existing_mode(out: str) -> int | None:
    """The permission bits of a regular file at `out` (a link's target is not asked), so the
    new file keeps them; a clear error before any work when `out` is a directory."""
    try:
        mode = os.lstat(out).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, f"cannot write {out}: it is a directory")
    return stat.S_IMODE(mode) if stat.S_ISREG(mode) else None


@contextlib.contextmanager
def output_file(out: str) -> Iterator[BinaryIO]:
    """A binary stream whose bytes become the file `out` when the block ends without error."""
    directory = os.path.dirname(out)
    if directory:
        os.makedirs(directory, exist_ok=True)
    mode = _existing_mode(out)
    fd, temp = _create(directory or ".", os.path.basename(out))
    try:
        if mode is not None:  # a report made 0600 (it holds prompts) stays 0600
            os.fchmod(fd, mode)
        with open(fd, "wb") as stream:
            yield stream
        try:
            os.replace(temp, out)
        except OSError as exc:  # name the user's file, not the temporary
            raise type(exc)(exc.errno, f"cannot write {out}: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
