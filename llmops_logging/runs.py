"""run() and step(): scopes that bind an id for their duration and log their start and end.

Each scope is a context manager (sync and async) and a decorator (sync and async functions
and generators; each call is a new scope). The id lives in a context variable, so threads and
asyncio tasks keep their own run, and nested scopes restore the outer one on exit. A decorated
generator runs every resumption in a `contextvars.Context` of its own, so its scope never
leaks into whoever consumes it, however several are interleaved. Durations come from
`time.perf_counter`, a monotonic clock.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import time
import uuid
from collections.abc import Callable, Generator
from types import TracebackType
from typing import Any, Generic, TypeVar, overload

from ._config import get_logger
from ._context import RunState, StepState, current_run, current_step, nearest_open, scope_stamps
from ._contract import (
    COUNTS,
    DROPPED,
    DURATION_S,
    PARENT_ID,
    PARENT_RUN_ID,
    SCOPE_FIELDS,
    STEP_ID,
    USAGE,
)
from ._render import safe_str
from .processors import beside_own_fields

F = TypeVar("F", bound=Callable[..., Any])

_LOGGER_NAME = "llmops_logging"


class Scope:
    """What `with ll.run(...)` / `with ll.step(...)` yields."""

    def __init__(self, name: str, fields: dict[str, Any]) -> None:
        self.name = name
        self.fields = fields
        self.closing_fields: dict[str, Any] = {}

    def set(self, **fields: Any) -> None:
        """Add fields to the closing record (`run_ok` / `run_error`, `step_ok` / `step_error`)."""
        self.closing_fields.update(fields)


class Run(Scope):
    def __init__(self, name: str, fields: dict[str, Any], state: RunState) -> None:
        super().__init__(name, fields)
        self.state = state
        self.run_id = state.run_id


class Step(Scope):
    def __init__(self, name: str, fields: dict[str, Any], state: StepState) -> None:
        super().__init__(name, fields)
        self.step_id = state.step_id
        self.parent_id = state.parent_id


def step_record(
    method: Callable[..., Any], event: str, step_id: str, parent_id: str | None, **fields: Any
) -> None:
    """Log one record of a step of the library's own: a boundary, an `llm_call`, a
    `tool_call`. Its `step_id` and `parent_id` are set around this one log call (in
    `scope_stamps`), so no field the caller gave can name another step. A top-level step has
    no `parent_id` rather than `null`: schema inference (polars, DuckDB) would otherwise type
    the column Null from the first rows."""
    stamps = {STEP_ID: step_id} if parent_id is None else {STEP_ID: step_id, PARENT_ID: parent_id}
    token = scope_stamps.set(stamps)
    try:
        method(event, **fields)
    finally:
        scope_stamps.reset(token)


def _emit(method: str, kind: str, scope: Scope, extra: dict[str, Any]) -> None:
    """Log a boundary record. The scope's own fields (`kind`, `name`, `duration_s`, `usage`,
    a step's `step_id` and `parent_id`, ...) are the library's: a user field of such a name is
    kept as `user_<name>`."""
    fields = beside_own_fields({**scope.fields, **scope.closing_fields}, SCOPE_FIELDS)
    fields.update(extra)
    log = getattr(get_logger(_LOGGER_NAME), method)  # per record: what configure() set up now
    if isinstance(scope, Step):
        step_record(log, kind, scope.step_id, scope.parent_id, kind=kind, name=scope.name, **fields)
    else:
        log(kind, kind=kind, name=scope.name, **fields)


S = TypeVar("S", bound="Scope")


class _ScopeManager(Generic[S]):
    """Shared machinery of run and step: enter, exit, decorate."""

    prefix = ""

    def __init__(self, name: str, fields: dict[str, Any]) -> None:
        self.name = name
        self.fields = fields
        self._started = 0.0
        self._scope: S | None = None

    # subclasses: open the scope's context and return it; close it again
    def _open(self) -> S:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _closing_extra(self, scope: Scope) -> dict[str, Any]:
        return {}

    def _fresh(self) -> _ScopeManager[S]:
        """A new manager of the same name and options: each decorated call is a new scope."""
        return type(self)(self.name, dict(self.fields))

    def __enter__(self) -> S:
        if self._scope is not None:
            raise RuntimeError(f"{self.prefix}({self.name!r}) is already entered; use a new one")
        scope = self._scope = self._open()
        _emit("info", f"{self.prefix}_start", scope, self._start_extra(scope))
        self._started = time.perf_counter()
        return scope

    def _start_extra(self, scope: Scope) -> dict[str, Any]:
        return {}

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        duration = time.perf_counter() - self._started
        scope = self._scope
        assert scope is not None
        try:
            extra = {**self._closing_extra(scope), DURATION_S: duration}
            if exc is None:
                _emit("info", f"{self.prefix}_ok", scope, extra)
            else:
                _emit("error", f"{self.prefix}_error", scope, {**extra, "exc_info": exc})
        finally:
            self._close()
            self._scope = None

    async def __aenter__(self) -> S:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, func: F) -> F:
        """Decorate `func`: every call runs in a new scope of this name and fields.

        For a generator (sync or async) the scope spans its iteration, not just its creation.
        """
        make = self._fresh
        if inspect.isasyncgenfunction(func):

            async def scoped_async_gen(*args: Any, **kwargs: Any) -> Any:
                async with make():
                    async for item in func(*args, **kwargs):
                        yield item

            @functools.wraps(func)
            async def async_gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                # `scoped_async_gen`'s items, each of its steps run in a context of its own
                ctx = contextvars.copy_context()
                agen = scoped_async_gen(*args, **kwargs)
                sent: Any = None
                thrown: BaseException | None = None
                while True:
                    step = agen.asend(sent) if thrown is None else agen.athrow(thrown)
                    try:
                        item = await _InContext(ctx, step)
                    except StopAsyncIteration:
                        return
                    thrown = sent = None
                    try:
                        sent = yield item
                    except GeneratorExit:
                        await _InContext(ctx, agen.aclose())
                        raise
                    except BaseException as exc:
                        thrown = exc

            return async_gen_wrapper  # type: ignore[return-value]
        if inspect.isgeneratorfunction(func):

            def scoped_gen(*args: Any, **kwargs: Any) -> Any:
                with make():
                    return (yield from func(*args, **kwargs))

            @functools.wraps(func)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                ctx = contextvars.copy_context()
                return (yield from _in_context(ctx, scoped_gen(*args, **kwargs)))

            return gen_wrapper  # type: ignore[return-value]
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with make():
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with make():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def _in_context(ctx: contextvars.Context, it: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
    """`yield from it`, with every resumption of `it` (send, throw, close) run inside `ctx`.

    Also drives a coroutine's steps: awaiting `_InContext` runs an awaitable in `ctx`.
    """
    sent: Any = None
    thrown: BaseException | None = None
    while True:
        try:
            item = ctx.run(it.send, sent) if thrown is None else ctx.run(it.throw, thrown)
        except StopIteration as stop:
            return stop.value
        thrown = sent = None
        try:
            sent = yield item
        except GeneratorExit:
            ctx.run(it.close)
            raise
        except BaseException as exc:
            thrown = exc


class _InContext:
    """An awaitable that runs another one step by step inside `ctx`."""

    __slots__ = ("awaitable", "ctx")

    def __init__(self, ctx: contextvars.Context, awaitable: Any) -> None:
        self.ctx = ctx
        self.awaitable = awaitable

    def __await__(self) -> Generator[Any, Any, Any]:
        return (yield from _in_context(self.ctx, self.awaitable.__await__()))


class RunManager(_ScopeManager[Run]):
    """`ll.run(...)`: a context manager (sync and async) and a decorator; yields a `Run`."""

    prefix = "run"

    def __init__(
        self,
        name: str,
        fields: dict[str, Any],
        conversation_id: str | None = None,
        user_id: str | None = None,
    ) -> None:
        super().__init__(name, fields)
        self.conversation_id = conversation_id
        self.user_id = user_id

    def _fresh(self) -> RunManager:
        return RunManager(self.name, dict(self.fields), self.conversation_id, self.user_id)

    def _open(self) -> Run:
        parent = current_run.get()
        state = RunState(
            run_id=str(uuid.uuid4()),
            name=self.name,
            parent=parent,
            parent_step=nearest_open(current_step.get()) if parent is not None else None,
            sampled=parent.sampled if parent is not None else True,
            # a nested run is part of the same conversation unless it names its own
            conversation_id=_identifier(self.conversation_id, parent, "conversation_id"),
            user_id=_identifier(self.user_id, parent, "user_id"),
        )
        self._state = state
        self._step_before = current_step.get()
        current_run.set(state)
        current_step.set(None)  # an outer run's steps are not this run's
        return Run(self.name, self.fields, state)

    def _start_extra(self, scope: Scope) -> dict[str, Any]:
        assert isinstance(scope, Run)
        parent = scope.state.parent_run_id
        return {} if parent is None else {PARENT_RUN_ID: parent}

    def _closing_extra(self, scope: Scope) -> dict[str, Any]:
        assert isinstance(scope, Run)
        extra: dict[str, Any] = {COUNTS: dict(scope.state.counts)}
        if scope.state.dropped:
            extra[DROPPED] = dict(scope.state.dropped)
        if scope.state.usage is not None:
            extra[USAGE] = scope.state.usage.fields()
        return extra

    def _close(self) -> None:
        self._state.closed = True
        current = current_run.get()
        current_run.set(nearest_open(current))
        if current is self._state:  # else another run, entered later, is still going on
            current_step.set(nearest_open(self._step_before))


class StepManager(_ScopeManager[Step]):
    """`ll.step(...)`: a context manager (sync and async) and a decorator; yields a `Step`."""

    prefix = "step"

    def _open(self) -> Step:
        state = StepState(step_id=uuid.uuid4().hex, name=self.name, parent=current_step.get())
        self._state = state
        current_step.set(state)
        return Step(self.name, self.fields, state)

    def _closing_extra(self, scope: Scope) -> dict[str, Any]:
        if self._state.usage is not None:
            return {USAGE: self._state.usage.fields()}
        return {}

    def _close(self) -> None:
        self._state.closed = True
        current_step.set(nearest_open(current_step.get()))


def _identifier(given: Any, parent: RunState | None, attribute: str) -> str | None:
    """An id as text (never raising), else the enclosing run's."""
    if given is not None:
        return given if isinstance(given, str) else safe_str(given)
    return getattr(parent, attribute) if parent is not None else None


@overload
def run(
    name: str, /, *, conversation_id: Any = None, user_id: Any = None, **fields: Any
) -> RunManager: ...
@overload
def run(name: F, /) -> F: ...
def run(name: Any, /, *, conversation_id: Any = None, user_id: Any = None, **fields: Any) -> Any:
    """A run: a new `run_id` for its scope, `run_start`, then `run_ok` or `run_error`.

    `conversation_id` and `user_id` (a chat session of many runs, its user) are written as
    `gen_ai.conversation.id` and `user.id` on every record of the run and of the runs inside
    it; identifiers, so never redacted. `@ll.run` bare decorates a function under its own name.
    """
    if callable(name) and not isinstance(name, str):
        return RunManager(name.__qualname__, fields)(name)
    return RunManager(str(name), fields, conversation_id, user_id)


@overload
def step(name: str, /, **fields: Any) -> StepManager: ...
@overload
def step(name: F, /) -> F: ...
def step(name: Any, /, **fields: Any) -> Any:
    """A step inside a run: `step_start`, then `step_ok` or `step_error`, with `step_id`."""
    if callable(name) and not isinstance(name, str):
        return StepManager(name.__qualname__, fields)(name)
    return StepManager(str(name), fields)
