"""Trace correlation: the current OpenTelemetry span's ids on every record.

The library never imports `opentelemetry`. A record looks for `opentelemetry.trace` in
`sys.modules` (one dict lookup, all it costs a process that never imported it); once the
application has imported it, the current span's context is read and, when valid, written as
`trace_id` (32 hex digits) and `span_id` (16 hex digits), the forms OTLP/JSON and every
tracing backend show.

Current SDKs (`openai`, `anthropic`) import `opentelemetry` themselves, so most LLM programs
take the second path on every record, mostly outside any span. The public
`trace.get_current_span()` costs a few microseconds, as much as the rest of a record; so when
OpenTelemetry keeps its context in its stock context variable, the span is read from that
variable directly (a `get` and a dict lookup), and the hex ids of the last span seen are
reused while the records come from inside the same span. Anything else falls back to the
public API.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, MutableMapping
from contextvars import ContextVar
from typing import Any

OTEL_TRACE_MODULE = "opentelemetry.trace"
TRACE_ID, SPAN_ID = "trace_id", "span_id"
modules = sys.modules  # `OTEL_TRACE_MODULE in modules` is the whole cost without OpenTelemetry

_span_of_context: tuple[Callable[[], Any], str] | None = None  # (the variable's get, span key)
_public_span: Callable[[], Any] | None = None  # trace.get_current_span, where that is not set
_last: tuple[Any, str, str] = (None, "", "")  # (span context, trace_id, span_id) seen last


def _resolve() -> bool:
    """Find how to read the current span: OpenTelemetry's context variable when it is the
    stock one, else the public API; False while the module is still being imported."""
    global _span_of_context, _public_span
    try:
        runtime = modules["opentelemetry.context"]._RUNTIME_CONTEXT
        variable = runtime._current_context
        key = modules["opentelemetry.trace.propagation"]._SPAN_KEY
        if type(runtime).__name__ == "ContextVarsRuntimeContext" and isinstance(
            variable, ContextVar
        ):
            _span_of_context = (variable.get, key)
            return True
    except (KeyError, AttributeError):
        pass
    _public_span = getattr(modules.get(OTEL_TRACE_MODULE), "get_current_span", None)
    return _public_span is not None


def current_span_ids() -> tuple[Any, str, str] | None:
    """`(span context, trace_id, span_id)` of the current valid span, or None; never raises."""
    global _last
    try:
        reader = _span_of_context
        if reader is None:
            if _public_span is None and not _resolve():
                return None
            reader = _span_of_context
        span = reader[0]().get(reader[1]) if reader is not None else _public_span()  # type: ignore[misc]
        if span is None:
            return None
        context = span.get_span_context()
        last = _last
        if context is not last[0]:
            if not context.is_valid:
                return None
            last = _last = (context, f"{context.trace_id:032x}", f"{context.span_id:016x}")
        return last
    except Exception:  # a foreign span or context implementation
        return None


def add_trace_ids(
    event_dict: MutableMapping[str, Any],
    displace: Callable[[MutableMapping[str, Any], str, Any], None],
) -> None:
    """Add the current span's ids; never raises. Inside a span they are stamps like `run_id`:
    a caller's own `trace_id` / `span_id` is handed to `displace` (which keeps it as
    `user_<name>`) rather than forging the span's. Outside any span the caller's stay."""
    ids = current_span_ids()
    if ids is None:
        return
    try:
        if TRACE_ID in event_dict or SPAN_ID in event_dict:
            for name in (TRACE_ID, SPAN_ID):
                if name in event_dict:
                    displace(event_dict, name, event_dict.pop(name))
        event_dict[TRACE_ID] = ids[1]
        event_dict[SPAN_ID] = ids[2]
    except Exception:  # a mapping that refuses
        pass
