"""Tool calls as records: one `tool_call` record per execution of a tool, written when it ends.

A tool call is a step of its own, like an `llm_call`: its own `step_id`, the enclosing step as
`parent_id`. Unlike a model call it becomes the current step while it runs, so that what the
tool does (a model it asks, an agent it runs, its own log lines) hangs below it in the tree.
No `step_start` is written: the one record carries everything, `gen_ai.tool.{name, type,
description, call.id}` and, unless `configure(capture_content=False)`, the arguments and the
result (`gen_ai.tool.call.arguments`, `gen_ai.tool.call.result`), which pass the redactor like
any value. The run counts it in its `counts`; it adds nothing to `usage` (no tokens).

`@ll.tool` binds a call's arguments to the function's parameter names (`inspect.signature`),
defaults included (a method's `self` or `cls` left out), and takes the docstring's first line
as the description.
"""

from __future__ import annotations

import functools
import inspect
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar, overload

from ._config import get_logger
from ._context import StepState, current_step, nearest_open
from ._contract import (
    DURATION_S,
    EXECUTE_TOOL,
    GEN_AI,
    SCOPE_FIELDS,
    TOOL_CALL,
    TOOL_TYPE_FUNCTION,
)
from ._llm_settings import llm_settings
from ._render import safe_str
from .processors import beside_own_fields
from .runs import step_record

F = TypeVar("F", bound=Callable[..., Any])

_LOGGER_NAME = "llmops_logging.tools"
_OWN = SCOPE_FIELDS | {"exc_info"}
"""A field given under one of these names is kept as `user_<name>`, as for runs and steps."""
_UNSET: Any = object()


class ToolCall:
    """One execution of a tool: a context manager (sync and async) that writes the
    `tool_call` record when its block ends; set `result` (and fields with `set`) on it."""

    def __init__(
        self,
        name: str,
        *,
        arguments: Any = None,
        call_id: str | None = None,
        type: str = TOOL_TYPE_FUNCTION,
        description: str | None = None,
        **fields: Any,
    ) -> None:
        self.name = _text(name)
        self.arguments = arguments
        self.call_id = None if call_id is None else _text(call_id)
        self.type = _text(type)
        self.description = None if description is None else _text(description)
        self.result: Any = _UNSET
        self.fields = fields
        self.step_id = uuid.uuid4().hex
        self.parent_id: str | None = None
        self._state: StepState | None = None
        self._started = 0.0

    def set(self, **fields: Any) -> None:
        """Add top-level fields to the record."""
        self.fields.update(fields)

    def __enter__(self) -> ToolCall:
        if self._state is not None:
            raise RuntimeError(f"tool_call({self.name!r}) was entered already; use a new one")
        parent = nearest_open(current_step.get())
        self.parent_id = parent.step_id if parent is not None else None
        self._state = StepState(step_id=self.step_id, name=self.name, parent=parent)
        current_step.set(self._state)
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        duration = time.perf_counter() - self._started
        state = self._state
        assert state is not None
        state.closed = True
        current_step.set(nearest_open(current_step.get()))
        self._write(duration, exc)

    async def __aenter__(self) -> ToolCall:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def _write(self, duration: float, error: BaseException | None) -> None:
        record = beside_own_fields(self.fields, _OWN)
        record[DURATION_S] = duration
        record[GEN_AI] = {"operation": {"name": EXECUTE_TOOL}, "tool": self._tool()}
        log = get_logger(_LOGGER_NAME)  # per record: whatever configure() set up now
        event = f"{EXECUTE_TOOL} {self.name}"
        if error is None:
            step_record(log.info, event, self.step_id, self.parent_id, kind=TOOL_CALL, **record)
        else:
            step_record(
                log.error, event, self.step_id, self.parent_id, kind=TOOL_CALL, exc_info=error,
                **record,
            )  # fmt: skip

    def _tool(self) -> dict[str, Any]:
        """`gen_ai.tool`: joined with dots, its paths are the OpenTelemetry attribute names."""
        tool: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.description is not None:
            tool["description"] = self.description
        call: dict[str, Any] = {}
        if self.call_id is not None:
            call["id"] = self.call_id
        if llm_settings().capture_content:
            if self.arguments is not None:
                call["arguments"] = self.arguments
            if self.result is not _UNSET:
                call["result"] = self.result
        if call:
            tool["call"] = call
        return tool


def _text(value: Any) -> str:
    """A name or id as text; a hostile `__str__` gives a readable stand-in, never an error."""
    return value if isinstance(value, str) else safe_str(value)


def tool_call(
    name: str,
    *,
    arguments: Any = None,
    call_id: str | None = None,
    type: str = TOOL_TYPE_FUNCTION,
    description: str | None = None,
    **fields: Any,
) -> ToolCall:
    """`with ll.tool_call("search", arguments={"q": q}) as t: t.result = ...` (or `async
    with`): one `tool_call` record when the block ends, `level` error and `error` when it
    raised (the exception goes on)."""
    return ToolCall(
        name, arguments=arguments, call_id=call_id, type=type, description=description, **fields
    )


def _bind(signature: inspect.Signature | None, args: Any, kwargs: Any) -> Any:
    """The call's arguments by parameter name, defaults included; None if they do not bind
    (the call itself then raises, and the record says so)."""
    if signature is None:
        return None
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    first = next(iter(signature.parameters), None)
    if first in ("self", "cls"):  # a method's object is not an argument of the tool
        arguments.pop(first, None)
    return arguments


def _description(func: Callable[..., Any]) -> str | None:
    doc = inspect.getdoc(func)
    if not doc:
        return None
    return doc.strip().splitlines()[0].strip() or None


def _decorate(func: F, name: str | None, description: str | None) -> F:
    tool_name = name if name is not None else getattr(func, "__name__", None) or repr(func)
    about = description if description is not None else _description(func)
    try:
        signature: inspect.Signature | None = inspect.signature(func)
    except (TypeError, ValueError):  # a builtin without one
        signature = None

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            arguments = _bind(signature, args, kwargs)
            async with ToolCall(tool_name, arguments=arguments, description=about) as call:
                call.result = await func(*args, **kwargs)
                return call.result

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        arguments = _bind(signature, args, kwargs)
        with ToolCall(tool_name, arguments=arguments, description=about) as call:
            call.result = func(*args, **kwargs)
            return call.result

    return wrapper  # type: ignore[return-value]


@overload
def tool(func: F, /) -> F: ...
@overload
def tool(*, name: str | None = None, description: str | None = None) -> Callable[[F], F]: ...
def tool(func: Any = None, /, *, name: str | None = None, description: str | None = None) -> Any:
    """Record every call of a function (sync or async) as a `tool_call`: `@ll.tool`, or
    `@ll.tool(name=..., description=...)`. The name defaults to the function's, the
    description to its docstring's first line."""
    if func is not None:
        return _decorate(func, name, description)
    return lambda f: _decorate(f, name, description)
