"""`ship`'s checkpoint: where reading stands and which runs are still open, as of the last batch
the backend acknowledged. It is written only after that acknowledgement, whole or not at all
(a temporary beside it, flushed to disk, renamed over it, the directory flushed too), so a
`ship` killed at any instant restarts from a state that every sent span was taken in, and
resends at most what was not acknowledged. It holds no header (no secret): only the endpoint as
`send.shown` prints it, to tell checkpoints of two endpoints apart."""

from __future__ import annotations

import contextlib
import os
from typing import Any

import orjson

from .._outfile import output_file

VERSION = 1


def load(path: str) -> dict[str, Any] | None:
    """The checkpoint at `path`; None if there is none. Raises ValueError if it is not one."""
    try:
        with open(path, "rb") as stream:
            data = orjson.loads(stream.read())
    except FileNotFoundError:
        return None
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{path} is not a ship checkpoint: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ValueError(f"{path} is not a version {VERSION} ship checkpoint")
    return data


def save(path: str, state: dict[str, Any]) -> None:
    """Replace the checkpoint with `state`, durably."""
    with output_file(path) as stream:
        stream.write(orjson.dumps({"version": VERSION, **state}))
        stream.flush()
        os.fsync(stream.fileno())
    with contextlib.suppress(OSError):  # the rename itself, on disk (not on every platform)
        fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def set_aside(path: str, line: bytes) -> None:
    """Append a refused batch (one OTLP/JSON request per line) to the file beside the
    checkpoint, for a person to look at; it no longer blocks the rest. A link planted at that
    name is not followed (the open fails, and ship reports it)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o600)
    with os.fdopen(fd, "ab") as stream:
        stream.write(line.rstrip(b"\n") + b"\n")
        stream.flush()
        os.fsync(stream.fileno())
