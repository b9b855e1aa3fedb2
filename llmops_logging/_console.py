"""Echo of written records on a terminal, for `configure(console=True)`."""

from __future__ import annotations

from typing import TextIO

import orjson
from structlog.dev import ConsoleRenderer

from ._contract import EVENT_ID, PID, SEQ, TS

_HIDDEN = (EVENT_ID, SEQ, PID)


class ConsoleEcho:
    """Pretty-prints each written JSON line to a stream with structlog's console renderer."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        isatty = getattr(stream, "isatty", None)
        self.renderer = ConsoleRenderer(colors=bool(isatty and isatty()))

    def __call__(self, line: bytes) -> None:
        record = orjson.loads(line)
        for key in _HIDDEN:
            record.pop(key, None)
        record["timestamp"] = record.pop(TS, "")
        self.stream.write(f"{self.renderer(None, 'info', record)}\n")
