"""Work handed to a thread belongs to the run and step it was handed over in.

A `threading.Thread` starts with an empty `contextvars` context (before Python 3.14's
`thread_inherit_context`), and a `ThreadPoolExecutor` runs each task in its worker's
context: so an LLM call made there belonged to no run or step and counted in no `usage`.
With `configure(thread_inherit_context=True)` (the default), `Thread.start()` and
`ThreadPoolExecutor.submit()` (which `map()` calls) take a copy of the caller's context at
that moment, and the thread's `run()` or the task runs inside it. The copy is taken at start
or submit, never when a pool creates its worker (a worker started inside `submit()` gets a
context of its own, as without this module, and so does its initializer): a worker reused by
tasks from different runs gives each task its submitter's context, and a thread started
outside any run stays outside.
`reset()`, or `configure(thread_inherit_context=False)`, puts the original methods back
(or, when other code has wrapped them since, makes ours pass through).

The whole context is copied, not only this library's variables: that is what asyncio does for
every task and `asyncio.to_thread()` for its thread, what Python 3.14 does for threads with
`thread_inherit_context`, and what Logfire does for executors. The thread's records are then
those of the code that started it: the run and step, fields bound with
`structlog.contextvars`, and the current OpenTelemetry span (so `trace_id` agrees). Copying
only the run and step would write records that name the run but another trace. Other
libraries' context variables follow as they already do into `asyncio.to_thread()`; a
thread that outlives its run keeps that run's id, as an asyncio task does.

Cost, measured on the development machine (CPython 3.11, CPU time of the calling thread, so
that other processes' load does not count): the wrapper adds about 0.5 us to `submit()`
(0.15 us of it `copy_context()`, constant-time: a context is an immutable mapping; entering
the copy in the worker adds about 0.2 us more), against 13 to 17 us for `submit()` itself,
and about 1 us to a `Thread.start()` of about 60 us. Nothing is copied while it is off.
"""

from __future__ import annotations

import contextvars
import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

T = TypeVar("T")
_ORIGINAL = "_llmops_logging_original"
"""Attribute of our wrappers naming the method they wrap: any copy of this module (a reloaded
package) recognises them, and never wraps its own wrapper."""


def _unwrapped(method: Any) -> Any:
    return getattr(method, _ORIGINAL, method)


_original_start = _unwrapped(threading.Thread.start)
_original_submit: Any = None  # ThreadPoolExecutor.submit, read when first installed
_enabled = False
_submitting = threading.local()
"""Set in a thread while it is inside a pool's `submit()`: a worker the pool starts there is
the pool's, not the submitter's, and starts in a context of its own (its initializer too)."""


def _start(self: threading.Thread) -> None:
    """`Thread.start()`, the thread's `run()` inside a copy of the starter's context."""
    if not _enabled or getattr(_submitting, "active", False):
        _original_start(self)
        return
    had_own_run = "run" in vars(self)
    run = self.run
    self.run = functools.partial(contextvars.copy_context().run, run)  # type: ignore[method-assign]
    try:
        _original_start(self)
    except BaseException:  # not started (started twice, no thread left): as it was
        if had_own_run:
            self.run = run  # type: ignore[method-assign]
        else:
            del self.run
        raise


def _submit(
    self: ThreadPoolExecutor, fn: Callable[..., T], /, *args: Any, **kwargs: Any
) -> Future[T]:
    """`ThreadPoolExecutor.submit()`, the task inside a copy of the submitter's context.

    Not for a pool that sends the task to another interpreter (Python 3.14's
    `InterpreterPoolExecutor`): there the task must stay a plain, picklable callable.
    """
    submit = _original_submit
    if not _enabled or type(self).__module__.startswith("concurrent.futures.interpreter"):
        return submit(self, fn, *args, **kwargs)  # type: ignore[no-any-return]
    _submitting.active = True
    try:
        return submit(self, contextvars.copy_context().run, fn, *args, **kwargs)  # type: ignore[no-any-return]
    finally:
        _submitting.active = False


setattr(_start, _ORIGINAL, _original_start)


def install(enabled: bool) -> None:
    """Let threads and pool tasks inherit their starter's context, or stop doing so.

    A method another library wrapped around ours since is left in place (ours, inside it,
    then passes through): replacing it would undo that library's wrapper.
    """
    global _enabled, _original_submit
    from concurrent.futures.thread import ThreadPoolExecutor  # only once configured

    if _original_submit is None:
        _original_submit = _unwrapped(ThreadPoolExecutor.submit)
        setattr(_submit, _ORIGINAL, _original_submit)
    _enabled = enabled
    for cls, name, ours, original in (
        (threading.Thread, "start", _start, _original_start),
        (ThreadPoolExecutor, "submit", _submit, _original_submit),
    ):
        current = getattr(cls, name)
        mine_or_a_copys = current is original or getattr(current, _ORIGINAL, None) is original
        if enabled and mine_or_a_copys:
            setattr(cls, name, ours)
        elif not enabled and current is not original and mine_or_a_copys:
            setattr(cls, name, original)
