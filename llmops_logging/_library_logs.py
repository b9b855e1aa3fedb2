"""What other libraries log: per-logger levels and Python `warnings` as records.

SDKs log through stdlib loggers that are chatty at DEBUG (current OpenAI and Anthropic SDKs
send their HTTP lines through `httpx2` and `httpcore2`, older ones through `httpx` and
`httpcore`); `configure(levels=...)` sets those loggers' levels and `reset()` gives back the
levels they had before. Warnings become `warning`-level records of the `py.warnings` logger
with `kind="warning"`, like `logging.captureWarnings(True)`, but as fields a query can use
rather than one preformatted line.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any, TextIO

from ._render import safe_str

WARNINGS_LOGGER = "py.warnings"


class NamedLevels:
    """Levels set on named stdlib loggers, and the levels they had before the first setting."""

    def __init__(self) -> None:
        self.saved: dict[str, int] = {}

    def apply(self, levels: Mapping[str, int]) -> None:
        """Set `levels`; loggers an earlier call set and this one does not get theirs back."""
        for name in [n for n in self.saved if n not in levels]:
            logging.getLogger(name).setLevel(self.saved.pop(name))
        for name, number in levels.items():
            logger = logging.getLogger(name)
            self.saved.setdefault(name, logger.level)
            logger.setLevel(number)

    def restore(self) -> None:
        self.apply({})


def _category_name(category: type[Warning]) -> str:
    module = getattr(category, "__module__", "builtins")
    name = getattr(category, "__qualname__", safe_str(category))
    return name if module == "builtins" else f"{module}.{name}"


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """`warnings.showwarning` while captured: a record, with the warning's text as the event."""
    if file is not None:  # an explicit destination, as logging.captureWarnings also keeps it
        _original_showwarning(message, category, filename, lineno, file, line)
        return
    fields: dict[str, Any] = {"category": _category_name(category), "filename": filename}
    fields["lineno"] = lineno
    logging.getLogger(WARNINGS_LOGGER).warning(
        safe_str(message), extra={"kind": "warning", "warning": fields}
    )


_original_showwarning = warnings.showwarning


def capture_warnings(capture: bool) -> None:
    """Route warnings to records, or give `warnings` back the function it had before."""
    global _original_showwarning
    if capture:
        if warnings.showwarning is not show_warning:
            _original_showwarning = warnings.showwarning
            warnings.showwarning = show_warning
    elif warnings.showwarning is show_warning:
        warnings.showwarning = _original_showwarning
