"""instrument_langchain(): every LangChain and LangGraph run in the log, with no `callbacks=`.

LangChain offers a supported hook for this: a context variable registered with
`langchain_core.tracers.context.register_configure_hook` is read each time a callback manager
is configured, and a handler found there is added to every run (LangSmith's own tracer is
reached the same way). The variable's default is the handler, so every thread and task sees
it without anything to set. What the handler writes is described in `_langchain_handler`.
"""

from __future__ import annotations

import contextvars
import threading
from typing import Any

_MISSING = "ll.instrument_langchain() needs the langchain-core package: pip install langchain-core"
_lock = threading.Lock()
_hook: contextvars.ContextVar[Any] | None = None


def instrument_langchain() -> None:
    """Record every LangChain / LangGraph run: chains and graph nodes as steps, tools as
    `tool_call` records, retrievers as steps, model calls as `llm_call` records (once, when
    an instrumented SDK underneath records the same call). Idempotent."""
    global _hook
    try:
        from langchain_core.tracers.context import register_configure_hook
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    from ._langchain_handler import LangChainHandler

    with _lock:
        if _hook is not None:
            return
        # the one handler as the default: every context reads it, none has to set it
        handler = LangChainHandler()
        _hook = contextvars.ContextVar("llmops_logging_langchain", default=handler)
        register_configure_hook(_hook, inheritable=True)
