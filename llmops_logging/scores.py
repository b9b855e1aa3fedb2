"""score(): one evaluation result as a `score` record, on the current run or on any run by id.

The record carries the OpenTelemetry evaluation attributes nested under `gen_ai`
(`gen_ai.evaluation.name`, `.score.value`, `.score.label`, `.explanation`) and `source`.

Which run it scores is a stamp, like every `run_id`: the current run's, or, with `run_id=`
given, that run's (set around the one log call in `scope_stamps`, as a step's own record sets
its ids), so feedback that arrives later, from another process, lands on the run it judges.
The run current where such a score was logged is kept as `scorer_run_id`.

A boolean value is pass/fail: `score.value` 1.0 or 0.0, `passed` true or false, and the label
`pass` or `fail` unless one is given. A number is kept as given (an int stays an int, a float
a JSON float). Anything else (NaN, infinity, a string, None) never raises into the caller: the
record is written without `score.value` and with `score_invalid` holding the value's text.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from ._config import get_logger
from ._context import current_run, default_run_id, nearest_open, scope_stamps
from ._contract import (
    EVALUATION_NAME_PATH,
    EXPLANATION_PATH,
    FAIL_LABEL,
    PASS_LABEL,
    PASSED,
    RUN_ID,
    SCORE,
    SCORE_EVENT,
    SCORE_FIELDS,
    SCORE_INVALID,
    SCORE_LABEL_PATH,
    SCORE_VALUE_PATH,
    SCORER_RUN_ID,
    SOURCE,
    STEP_ID,
)
from ._render import safe_repr, safe_str
from .processors import beside_own_fields

_LOGGER_NAME = "llmops_logging"
_MAX_INVALID_TEXT = 200


def _value(value: Any) -> tuple[float | int | None, bool | None, str | None]:
    """(the number to write, passed for a boolean, the text of a value that is no number)."""
    if isinstance(value, bool):
        return (1.0 if value else 0.0), value, None
    if isinstance(value, numbers.Integral):
        return int(value), None, None
    if isinstance(value, numbers.Real):
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            number = math.nan
        if math.isfinite(number):
            return number, None, None
    return None, None, safe_repr(value)[:_MAX_INVALID_TEXT]


def _put(record: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set `value` at `path` (the contract's nesting of an OpenTelemetry name)."""
    for key in path[:-1]:
        record = record.setdefault(key, {})
    record[path[-1]] = value


def _own_run_id() -> str:
    run = nearest_open(current_run.get())
    return default_run_id() if run is None else run.run_id


def score(
    name: str,
    value: Any,
    *,
    label: str | None = None,
    explanation: str | None = None,
    source: str = "code",
    run_id: str | None = None,
    step_id: str | None = None,
    **fields: Any,
) -> None:
    """Write one `score` record: `name` judged `value` (a bool for pass/fail, else a number).

    Attached to the current run and step, or, with `run_id=` (and `step_id=`), to that run
    and step, which may have ended, in this process or another. Never raises.
    """
    try:
        number, passed, invalid = _value(value)
        if passed is not None and label is None:
            label = PASS_LABEL if passed else FAIL_LABEL
        record = beside_own_fields(fields, SCORE_FIELDS)
        _put(record, EVALUATION_NAME_PATH, safe_str(name))
        if number is not None:
            _put(record, SCORE_VALUE_PATH, number)
        if label is not None:
            _put(record, SCORE_LABEL_PATH, safe_str(label))
        if explanation is not None:
            _put(record, EXPLANATION_PATH, safe_str(explanation))
        record[SOURCE] = safe_str(source)
        if passed is not None:
            record[PASSED] = passed
        if invalid is not None:
            record[SCORE_INVALID] = invalid
        stamps: dict[str, str] = {}
        if run_id is not None:
            stamps[RUN_ID] = safe_str(run_id)
            if stamps[RUN_ID] != _own_run_id():
                record[SCORER_RUN_ID] = _own_run_id()
        if step_id is not None:
            stamps[STEP_ID] = safe_str(step_id)
        log = get_logger(_LOGGER_NAME).info
        if not stamps:
            log(SCORE_EVENT, kind=SCORE, **record)
            return
        token = scope_stamps.set(stamps)
        try:
            log(SCORE_EVENT, kind=SCORE, **record)
        finally:
            scope_stamps.reset(token)
    except Exception:  # logging never raises into the caller
        return
