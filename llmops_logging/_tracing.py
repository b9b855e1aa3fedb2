"""Trace correlation: the current OpenTelemetry span's ids on every record.

The library never imports `opentelemetry`. A record looks for `opentelemetry.trace` in
`sys.modules` (one dict lookup, all it costs a process that never imported it); once the
application has imported it, the current span's context is read and, when valid, written as
`trace_id` (32 hex digits) and `span_id` (16 hex digits), the forms OTLP/JSON and every
tracing backend show.
"""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from typing import Any

OTEL_TRACE_MODULE = "opentelemetry.trace"
modules = sys.modules  # `OTEL_TRACE_MODULE in modules` is the whole cost without OpenTelemetry


def add_trace_ids(event_dict: MutableMapping[str, Any]) -> None:
    """Add the current span's ids, unless the event already names its own; never raises."""
    trace = modules.get(OTEL_TRACE_MODULE)
    try:
        context = trace.get_current_span().get_span_context()  # type: ignore[union-attr]
        if context.is_valid:
            event_dict.setdefault("trace_id", f"{context.trace_id:032x}")
            event_dict.setdefault("span_id", f"{context.span_id:016x}")
    except Exception:  # a module still importing, a foreign span implementation
        pass
