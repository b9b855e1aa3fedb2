"""Capture the records a block of code writes, parsed, for tests of code that logs."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from typing import Any

import orjson

from ._config import add_tap, configure, current_handler, remove_tap, reset


@contextlib.contextmanager
def capture_events(**configure_kwargs: Any) -> Iterator[list[dict[str, Any]]]:
    """Yield a list that fills with every record written inside the block, as dicts.

    Sees every handler `configure()` installs during the block, so code that configures
    logging itself is captured too. Without an active configuration, configures a temporary
    log for the block (`configure_kwargs` go to that call) and resets afterwards.
    """
    records: list[dict[str, Any]] = []

    def tap(line: bytes) -> None:
        records.append(orjson.loads(line))

    with contextlib.ExitStack() as stack:
        if current_handler() is None:
            log_dir = stack.enter_context(tempfile.TemporaryDirectory())
            configure(log_dir, **configure_kwargs)
            stack.callback(reset)
        add_tap(tap)
        stack.callback(remove_tap, tap)
        yield records
