"""Capture the records a block of code writes, parsed, for tests of code that logs."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from typing import Any

import orjson

from ._config import configure, current_handler, reset


@contextlib.contextmanager
def capture_events(**configure_kwargs: Any) -> Iterator[list[dict[str, Any]]]:
    """Yield a list that fills with every record written inside the block, as dicts.

    Taps the active `configure()`; without one, configures a temporary log for the block
    (`configure_kwargs` go to that call) and resets afterwards.
    """
    records: list[dict[str, Any]] = []
    handler = current_handler()
    with contextlib.ExitStack() as stack:
        if handler is None:
            log_dir = stack.enter_context(tempfile.TemporaryDirectory())
            handler = configure(log_dir, **configure_kwargs)
            stack.callback(reset)
        previous = handler.mirror

        def tap(line: bytes) -> None:
            records.append(orjson.loads(line))
            if previous is not None:
                previous(line)

        handler.mirror = tap
        try:
            yield records
        finally:
            handler.mirror = previous
