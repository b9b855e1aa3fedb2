"""Watch an SDK stream: in place where the SDK's stream allows it, else as a generator.

`watch(call, stream, observer)` is the end of every streamed call. The OpenAI and Anthropic
SDKs share one stream design, watched in place (the caller keeps the very object the SDK
returned): `Stream` / `AsyncStream` iterate a
generator held in `_iterator` and release the connection in `close()`. Swapping that
generator for one that shows each event to an observer first, and `close()` for one that
finishes the call, keeps the stream's type, its events and its exceptions exactly as they
were. The call is finished when the last event was read, when iteration failed (with that
error), when the stream is closed, or, if the caller dropped it half-read, when it is
collected (`weakref.finalize`, handed to a worker: see `_call.abandon`). An SDK whose stream
is a plain generator (google-genai) gets a generator that yields the same items; closed or
collected before its end, it hands the call to the same worker (a generator is closed by the
garbage collector too, where no record may be written).
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from typing import Any, Protocol

from ._call import LlmCall, abandon, ensure_worker, note_internal_error
from ._patch import attempts_of


class Observer(Protocol):
    """Sees each event of a stream, then puts together what it saw when the call finishes."""

    def __call__(self, event: Any, /) -> None: ...

    def finish(self, call: LlmCall) -> None: ...


def watch(call: LlmCall, stream: Any, observer: Observer) -> Any:
    """Make `stream` finish `call`, showing each event to `observer`; return what the caller
    gets (the stream itself, or a generator in its place). Not a stream: finish at once."""
    if call.attempts is None:
        call.attempts = attempts_of(stream)
    call.on_finish = observer.finish
    if hasattr(stream, "__aiter__"):
        if watch_async_stream(stream, call, observer):
            return stream
        if inspect.isasyncgen(stream):
            return _watched_agen(stream, call, observer)
    elif watch_stream(stream, call, observer):
        return stream
    elif inspect.isgenerator(stream):
        return _watched_gen(stream, call, observer)
    call.finish()
    return stream


def _watched_gen(generator: Generator[Any, Any, Any], call: LlmCall, observer: Observer) -> Any:
    ensure_worker()
    watched = _observed_gen(generator, call, observer)
    weakref.finalize(watched, abandon, call)  # dropped before its first item
    return watched


def _watched_agen(generator: AsyncGenerator[Any, Any], call: LlmCall, observer: Observer) -> Any:
    ensure_worker()
    watched = _aobserved_gen(generator, call, observer)
    weakref.finalize(watched, abandon, call)
    return watched


def _observed_gen(
    generator: Generator[Any, Any, Any], call: LlmCall, observer: Observer
) -> Generator[Any, Any, Any]:
    try:
        yield from _observed(generator, call, observer)
    except GeneratorExit:
        abandon(call)  # closed early, maybe by the garbage collector: written by the worker
        generator.close()
        raise


async def _aobserved_gen(
    generator: AsyncGenerator[Any, Any], call: LlmCall, observer: Observer
) -> AsyncGenerator[Any, Any]:
    inner = _aobserved(generator, call, observer)
    try:
        async for event in inner:
            yield event
    except GeneratorExit:
        abandon(call)
        await inner.aclose()
        await generator.aclose()
        raise


def _show(observer: Observer, event: Any) -> None:
    try:
        observer(event)
    except Exception:
        note_internal_error()


def _observed(
    iterator: Iterator[Any], call: LlmCall, observer: Observer
) -> Generator[Any, Any, Any]:
    try:
        for event in iterator:
            _show(observer, event)
            yield event
    except Exception as exc:
        call.finish(exc)
        raise
    call.finish()


async def _aobserved(
    iterator: AsyncIterator[Any], call: LlmCall, observer: Observer
) -> AsyncGenerator[Any, Any]:
    try:
        async for event in iterator:
            _show(observer, event)
            yield event
    except Exception as exc:
        call.finish(exc)
        raise
    call.finish()


def _closed_early(call: LlmCall) -> None:
    if not call.finished:
        call.stream_incomplete = True
        call.finish()


def watch_stream(stream: Any, call: LlmCall, observer: Observer) -> bool:
    """Make `stream` (a sync SDK stream) finish `call` in place; False when it has not the
    known shape."""
    iterator = getattr(stream, "_iterator", None)
    close = getattr(stream, "close", None)
    if iterator is None or close is None:
        return False
    ensure_worker()
    stream._iterator = _observed(iterator, call, observer)

    def close_and_finish() -> None:
        try:
            close()
        finally:
            _closed_early(call)

    stream.close = close_and_finish
    weakref.finalize(stream, abandon, call)
    return True


def watch_async_stream(stream: Any, call: LlmCall, observer: Observer) -> bool:
    """`watch_stream` for an async SDK stream, whose `close()` is a coroutine."""
    iterator = getattr(stream, "_iterator", None)
    close = getattr(stream, "close", None)
    if iterator is None or close is None:
        return False
    ensure_worker()
    stream._iterator = _aobserved(iterator, call, observer)

    async def close_and_finish() -> None:
        try:
            await close()
        finally:
            _closed_early(call)

    stream.close = close_and_finish
    weakref.finalize(stream, abandon, call)
    return True
