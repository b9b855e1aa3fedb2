"""JsonlFormatter: stdlib `LogRecord`s as records of the same shape as structlog events.

python-json-logger does the LogRecord side (which attributes are `extra=` fields, `fmt`
fields, `static_fields`, `rename_fields`); the record then runs the same processors as
structlog events (run id, stamps, error, redaction, rendering), so both kinds share one
implementation of every field.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from pythonjsonlogger.core import BaseJsonFormatter
from structlog import DropEvent

from ._contract import EVENT, STACK, level_name
from ._render import format_failure, render_line, safe_str
from .processors import (
    SHARED_SEQ,
    Processor,
    SeqCounter,
    build_processors,
    failure_line,
    file_seq,
    keep_user_value,
    run_processors,
)
from .redaction import Redactor, message_args


def _message_of(
    record: logging.LogRecord, processors: Sequence[Processor]
) -> tuple[str, dict[str, Any]]:
    """The formatted message; when its arguments do not fit, the raw parts instead of an error.
    A `"%(name)s"` message takes its mapping's values through the redactor first."""
    args: Any = record.args
    try:
        if isinstance(args, Mapping) and args:
            args = message_args(processors, args)
            return safe_str(str(record.msg) % args), {}
        return safe_str(record.getMessage()), {}
    except Exception as exc:
        args = args if isinstance(args, tuple) else (args,)
        return safe_str(record.msg), format_failure(exc, args)


class JsonlFormatter(BaseJsonFormatter):
    """Formats a record into one JSON line through the shared processor chain.

    `processors` defaults to the standard chain with redaction (for use without
    `configure()`, e.g. from `dictConfig`); `configure()` passes its own. Accepts
    python-json-logger's options (`fmt`, `static_fields`, `rename_fields`, ...).

    `seq` counts the lines of the log file: `format_bytes` (what `RotatingJsonlHandler`
    calls, naming its `file`) takes it from `seq_counter` when one was given, else from that
    file's own counter, so two handlers sharing no `configure()` number their files apart;
    `format` (what any other handler sharing this formatter calls) counts on its own.
    """

    def __init__(
        self,
        *args: Any,
        processors: Sequence[Processor] | None = None,
        seq_counter: SeqCounter | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.seq_counter = seq_counter if seq_counter is not None else SHARED_SEQ
        self._given_seq = seq_counter is not None
        self._elsewhere_seq = SeqCounter()
        if (args[0] if args else kwargs.get("fmt")) is None:  # the event is the message
            self._required_fields = []
        # Set on the record by any Formatter that saw it first; the event already holds them.
        self._skip_fields.update({"message", "asctime"} - set(self._required_fields))
        self.processors: Sequence[Processor] = (
            processors if processors is not None else build_processors(redactor=Redactor())
        )

    def format_bytes(
        self,
        record: logging.LogRecord,
        seq_counter: SeqCounter | None = None,
        *,
        file: str | None = None,
    ) -> bytes | None:
        """The record's line (newline included), or None when the chain dropped it."""
        if seq_counter is None:
            own = self._given_seq or file is None
            seq_counter = self.seq_counter if own or file is None else file_seq(file)
        logger = SimpleNamespace(
            name=record.name,
            created_ns=round(record.created * 1e6) * 1000,  # the nearest µs, not truncated
            seq_counter=seq_counter,
        )
        method_name = level_name(record.levelno)
        message_dict: dict[str, Any] = {}
        if isinstance(record.msg, dict):
            message_dict = dict(record.msg)
            message, problem = safe_str(message_dict.pop(EVENT, "")), dict[str, Any]()
        else:
            message, problem = _message_of(record, self.processors)
        record.message = message
        try:
            fields: dict[str, Any] = {}
            self.add_fields(fields, record, message_dict)
            if EVENT in fields:  # an `extra` named like the message: the user's, kept
                keep_user_value(fields, EVENT, fields.pop(EVENT))
            event_dict: dict[str, Any] = {**problem, **fields, EVENT: message}
            if record.exc_info:
                event_dict["exc_info"] = record.exc_info
            elif record.exc_text:
                event_dict["exc_text"] = record.exc_text
            if record.stack_info:
                event_dict[STACK] = record.stack_info
            return run_processors(self.processors, logger, method_name, event_dict)
        except DropEvent:
            return None
        except Exception as exc:
            return failure_line(self.processors, logger, method_name, message, exc)

    def format(self, record: logging.LogRecord) -> str:
        line = self.format_bytes(record, self._elsewhere_seq)
        return "" if line is None else line[:-1].decode("utf-8")

    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        return render_line(log_data)[:-1].decode("utf-8")
