"""Wrap an SDK method on its class (every client) or on one client's resource object.

A wrapper is marked, so instrumenting twice wraps once; a client whose class is already
wrapped is left alone, and a class wrapped after a client keeps that client's wrapper
calling the original method, so no call is ever recorded twice. The wrapper itself only
delegates: what it records is decided by `Hooks`, whose failures are swallowed and counted.

Attempts: the SDKs retry inside `create`, so the wrapper counts the requests its call sends
with a request hook on the SDK client's HTTP client (added once per HTTP client, counting
into a context variable that only a wrapped call sets). Where no hook could be added, the
SDKs' own `x-stainless-retry-count` header on the last request of an error or a stream says it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Protocol

from . import _once, _raw
from ._call import LlmCall, note_internal_error

WRAPPED = "__llmops_logging_wrapped__"


class Hooks(Protocol):
    """What an SDK module provides per method: start a call, and end it with the result."""

    def begin(self, resource: Any, kwargs: dict[str, Any]) -> LlmCall | None: ...

    def end(self, call: LlmCall, result: Any) -> Any:
        """Finish `call` from `result`, or watch it as a stream; return what the caller gets
        (`result` itself, or a watched stream that replaces it)."""


_requests: ContextVar[list[int] | None] = ContextVar("llmops_llm_requests", default=None)


def _count_request(request: Any) -> None:
    box = _requests.get()
    if box is not None:
        box[0] += 1


async def _count_request_async(request: Any) -> None:
    _count_request(request)


def count_requests(resource: Any) -> None:
    """Give the HTTP client behind an SDK resource our request hook, once."""
    http = getattr(getattr(resource, "_client", None), "_client", None)
    event_hooks = getattr(http, "event_hooks", None)
    if not isinstance(event_hooks, dict):
        return
    hooks = event_hooks.get("request")
    if not isinstance(hooks, list) or _count_request in hooks or _count_request_async in hooks:
        return
    is_async = inspect.iscoroutinefunction(getattr(http, "send", None))
    hooks.append(_count_request_async if is_async else _count_request)


def _begin(hooks: Hooks, resource: Any, kwargs: dict[str, Any]) -> LlmCall | None:
    try:
        call = hooks.begin(resource, kwargs)
        count_requests(resource)
        return call
    except Exception:
        note_internal_error()
        return None


class Attempts:
    """Counts the requests of one call while it is being sent: `with Attempts(call):`.

    Meanwhile the call encloses what runs inside the SDK (`_once`): a framework's view of
    the same call, opened in there or around it, writes no record of its own."""

    def __init__(self, call: LlmCall) -> None:
        self.call = call
        self.box = [0]

    def __enter__(self) -> Attempts:
        self.token = _requests.set(self.box)
        self.call.fidelity = _once.SDK
        _once.enclose(self.call)
        return self

    def __exit__(self, *exc: object) -> None:
        _once.release(self.call)
        _requests.reset(self.token)
        if self.box[0]:
            self.call.attempts = self.box[0]


def _parsed(result: Any) -> Any:
    """What a `with_raw_response` call returns (a `LegacyAPIResponse`) holds the SDK's typed
    result: parse it, as the caller's own `parse()` will (the SDK caches it per type, so the
    caller gets the very object read here, a stream included)."""
    if type(result).__name__ == "LegacyAPIResponse" and callable(getattr(result, "parse", None)):
        return result.parse()
    return result


def record_failure(call: LlmCall, exc: BaseException) -> None:
    try:
        if call.attempts is None:
            call.attempts = attempts_of(exc)
    except Exception:
        note_internal_error()
    call.finish(exc)


class Sending:
    """The body of every wrapper, sync or async: the call begins (`hooks.begin`), its
    requests are counted while the SDK sends them, a failure is recorded, and `end(result)`
    hands the result to `hooks.end`, which finishes the call or watches the stream::

        with Sending(hooks, resource, kwargs) as sending:
            result = original(...)      # or: await original(...)
        return sending.end(result)

    Where the call could not begin, the SDK runs as if nothing were there."""

    def __init__(self, hooks: Hooks, resource: Any, kwargs: dict[str, Any]) -> None:
        self.hooks = hooks
        self.call = _begin(hooks, resource, kwargs)
        self.attempts: Attempts | None = None

    def __enter__(self) -> Sending:
        if self.call is not None:
            self.attempts = Attempts(self.call).__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if self.attempts is None or self.call is None:
            return
        self.attempts.__exit__()
        if exc is not None:
            record_failure(self.call, exc)

    def end(self, result: Any) -> Any:
        """What the caller gets back: `result`, or the watched stream that replaces it."""
        call = self.call
        if call is None:
            return result
        try:
            parsed = _parsed(result)
        except Exception:  # the caller's own parse() will say what is wrong with the body
            call.finish()
            return result
        if _raw.unread(parsed):  # ends when the caller parses, closes or drops it
            try:
                _raw.watch_raw(call, parsed, self._hand, record_failure)
            except Exception:
                note_internal_error()
                call.finish()
            return result
        returned = self._hand(call, parsed)
        return result if returned is parsed else returned

    def _hand(self, call: LlmCall, parsed: Any) -> Any:
        """Hand the typed result to `hooks.end`: what the caller gets (`parsed`, or the
        watched stream that replaces it)."""
        try:
            return self.hooks.end(call, parsed)
        except Exception:
            note_internal_error()
            call.finish()  # what was known before the failure
            return parsed


def attempts_of(source: Any) -> int | None:
    """Requests the SDK sent for one call, from its last request's retry-count header.

    Both SDKs number their retries in `x-stainless-retry-count`; an error or a stream carries
    the last request (`.response.request`, or `.request` for a connection error).
    """
    request = getattr(source, "request", None)
    response = getattr(source, "response", None)
    if response is not None:
        request = getattr(response, "request", request)
    headers = getattr(request, "headers", None)
    if headers is None:
        return None
    retries = headers.get("x-stainless-retry-count")
    if retries is None or not str(retries).isdigit():
        return None
    return int(retries) + 1


def _is_async(function: Callable[..., Any]) -> bool:
    """Whether `function` is a coroutine function under its decorators (the SDKs decorate
    `create` with argument checks that hide it from `inspect.iscoroutinefunction`)."""
    return inspect.iscoroutinefunction(inspect.unwrap(function))


def _wrap(original: Callable[..., Any], hooks: Hooks) -> Callable[..., Any]:
    if _is_async(original):

        @functools.wraps(original)
        async def async_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            with Sending(hooks, self, kwargs) as sending:
                result = await original(self, *args, **kwargs)
            return sending.end(result)

        return async_wrapper

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with Sending(hooks, self, kwargs) as sending:
            result = original(self, *args, **kwargs)
        return sending.end(result)

    return wrapper


Wrap = Callable[[Callable[..., Any]], Callable[..., Any]]
"""Makes the wrapper of one method from the original, for a method that `Sending` does not
fit (one that returns something whose use later sends the request)."""


def _wrapper(original: Callable[..., Any], patch: Hooks | Wrap) -> Callable[..., Any]:
    """The marked wrapper of `original`: hooks around each call, or a wrapper of its own."""
    wrapper = patch(original) if callable(patch) else _wrap(original, patch)
    setattr(wrapper, WRAPPED, original)
    return wrapper


def wrap_class(cls: type, name: str, patch: Hooks | Wrap) -> None:
    """Wrap `cls.name` for every instance; once."""
    original = cls.__dict__.get(name)
    if original is None or hasattr(original, WRAPPED):
        return
    setattr(cls, name, _wrapper(original, patch))


def wrap_instance(resource: Any, name: str, patch: Hooks | Wrap) -> None:
    """Wrap `name` on one resource object, unless its class or itself is wrapped already."""
    if name in vars(resource) or hasattr(getattr(type(resource), name, None), WRAPPED):
        return
    wrapper = _wrapper(getattr(type(resource), name), patch)
    setattr(resource, name, functools.partial(wrapper, resource))
