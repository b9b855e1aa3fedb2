"""What one record says, by one rule each: did it fail, its error's text, its call's model.

The failure rule: a record failed when its level is `error` or `critical`, its kind ends in
`_error` (`run_error`, `step_error`, and a user's own such as `tool_error`, at any level), or
it holds an `error` field. Each is a writer's way to say so (the level, the closing kind of a
failed scope, the exception's type and message), and no command calls a record ok that another
counts as failed. The library writes every failure (a call, tool, step or run) at `error` with
an `error` field.

The model of a call is its response's model, else its request's: the model that answered is
the one that made the tokens and was priced (a request for `gpt-4o` answered by a dated
version), and it is what the OpenInference `llm.model_name` of an exported span says too.
"""

from __future__ import annotations

import logging
from typing import Any

from .._contract import (
    ERROR,
    ERROR_MESSAGE,
    ERROR_TYPE,
    EVENT,
    KIND,
    LEVEL,
    LEVELS,
    LLM_CALL,
    REQUEST_MODEL_PATH,
    RESPONSE_MODEL_PATH,
    RUN_KINDS,
    STEP_KINDS,
    TOOL_CALL,
    Record,
)
from .values import path, shown

ERROR_LEVELS = tuple(name for name, number in LEVELS.items() if number >= logging.ERROR)
"""`error`, `critical`: a tuple, since a foreign record's level may be unhashable."""
ERROR_SUFFIX = "_" + ERROR
RUN_START, RUN_OK, RUN_ERROR = RUN_KINDS
STEP_START, STEP_OK, STEP_ERROR = STEP_KINDS
RUN_ENDS = frozenset(RUN_KINDS[1:])
STEP_ENDS = frozenset(STEP_KINDS[1:])
STARTS = frozenset((RUN_START, STEP_START))
SPAN_KINDS = frozenset((*STEP_KINDS, LLM_CALL, TOOL_CALL))
"""The kinds whose record is a span of its own (by its `step_id`); any other is an event."""


def kind_of(record: Record) -> str | None:
    """The record's kind; None for a foreign writer's list, object or number, which is no kind
    (and, unhashable, cannot be looked up in a set of kinds)."""
    kind = record.get(KIND)
    return kind if isinstance(kind, str) else None


def failed(record: Record) -> bool:
    """Whether the record failed (the module's rule): an error level, an `_error` kind or an
    `error` field."""
    if record.get(LEVEL) in ERROR_LEVELS or record.get(ERROR) is not None:
        return True
    return failed_kind(record.get(KIND))


def failed_kind(kind: Any) -> bool:
    """Whether a record of this kind failed by its kind alone (`failed`'s last rule)."""
    return isinstance(kind, str) and kind.endswith(ERROR_SUFFIX)


def error_text(record: Record) -> str | None:
    """`Type: message` of the record's `error` object, or None when it has none."""
    error = record.get(ERROR)
    if not isinstance(error, dict):
        return None
    return f"{shown(error.get(ERROR_TYPE))}: {shown(error.get(ERROR_MESSAGE))}"


def error_type(record: Record) -> str | None:
    """The type of the record's `error` object, or None when it has none."""
    error = record.get(ERROR)
    return shown(error.get(ERROR_TYPE)) if isinstance(error, dict) else None


def call_model(record: Record) -> str | None:
    """The model of an `llm_call`: its response's, else its request's (see the module); a
    model that is not text is no model."""
    return text(path(record, *RESPONSE_MODEL_PATH)) or text(path(record, *REQUEST_MODEL_PATH))


def call_label(record: Record) -> str:
    """A call's model, else its event: how a call is grouped and named."""
    return call_model(record) or shown(record.get(EVENT) or "-")


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
