"""The `llm_call` scope: one `llm_call` record per call to a model, and its share of the totals.

A call is a step of its own (its `step_id`, the enclosing step as `parent_id`) but does not
become the current step: the SDK's own log lines inside it keep the caller's step. The record
is written in the context the call started in (its run, step, bound fields), whichever thread
ends it: a stream is often finished by the consumer, by `close()` elsewhere, or by the garbage
collector. It is written once, however many of those happen. Building it never raises into
the caller: a failure inside is counted in `internal_errors` (the first of each kind is logged
as an `llm_instrumentation_error` warning) and the record is written without the part that
failed, or not at all.

A call abandoned to the garbage collector is finished by a small worker thread, not inside
the collector: the collector may run while this very thread holds a lock of the write path.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import math
import os
import queue
import sys
import threading
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any

from .. import _price_table
from .._config import get_logger
from .._context import (
    RunState,
    StepState,
    add_usage,
    current_run,
    current_step,
    enclosing_scopes,
    nearest_open,
)
from .._contract import (
    ATTEMPTS,
    COST_NOTE,
    COST_SOURCE,
    COST_USD,
    DURATION_S,
    ERROR,
    FLOAT_REQUEST_PARAMS,
    GEN_AI,
    LLM_CALL,
    SCOPE_FIELDS,
    STREAM_INCOMPLETE,
    TTFT_S,
    USAGE_REJECTED,
    cost_ok,
    token_count_ok,
)
from .._llm_settings import llm_settings
from .._platform import at_fork_in_child
from ..processors import beside_own_fields, error_fields
from ..runs import step_record
from . import _once
from ._cost import Cost, price_call

_LOGGER_NAME = "llmops_logging.llm"
_USAGE_PATHS = (
    ("input_tokens", "gen_ai.usage.input_tokens"),
    ("output_tokens", "gen_ai.usage.output_tokens"),
    ("cache_read_input_tokens", "gen_ai.usage.cache_read.input_tokens"),
    ("cache_creation_input_tokens", "gen_ai.usage.cache_creation.input_tokens"),
    ("reasoning_output_tokens", "gen_ai.usage.reasoning.output_tokens"),
)
"""Each token count of a call and the path it is written under."""

internal_errors = 0
"""How many times building a record failed inside the library (the SDK call went on)."""
_reported: set[str] = set()


def note_internal_error() -> None:
    """Count a failure of the instrumentation (call it in an `except` block); the first of
    each exception type is also logged as a warning, so a bug is seen but never floods."""
    global internal_errors
    internal_errors += 1
    exc = sys.exc_info()[1]
    name = type(exc).__qualname__ if exc is not None else "unknown"
    if name in _reported:
        return
    _reported.add(name)
    with contextlib.suppress(Exception):
        get_logger(_LOGGER_NAME).warning(
            "llm instrumentation failed; the call went on",
            kind="llm_instrumentation_error",
            exc_info=exc,
            internal_errors=internal_errors,
        )


class LlmCall:
    """One call to a model: set what is known on it; `finish()` (or the `with` block's end)
    writes the `llm_call` record.

    `input_tokens` counts every input token, cached ones included (as OpenTelemetry's
    `gen_ai.usage.input_tokens`); `cache_read_input_tokens` and `cache_creation_input_tokens`
    are the parts of it read from and written to a prompt cache. `request` holds the
    `gen_ai.request.*` parameters besides the model (`temperature`, `max_tokens`, ...).
    The content (`input_messages`, `output_messages`, `system_instructions`) is left out of
    the record when `configure(capture_content=False)`; `capture_content` tells an
    instrumentation whether collecting it is worth the time. `on_finish(call)` runs first
    when the call finishes: a stream's observer assembles what it saw there. `fallback_cost`
    is a price another party computed (LiteLLM's), written only when neither the user's prices
    nor the price table know the model: those price every instrumentation's calls alike.

    Token counts are written as set; one that no count can be (`_contract.token_count_ok`)
    is listed in `usage_rejected`, prices nothing and is summed nowhere. Fields given here
    or with `set()` under a name of the record's own are kept as `user_<name>`.
    """

    def __init__(
        self, model: str, *, provider: str, operation: str = "chat", **fields: Any
    ) -> None:
        self.model = model
        self.provider = provider
        self.operation = operation
        self.request: dict[str, Any] = {}
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.finish_reasons: list[str] | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cache_read_input_tokens: int | None = None
        self.cache_creation_input_tokens: int | None = None
        self.reasoning_output_tokens: int | None = None
        self.input_messages: Any = None
        self.output_messages: Any = None
        self.system_instructions: Any = None
        self.attempts: int | None = None
        self.stream_incomplete = False
        self.fields: dict[str, Any] = dict(fields)
        self.capture_content = True
        self.fidelity = _once.FRAMEWORK
        self.superseded = False  # another instrumentation records this call (`_once`)
        self.on_finish: Callable[[LlmCall], object] | None = None
        self.fallback_cost: Cost | None = None
        self._duration: float | None = None
        self.step_id = uuid.uuid4().hex
        self.parent_id: str | None = None
        self._scopes: list[RunState | StepState] = []
        self._context: contextvars.Context | None = None
        self._started = 0.0
        self._pid = 0  # the process that started the call: only it may write the record
        self._ttft: float | None = None
        self._done = False
        self._done_lock = threading.Lock()

    # -- what the caller sets -------------------------------------------------------------

    def set(self, **fields: Any) -> None:
        """Add top-level fields to the record."""
        self.fields.update(fields)

    def set_request(self, **params: Any) -> None:
        """`gen_ai.request.*` parameters (`temperature`, `max_tokens`, `top_p`, `seed`, ...);
        None values are skipped."""
        self.request.update((k, v) for k, v in params.items() if v is not None)

    def set_usage(
        self,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        *,
        cache_read_input_tokens: int | None = None,
        cache_creation_input_tokens: int | None = None,
        reasoning_output_tokens: int | None = None,
    ) -> None:
        """The token counts the provider reported; None leaves a count as it was."""
        if input_tokens is not None:
            self.input_tokens = input_tokens
        if output_tokens is not None:
            self.output_tokens = output_tokens
        if cache_read_input_tokens is not None:
            self.cache_read_input_tokens = cache_read_input_tokens
        if cache_creation_input_tokens is not None:
            self.cache_creation_input_tokens = cache_creation_input_tokens
        if reasoning_output_tokens is not None:
            self.reasoning_output_tokens = reasoning_output_tokens

    def timed(self, duration_s: float, ttft_s: float | None = None) -> None:
        """The call's times as measured by a framework that reports the call after it ended
        (a callback on a worker thread): they replace the clock's reading at `finish()`."""
        self._duration = duration_s
        if ttft_s is not None:
            self._ttft = ttft_s

    def first_chunk(self) -> None:
        """Mark the first content of a stream: the record gets `ttft_s` (the first mark)."""
        if self._ttft is None and self._started:
            self._ttft = time.perf_counter() - self._started

    # -- start and finish -----------------------------------------------------------------

    def start(self) -> LlmCall:
        """Start the clock and take the caller's context (run, step, bound fields)."""
        if self._started:
            raise RuntimeError(f"llm_call({self.model!r}) is already started; use a new one")
        self.capture_content = llm_settings().capture_content
        _price_table.preload()  # so that the table is there by the time the call ends
        step = nearest_open(current_step.get())
        self.parent_id = step.step_id if step is not None else None
        self._scopes = enclosing_scopes(current_run.get(), step)
        self._context = contextvars.copy_context()
        self._pid = os.getpid()
        self._started = time.perf_counter()
        return self

    @property
    def finished(self) -> bool:
        return self._done

    def supersede(self) -> bool:
        """Leave the record to another instrumentation's view of this call (`_once`): False,
        and nothing changed, when this call has finished already (its record is written)."""
        with self._done_lock:
            if self._done:
                return False
            self.superseded = True
            return True

    def finish(self, error: BaseException | None = None) -> None:
        """Write the record (level `error` with `error` when `error` is given); only once, and
        only in the process that started the call: a forked child that inherited a stream
        (and closes, collects or abandons it at exit) must not write its parent's record."""
        with self._done_lock:
            if self._done or not self._started or self._pid != os.getpid():
                return
            self._done = True
        if self.superseded:
            return
        duration = time.perf_counter() - self._started if self._duration is None else self._duration
        if self.on_finish is not None:
            try:
                self.on_finish(self)
            except Exception:
                note_internal_error()
        if self._context is not None:
            try:
                self._context.run(self._write, duration, error)
                return
            except RuntimeError:  # entered already (a finish inside a finish): write here
                pass
        self._write(duration, error)

    def _write(self, duration: float, error: BaseException | None) -> None:
        """Count the call in its scopes and log its record; never raises."""
        try:
            self._count_and_log(duration, error)
        except Exception:
            note_internal_error()

    def _count_and_log(self, duration: float, error: BaseException | None) -> None:
        settings = llm_settings()
        counts = {attr: getattr(self, attr) for attr, _ in _USAGE_PATHS}
        rejected = [
            path
            for attr, path in _USAGE_PATHS
            if counts[attr] is not None and not token_count_ok(counts[attr])
        ]
        cost = None
        cost_note = None
        try:
            priced = _USAGE_PATHS[:4]  # a rejected one of these leaves the cost unknown
            if not any(path in rejected for _, path in priced):
                cost = price_call(
                    (self.response_model, self.model),
                    self.provider,
                    settings.prices,
                    *(_count(counts[attr]) for attr, _ in priced),
                )
        except _price_table.StillLoading as exc:  # no wait at the caller's expense
            cost_note = str(exc)
        except Exception:
            note_internal_error()
        if cost is None and self.fallback_cost is not None:  # no table knows the model
            cost, cost_note = self.fallback_cost, None
        if cost is not None and not cost_ok(cost.usd):
            rejected.append(COST_USD)
        add_usage(
            self._scopes,
            _count(self.input_tokens),
            _count(self.output_tokens),
            cost.usd if cost is not None and cost_ok(cost.usd) else None,
        )
        record = beside_own_fields(
            {k: v for k, v in self.fields.items() if v is not None}, SCOPE_FIELDS
        )
        record[DURATION_S] = duration
        if self._ttft is not None:
            record[TTFT_S] = self._ttft
        record[GEN_AI] = self._gen_ai(settings.capture_content and self.capture_content)
        if cost is not None and math.isfinite(cost.usd):  # else no value: left out
            record[COST_USD] = cost.usd
            record[COST_SOURCE] = cost.source
        elif cost_note is not None:
            record[COST_NOTE] = cost_note
        if rejected:
            record[USAGE_REJECTED] = rejected
        if self.attempts is not None:
            record[ATTEMPTS] = self.attempts
        if self.stream_incomplete:
            record[STREAM_INCOMPLETE] = True
        if error is not None:
            record[ERROR] = _error_field(error)
        log = get_logger(_LOGGER_NAME)  # per record: configure()'s chain, not structlog's
        method = log.info if error is None else log.error
        event = f"{self.operation} {self.model}"
        step_record(method, event, self.step_id, self.parent_id, kind=LLM_CALL, **record)

    def _gen_ai(self, with_content: bool) -> dict[str, Any]:
        """The nested `gen_ai` object: joined with dots, its paths are the OpenTelemetry names."""
        gen_ai: dict[str, Any] = {
            "provider": {"name": self.provider},
            "operation": {"name": self.operation},
            "request": {"model": self.model, **_typed_request(self.request)},
        }
        reasons = [r for r in self.finish_reasons or () if r is not None] or None
        response = _present(id=self.response_id, model=self.response_model, finish_reasons=reasons)
        if response:
            gen_ai["response"] = response
        usage = _present(input_tokens=self.input_tokens, output_tokens=self.output_tokens)
        if self.cache_read_input_tokens is not None:
            usage["cache_read"] = {"input_tokens": self.cache_read_input_tokens}
        if self.cache_creation_input_tokens is not None:
            usage["cache_creation"] = {"input_tokens": self.cache_creation_input_tokens}
        if self.reasoning_output_tokens is not None:
            usage["reasoning"] = {"output_tokens": self.reasoning_output_tokens}
        if usage:
            gen_ai["usage"] = usage
        if with_content:
            if self.input_messages is not None:
                gen_ai["input"] = {"messages": _without_none(self.input_messages)}
            if self.output_messages is not None:
                gen_ai["output"] = {"messages": _without_none(self.output_messages)}
            if self.system_instructions is not None:
                gen_ai["system_instructions"] = _without_none(self.system_instructions)
        return gen_ai

    # -- the context manager --------------------------------------------------------------

    def __enter__(self) -> LlmCall:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish(exc)

    async def __aenter__(self) -> LlmCall:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish(exc)


def _count(value: Any) -> int | None:
    """A token count to sum and price, or None: one that is no count is summed nowhere."""
    return int(value) if token_count_ok(value) else None


def _typed_request(request: dict[str, Any]) -> dict[str, Any]:
    """The request parameters with the conventions' doubles as floats: `temperature=0` is
    written `0.0`, whichever instrumentation filled the parameters in."""
    typed = {}
    for name, value in request.items():
        if name in FLOAT_REQUEST_PARAMS and isinstance(value, int) and not isinstance(value, bool):
            with contextlib.suppress(OverflowError):  # beyond a float: kept as given
                value = float(value)
        typed[name] = value
    return typed


def _present(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _without_none(value: Any) -> Any:
    """Content with its None-valued keys left out, at any depth (a stream abandoned before its
    end has no `finish_reason`, a part may lack an `id`): `null` would type a column Null."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_without_none(v) for v in value]
    return value


def _error_field(error: BaseException) -> dict[str, Any]:
    """`{"type", "message", "traceback"}`, plus `status_code` for an HTTP error."""
    field: dict[str, Any] = error_fields(error)
    status = getattr(error, "status_code", None)
    if status is None:  # google-genai's APIError names it `code`
        code = getattr(error, "code", None)
        status = code if isinstance(code, int) and 100 <= code <= 599 else None
    if isinstance(status, int) and not isinstance(status, bool):
        field["status_code"] = status
    return field


def llm_call(model: str, *, provider: str, operation: str = "chat", **fields: Any) -> LlmCall:
    """A call to a model through any client: `with ll.llm_call("m", provider="local") as call:`
    (or `async with`) writes one `llm_call` record when the block ends; set usage, output and
    fields on `call`. For a stream whose end comes later: `call.start()` ... `call.finish()`.
    """
    return LlmCall(model, provider=provider, operation=operation, **fields)


# -- calls abandoned to the garbage collector ---------------------------------------------

_abandoned: queue.SimpleQueue[LlmCall] = queue.SimpleQueue()  # put() is safe in a finalizer
_worker_lock = threading.Lock()
_worker: threading.Thread | None = None


def abandon(call: LlmCall, *, incomplete: bool = True) -> None:
    """Finish `call` soon, off the current thread: for `weakref.finalize` callbacks.
    `incomplete`: a stream dropped before its end (`stream_incomplete`)."""
    if not call.finished and call._pid == os.getpid():
        if incomplete:
            call.stream_incomplete = True
        _abandoned.put(call)


def finish_abandoned() -> None:
    """Finish every call abandoned so far, in this thread (also run at exit)."""
    while True:
        try:
            call = _abandoned.get_nowait()
        except queue.Empty:
            return
        call.finish()


def _work() -> None:
    while True:
        call = _abandoned.get()
        call.finish()


def ensure_worker() -> None:
    """Start the thread that finishes abandoned calls; called before a finalizer can fire."""
    global _worker
    if _worker is not None:
        return
    with _worker_lock:
        if _worker is None:
            work = contextvars.Context().run  # the library's own thread belongs to no run
            thread = threading.Thread(
                target=work, args=(_work,), name="llmops-llm-finisher", daemon=True
            )
            thread.start()
            _worker = thread


def _after_fork() -> None:
    """In a forked child: no worker yet, and the parent's pending calls are the parent's."""
    global _worker, _abandoned
    _worker = None
    _abandoned = queue.SimpleQueue()


at_fork_in_child(_after_fork)
atexit.register(finish_abandoned)
