"""One model call, one record: when two instrumentations see the same call, one writes it.

A framework's instrumentation (an agent SDK's generation span, a LangChain model callback, an
OpenTelemetry GenAI span, LiteLLM's callback) often sees a model call that an instrumented SDK
underneath also sees. Each instrumentation opens its `LlmCall` as *enclosing* the code that
runs inside it (in this context: this thread or task). When a call starts while others enclose
it, the one that sees the call best is kept and the others are *superseded*: they finish
without a record and without a share of any `usage`. The best is the one of higher fidelity
(an SDK's own patch, `SDK`, sees the request parameters, the provider's token counts and the
attempts), and of equal fidelity the innermost (closer to the wire).

Only instrumentations enclose: a user's own `with ll.llm_call(...)` writes its record as
before. A call encloses only while its instrumentation's frame is on the stack (an SDK patch:
until `create()` returns, not until the stream it returned ends), so two calls one after the
other never supersede each other.
"""

from __future__ import annotations

import contextvars
from typing import Protocol


class LlmCall(Protocol):
    """What this module reads and sets on `_call.LlmCall` (kept apart: `_call` imports this)."""

    fidelity: int
    superseded: bool

    @property
    def finished(self) -> bool: ...

    def supersede(self) -> bool: ...


SDK = 2
"""Fidelity of a patch on a provider's SDK (`instrument_openai`, `instrument_anthropic`, ...)."""
FRAMEWORK = 1
"""Fidelity of a framework's view of a call (callbacks, tracing spans)."""

_enclosing: contextvars.ContextVar[tuple[LlmCall, ...]] = contextvars.ContextVar(
    "llmops_logging_enclosing_calls", default=()
)


def enclose(call: LlmCall) -> None:
    """Mark `call` as enclosing what runs next in this context; settle which call records.

    Call it right after `call.start()`; `release(call)` when the instrumentation's frame ends
    (also from a callback: no token is needed, so start and end may be separate callbacks)."""
    open_calls = tuple(c for c in _enclosing.get() if not c.finished and not c.superseded)
    for outer in open_calls:
        # An outer call that finished meanwhile (in another thread) keeps its record.
        if outer.fidelity > call.fidelity or not outer.supersede():
            call.supersede()
    _enclosing.set((*(c for c in open_calls if not c.superseded), call))


def release(call: LlmCall) -> None:
    """`call` no longer encloses what runs in this context (a no-op where it did not)."""
    current = _enclosing.get()
    if call in current:
        _enclosing.set(tuple(c for c in current if c is not call))
