"""The processors that turn an event dict into a record, shared by both routes.

Each is a structlog processor, `(logger, method_name, event_dict) -> event_dict`. structlog
events run them in the chain `configure()` builds; stdlib records run the very same list from
`formatters.JsonlFormatter`, so the two kinds of record cannot drift apart.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import orjson
import structlog.contextvars
from structlog import DropEvent
from structlog.contextvars import STRUCTLOG_KEY_PREFIX_LEN, merge_contextvars
from structlog.processors import StackInfoRenderer

from ._context import RunState, current_run, current_step, default_run_id, scope_stamps
from ._contract import (
    CORE_FIELDS,
    DEFAULT_KIND,
    ERROR,
    EVENT,
    EVENT_ID,
    KIND,
    LEVEL,
    LEVEL_ALIASES,
    LOGGER,
    PARENT_ID,
    PID,
    RUN_ID,
    SEQ,
    STEP_ID,
    STEP_STAMPS,
    TS,
    USER_PREFIX,
    EventDict,
)
from ._identities import add_identities
from ._platform import at_fork_in_child
from ._render import (
    DEFAULT_MAX_RECORD_BYTES,
    FLAT_TEXT,
    LINE_OPTIONS,
    describe_exception,
    json_default,
    record_budget,
    render_line,
    safe_str,
    within_budget,
)
from ._tracing import OTEL_TRACE_MODULE, add_trace_ids, modules

if TYPE_CHECKING:
    from .redaction import Redactor
    from .sampling import Sampler

Processor = Callable[[Any, str, EventDict], Any]


_pid = os.getpid()
ts_second: tuple[int, str] = (-(2**62), "")
"""`format_ts`'s cache: the start of the last second it formatted, in ns, and its text up to
the '.'."""
THREE_DIGITS = [f"{n:03d}" for n in range(1000)]


class SeqCounter:
    """`seq` of the records one destination receives from this process: 1, 2, 3, ...

    The destination (a log file, or whatever a formatter writes to) owns its counter, so a
    record formatted for somewhere else never leaves a gap, and a gap means a lost record.
    `event_id` is the counter's random prefix and the number: unique across counters and
    processes. A forked child starts every counter afresh (its `pid` differs).
    """

    __slots__ = ("__weakref__", "numbers", "prefix")

    def __init__(self) -> None:
        self.restart()
        _counters.add(self)

    def restart(self) -> None:
        self.numbers = itertools.count(1)  # next(numbers): a builtin call on the fast path
        self.prefix = os.urandom(8).hex() + "-"


_counters: weakref.WeakSet[SeqCounter] = weakref.WeakSet()
_file_counters: dict[str, SeqCounter] = {}
_counting = threading.Lock()
SHARED_SEQ = SeqCounter()
"""The counter of destinations that do not say which file they are (a plain formatter)."""


def file_seq(path: str, inherited: SeqCounter | None = None) -> SeqCounter:
    """The one counter of the log file at `path` in this process, kept across `configure()`s;
    `inherited` is the file's counter in a copy of this module that was reloaded since."""
    with _counting:
        counter = _file_counters.get(path)
        if counter is None:
            counter = _file_counters[path] = inherited or SeqCounter()
            _counters.add(counter)
        return counter


def _reset_after_fork() -> None:
    global _pid
    _pid = os.getpid()
    for counter in list(_counters):
        counter.restart()


at_fork_in_child(_reset_after_fork)


def format_ts(ns: int) -> str:
    """UTC ISO-8601 with microseconds, fixed width; the date-time part is cached per second.

    Arithmetic on `ns` itself is one subtraction: the offset into the second fits one digit
    of CPython's ints, where dividing the whole timestamp would take the long path."""
    global ts_second
    cached = ts_second
    offset = ns - cached[0]  # nanoseconds into the cached second
    if not 0 <= offset < 1_000_000_000:
        seconds = ns // 1_000_000_000
        date_time = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(seconds))
        cached = ts_second = (seconds * 1_000_000_000, date_time)
        offset = ns - cached[0]
    milli, micro = divmod(offset // 1000, 1000)
    return f"{cached[1]}{THREE_DIGITS[milli]}{THREE_DIGITS[micro]}+00:00"


STRUCTLOG_CONTEXT_VARS: dict[str, ContextVar[Any]] | None = getattr(
    structlog.contextvars, "_CONTEXT_VARS", None
)
"""structlog's registry of its context variables (one for each name ever bound), if it has one."""


def add_context(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """The context of the event: fields bound with `structlog.contextvars`, the active run's
    id (and step's id), and `kind` (default `log`); the event is counted in its run; while
    an OpenTelemetry span is current, its `trace_id` and `span_id` (`_tracing`).

    `run_id`, `step_id` and `parent_id` come from the context alone (a step's or a call's
    own record sets its ids in `scope_stamps`): a user value of those names, from any
    route, is kept as `user_<name>`.

    structlog's own `merge_contextvars` walks every context variable of the process; this
    reads structlog's registry of its own variables, which costs nothing while none is bound.
    """
    registry = STRUCTLOG_CONTEXT_VARS
    if registry is None:  # a structlog without the registry: its own processor
        merge_contextvars(logger, method_name, event_dict)
    elif registry:
        for name, var in tuple(registry.items()):
            value = var.get(Ellipsis)
            if value is not Ellipsis:
                event_dict.setdefault(name[STRUCTLOG_KEY_PREFIX_LEN:], value)
    kind = event_dict.setdefault(KIND, DEFAULT_KIND)
    if type(kind) is not str or not kind:
        kind = event_dict[KIND] = safe_str(kind) if kind else DEFAULT_KIND
    if RUN_ID in event_dict:  # a user's field: the run is the context's
        keep_user_value(event_dict, RUN_ID, event_dict.pop(RUN_ID))
    if STEP_ID in event_dict:  # so is the step
        keep_user_value(event_dict, STEP_ID, event_dict.pop(STEP_ID))
    if PARENT_ID in event_dict:
        keep_user_value(event_dict, PARENT_ID, event_dict.pop(PARENT_ID))
    run = current_run.get()
    if run is None:
        event_dict[RUN_ID] = default_run_id()
    else:
        event_dict[RUN_ID] = run.run_id
        run.counts[kind] += 1
    own = scope_stamps.get()
    if own is not None:  # a step's or call's own record, logged by the library
        event_dict.update(own)
    else:
        step = current_step.get()
        if step is not None:
            event_dict[STEP_ID] = step.step_id
    if OTEL_TRACE_MODULE in modules:
        add_trace_ids(event_dict, keep_user_value)
    return event_dict


def beside_own_fields(fields: Mapping[str, Any], own: frozenset[str]) -> dict[str, Any]:
    """`fields` for a record on which the library writes the `own` names: a field of such a
    name is kept as `user_<name>` (as `keep_user_value` does), never dropped or in their place."""
    kept = {k: v for k, v in fields.items() if k not in own}
    for name in [k for k in fields if k in own]:
        keep_user_value(kept, name, fields[name])
    return kept


def keep_user_value(event_dict: EventDict, name: str, value: Any) -> None:
    """Keep a user's value that a stamp displaces under `user_<name>` (`user_user_<name>` if
    that is taken too, and so on): nothing the caller logged is lost, nothing forges a stamp."""
    name = USER_PREFIX + name
    while name in event_dict:
        name = USER_PREFIX + name
    event_dict[name] = value


class Stamper:
    """Builds the record: the contract's fields first, then static fields, then the user's.

    The stamps (the core fields but `event` and `kind`) are the library's alone: a user field
    of the same name (keywords, `bind`, `fields=`, stdlib `extra=`) is kept as `user_<name>`,
    so a record can always be trusted for them; they come first, in `CORE_FIELDS` order.
    A static `step_id` or `parent_id` is the user's too (`add_context` sets the real ones).
    `seq` and the creation time come from the logger: a `Sink`, or the formatter's stand-in
    for a `LogRecord`. `exc_info` and `stack_info` become the `error` and `stack` fields.
    """

    def __init__(self, fields: Mapping[str, Any] | None = None) -> None:
        self.fields = dict(fields or {})
        for name in sorted(STEP_STAMPS & self.fields.keys()):  # never the library's here
            keep_user_value(self.fields, name, self.fields.pop(name))

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        pop = event_dict.pop
        try:  # a Sink or the formatter's stand-in; plain attributes cost half of getattr()
            counter: SeqCounter = logger.seq_counter
            created: int | None = logger.created_ns
            name = logger.name or "root"
        except AttributeError:  # a logger of a chain built by hand
            counter, created, name = _stamp_sources(logger)
        seq = next(counter.numbers)
        ts = format_ts(created or time.time_ns())
        run_id = pop(RUN_ID, None) or default_run_id()
        event = pop(EVENT, None)
        if type(event) is not str:
            event = _event_text(event)
        kind = pop(KIND, DEFAULT_KIND)
        level = LEVEL_ALIASES.get(method_name, method_name)
        event_id = counter.prefix + str(seq)
        fields = self.fields
        record: dict[str, Any] = {
            TS: ts,
            RUN_ID: run_id,
            EVENT: event,
            KIND: kind,
            LEVEL: level,
            LOGGER: name,
            EVENT_ID: event_id,
            SEQ: seq,
            PID: _pid,
            **fields,
            **event_dict,
        }
        expected = len(CORE_FIELDS) + len(fields) + len(event_dict)
        if len(record) != expected:  # a name was given twice: the stamps win, in their place
            for field in CORE_FIELDS:
                if field in event_dict or field in fields:
                    value = event_dict[field] if field in event_dict else fields[field]
                    keep_user_value(record, field, value)
            record.update(
                ts=ts, run_id=run_id, event=event, kind=kind, level=level, logger=name,
                event_id=event_id, seq=seq, pid=_pid,
            )  # fmt: skip
        if "exc_info" in record or "stack_info" in record:
            add_error_info(logger, method_name, record)
        return record


def _stamp_sources(logger: Any) -> tuple[SeqCounter, int | None, str]:
    """What the Stamper reads off a logger that is neither a `Sink` nor a formatter's."""
    counter = getattr(logger, "seq_counter", None)
    return (
        counter if isinstance(counter, SeqCounter) else SHARED_SEQ,
        getattr(logger, "created_ns", None),
        getattr(logger, "name", None) or "root",
    )


def _event_text(event: Any) -> str:
    return event if type(event) is str else ("" if event is None else safe_str(event))


def error_fields(exc: BaseException) -> dict[str, str]:
    """`{"type", "message", "traceback"}` of an exception, the `error` field of a record."""
    try:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except Exception:
        tb = ""
    return {"type": type(exc).__qualname__, "message": safe_str(exc), "traceback": tb}


def _exception_of(exc_info: Any) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exc_info[1] if isinstance(exc_info[1], BaseException) else None
    return sys.exc_info()[1] if exc_info else None


_render_stack = StackInfoRenderer(additional_ignores=["llmops_logging"])


def add_error_info(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """Replace `exc_info` (True, an exception or a sys.exc_info() tuple) by an `error` field,
    and `stack_info=True` by the caller's stack in `stack`, as the stdlib route has them."""
    if "exc_info" in event_dict:
        exc = _exception_of(event_dict.pop("exc_info"))
        if exc is not None:
            event_dict[ERROR] = error_fields(exc)
    if "stack_info" in event_dict:
        _render_stack(logger, method_name, event_dict)
    return event_dict


class LineRenderer:
    """Render the record as one strict JSON line in bytes, at most `max_record_bytes` long.

    `bounded`: a processor before it (the redactor) already kept the record within its
    `record_budget`; otherwise it checks that first, so that no value is written whole past it.
    It first writes the run's conversation and user ids (`add_identities`): after the
    redactor, and here rather than as a processor of their own, which cost about 3% of a
    record's instructions (callgrind) for a check that almost always finds nothing.
    """

    def __init__(
        self, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES, bounded: bool = False
    ) -> None:
        self.max_record_bytes = max_record_bytes
        self.bounded = bounded
        self.budget = record_budget(max_record_bytes)

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> bytes:
        if RunState.identities_seen:  # after redaction: a run's ids are identifiers
            run = current_run.get()
            if run is not None and (run.conversation_id is not None or run.user_id is not None):
                add_identities(event_dict, run)
        if (  # numbers and strings alone are checked in C; a walk only for containers
            not self.bounded
            and not FLAT_TEXT.issuperset(map(type, event_dict.values()))
            and not within_budget(event_dict, *self.budget)
        ):
            return render_line(event_dict, self.max_record_bytes)
        try:  # the common case without a call through render_line's own fast path
            line = orjson.dumps(event_dict, default=json_default, option=LINE_OPTIONS)
        except Exception:
            return render_line(event_dict, self.max_record_bytes)
        if 0 < self.max_record_bytes < len(line):
            return render_line(event_dict, self.max_record_bytes, bounded=True)
        return line


def build_processors(
    *,
    fields: Mapping[str, Any] | None = None,
    sampler: Sampler | None = None,
    redactor: Redactor | None = None,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> list[Processor]:
    """The chain in the contract's order: context, sampling, stamps (the Stamper adds the
    error fields too), redaction, render (with the run's conversation and user ids).

    Processors that are objects go in as their bound `__call__`: CPython calls a bound method
    of a Python function on its fast path, and an object's `__call__` through a slower one.
    """
    chain: list[Processor] = [add_context]
    if sampler is not None:
        chain.append(sampler.__call__)
    chain.append(Stamper(fields).__call__)
    if redactor is not None:
        chain.append(redactor.__call__)
    chain.append(LineRenderer(max_record_bytes, bounded=redactor is not None).__call__)
    return chain


def run_processors(
    processors: Sequence[Processor], logger: Any, method_name: str, event_dict: EventDict
) -> bytes:
    """Run a chain that ends in `LineRenderer`; `structlog.DropEvent` passes through.

    Iterates a snapshot: `configure()` may swap the chain's contents from another thread.
    """
    result: Any = event_dict
    for processor in tuple(processors):
        result = processor(logger, method_name, result)
    if isinstance(result, bytes):
        return result
    return render_line(result)


def failure_line(
    processors: Sequence[Processor], logger: Any, method_name: str, event: Any, exc: Exception
) -> bytes:
    """The record written in place of an event whose processing raised `exc`.

    The event name survives when the chain can process it alone (so redaction still
    applies); otherwise only the error's type is recorded, since its message is unredacted.
    """
    note = describe_exception(exc)
    name = event if isinstance(event, str) else safe_str(event)
    try:
        return run_processors(processors, logger, method_name, {EVENT: name, "logging_error": note})
    except (Exception, DropEvent):
        bare = add_context(logger, method_name, {EVENT: "[unloggable event]"})
        record = Stamper()(logger, method_name, bare)
        record["logging_error"] = type(exc).__qualname__
        return render_line(record)
