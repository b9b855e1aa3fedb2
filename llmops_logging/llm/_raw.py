"""A response returned before its body was read (`with_streaming_response`): the call is
recorded from the body when the caller parses it, and without it when the body is read
another way.

`with_streaming_response.create()` of the OpenAI and Anthropic SDKs returns the HTTP response
(`APIResponse` / `AsyncAPIResponse`) as soon as its headers came; the caller reads the body
later: with `parse()` (the typed result, or the `Stream` of events: how the OpenAI Agents SDK
streams a Responses model) or as bytes (`read()`, `iter_lines()`, `text()`, ...). Nothing here
reads or parses the body. The response's own `parse()` is wrapped, and what it returns goes
to the SDK module's hooks: a typed result finishes the call at once, a stream is watched in
place, so the call ends when the stream does, as a `stream=True` call's. A body never parsed
(read as bytes, or not at all) is recorded without what it said when the response is closed
(leaving its `with` block does that) or collected; a stream parsed but closed with its
response before its end is recorded `stream_incomplete`. `parse(to=...)` (a type of the
caller's) is left alone: the call is then recorded as for a body never parsed.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any

from ._call import LlmCall, abandon, ensure_worker

End = Callable[[LlmCall, Any], Any]
"""Finishes a call from its parsed result (or watches the stream); returns what the caller gets."""
Fail = Callable[[LlmCall, BaseException], None]
"""Records a call that failed."""

_RAW = frozenset({"APIResponse", "AsyncAPIResponse"})


def unread(result: Any) -> bool:
    """Whether `result` is an SDK response whose body the caller is still to read."""
    return any(cls.__name__ in _RAW for cls in type(result).__mro__) and callable(
        getattr(result, "parse", None)
    )


class _Body:
    """What became of one response's body; holds no reference to the response, so that the
    response's finalizer can fire."""

    __slots__ = ("call", "end", "fail", "parsed")

    def __init__(self, call: LlmCall, end: End, fail: Fail) -> None:
        self.call = call
        self.end = end
        self.fail = fail
        self.parsed = False

    def took(self, value: Any, kwargs: dict[str, Any]) -> Any:
        """The caller's `parse()` returned `value`: the first default parse ends or watches
        the call (a later one returns the SDK's cached object, the watched one)."""
        if self.parsed or kwargs.get("to") is not None:
            return value
        self.parsed = True
        return self.end(self.call, value)

    def failed(self, exc: BaseException) -> None:
        if not self.parsed:
            self.parsed = True
            self.fail(self.call, exc)

    def closed(self) -> None:
        call = self.call
        if call.finished:
            return
        if self.parsed:  # a stream the caller had not read to its end
            call.stream_incomplete = True
        call.finish()


def _collected(body: _Body) -> None:
    if not body.parsed:  # a parsed stream has its own finalizer
        abandon(body.call, incomplete=False)


def watch_raw(call: LlmCall, response: Any, end: End, fail: Fail) -> None:
    """Leave `call` open until the caller parses, closes or drops `response`. The wrappers
    reach the response through a weak reference and call its class's methods, so that they
    hold no reference to it: dropped, it is freed (and recorded) at once, as it would be
    without them, not at the garbage collector's next cycle."""
    body = _Body(call, end, fail)
    ensure_worker()
    weakref.finalize(response, _collected, body)
    ref = weakref.ref(response)
    cls = type(response)
    parse = cls.parse
    close = getattr(cls, "close", None)
    if inspect.iscoroutinefunction(parse):

        async def parse_async(*args: Any, **kwargs: Any) -> Any:
            try:
                value = await parse(ref(), *args, **kwargs)
            except Exception as exc:
                body.failed(exc)
                raise
            return body.took(value, kwargs)

        response.parse = parse_async
    else:

        def parse_sync(*args: Any, **kwargs: Any) -> Any:
            try:
                value = parse(ref(), *args, **kwargs)
            except Exception as exc:
                body.failed(exc)
                raise
            return body.took(value, kwargs)

        response.parse = parse_sync
    if close is None:
        return
    if inspect.iscoroutinefunction(close):

        async def close_async() -> None:
            try:
                await close(ref())
            finally:
                body.closed()

        response.close = close_async
    else:

        def close_sync() -> None:
            try:
                close(ref())
            finally:
                body.closed()

        response.close = close_sync
