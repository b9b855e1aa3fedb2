"""Watch an SDK stream in place: the caller keeps the very object the SDK returned.

The OpenAI and Anthropic SDKs share one stream design: `Stream` / `AsyncStream` iterate a
generator held in `_iterator` and release the connection in `close()`. Swapping that
generator for one that shows each event to an observer first, and `close()` for one that
finishes the call, keeps the stream's type, its events and its exceptions exactly as they
were. The call is finished when the last event was read, when iteration failed (with that
error), when the stream is closed, or, if the caller dropped it half-read, when it is
collected (`weakref.finalize`, handed to a worker: see `_call.abandon`).
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from ._call import LlmCall, abandon, ensure_worker, note_internal_error

Observer = Callable[[Any], None]


def _show(observer: Observer, event: Any) -> None:
    try:
        observer(event)
    except Exception:
        note_internal_error()


def _observed(iterator: Iterator[Any], call: LlmCall, observer: Observer) -> Iterator[Any]:
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
) -> AsyncIterator[Any]:
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
    """Make `stream` (a sync SDK stream) finish `call`; False when it has not the known shape."""
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
