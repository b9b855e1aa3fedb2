"""What other libraries log: per-logger levels and Python `warnings` as records.

SDKs log through stdlib loggers that are chatty at DEBUG (current OpenAI and Anthropic SDKs
send their HTTP lines through `httpx2` and `httpcore2`, older ones through `httpx` and
`httpcore`); `configure(levels=...)` sets those loggers' levels and `reset()` gives back the
levels they had before. Warnings become `warning`-level records of the `py.warnings` logger
with `kind="warning"`, like `logging.captureWarnings(True)`, but as fields a query can use
rather than one preformatted line.

With `capture_content=False`, the SDKs' own DEBUG lines must not carry what `llm_call`
records leave out: the Anthropic SDK logs "Request options: {...}" with the whole request body
(`json_data`: messages, system prompt) and a filter on its request logger, and on OpenAI's,
blanks those parts while content capture is off.

While an SDK is instrumented, its per-request INFO lines (`HTTP Request: POST ...` from
`httpx2` / `httpx`, the SDKs' "Retrying request" lines) say nothing the `llm_call` record does
not (the call, its status, its `attempts`), yet cost about 100 µs and one line per call: a
filter on the library's handler leaves them out (unless `configure(level="DEBUG")`). A
filter rather than a level, so that the loggers' levels stay the user's and `reset()` has
nothing to give back; a logger whose level someone set (`levels=`, `setLevel`, the SDKs'
`OPENAI_LOG` / `ANTHROPIC_LOG`) keeps its lines.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any, TextIO

from ._contract import KIND
from ._llm_settings import llm_settings
from ._render import safe_str

WARNINGS_LOGGER = "py.warnings"
SDK_REQUEST_LOGGERS = ("anthropic._base_client", "openai._base_client")
CONTENT_KEYS = frozenset({"json_data", "extra_json", "content", "files", "params"})
NOT_CAPTURED = "[not captured: capture_content=False]"


class RequestContentFilter(logging.Filter):
    """Blank the request body in an SDK's "Request options: {...}" line while
    `capture_content` is off; other records, and all records while it is on, pass as they are.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            isinstance(args, Mapping)
            and not llm_settings().capture_content
            and any(key in args for key in CONTENT_KEYS)
        ):
            record.args = {k: NOT_CAPTURED if k in CONTENT_KEYS else v for k, v in args.items()}
        return True


_request_filter = RequestContentFilter()


def keep_request_content_out() -> None:
    """Put the filter on the SDKs' request loggers (once; it reads the setting per record)."""
    for name in SDK_REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if _request_filter not in logger.filters:
            logger.addFilter(_request_filter)


SDK_REQUEST_LINES = ("httpx2", "httpx", *SDK_REQUEST_LOGGERS)


def _level_set_for(name: str) -> int:
    """The level set on logger `name` or its nearest ancestor below the root, else NOTSET."""
    logger: logging.Logger | None = logging.getLogger(name)
    root = logging.getLogger()
    while logger is not None and logger is not root:
        if logger.level != logging.NOTSET:
            return logger.level
        logger = logger.parent
    return logging.NOTSET


class SdkRequestLines(logging.Filter):
    """Drop INFO-and-below records of the SDKs' request loggers while an SDK is instrumented;
    warnings and errors pass, and so does every record of a logger whose level someone set."""

    def __init__(self) -> None:
        super().__init__()
        self.active = False
        self.names = frozenset(SDK_REQUEST_LINES)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.active or record.levelno > logging.INFO or record.name not in self.names:
            return True
        return _level_set_for(record.name) != logging.NOTSET


sdk_request_lines = SdkRequestLines()
"""The one filter, on every handler `configure()` makes; `reset()` turns it off."""


def quiet_sdk_request_lines() -> None:
    """Called by the SDK instrumentations: from now on their request lines are left out."""
    sdk_request_lines.active = True


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
        safe_str(message), extra={KIND: "warning", "warning": fields}
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
