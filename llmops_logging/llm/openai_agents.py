"""instrument_openai_agents(): the OpenAI Agents SDK's traces as runs, agents, tools and calls.

A tracing processor on the SDK's trace provider. The SDK calls its processors synchronously,
in the context of the code that starts or ends a span (its own `Scope` makes the span current
in that same context right after), so each span's step becomes the current step there, as
`ll.step` would: a tool's own log lines and the `llm_call` of an instrumented OpenAI SDK
underneath hang below the span that runs them, in threads and tasks alike. Step ids nest as
the SDK's spans nest: a span opens under its parent span's step.

- a trace is a run when no run is open (`run_start` ... `run_ok` / `run_error`, named after
  the workflow; its `group_id`, the SDK's conversation thread, is the run's
  `conversation_id`): a trace is the SDK's unit of one workflow, as a run is this library's,
  so `llmops-logs runs` lists each one with its status, duration and usage. Inside an open run
  a trace adds no run: its spans are steps of the run the caller chose;
- an agent span is an agent's step (`gen_ai.operation.name` `invoke_agent`), task, turn,
  guardrail, custom and other spans are steps;
- a function span is a `tool_call` record (arguments and result are content);
- a handoff span is a `handoff` record;
- a generation or response span is an `llm_call` of framework fidelity (`_once`): when the
  OpenAI SDK instrumentation records the same call inside it, that record is the one.

A span's error (the SDK's `{"message", "data"}`) becomes the record's `error`, of type
`SpanError`. Nothing here raises into the SDK: a failure is counted like the LLM
instrumentation's (`_call.internal_errors`).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from .._context import StepState, current_run, current_step, nearest_open
from .._llm_settings import llm_settings
from .._render import safe_str
from ..agents import AgentManager, handoff
from ..runs import RunManager, StepManager
from ..tools import ToolCall
from . import _once
from ._bounded import Bounded
from ._call import LlmCall, note_internal_error
from ._opened import OpenedStep

_MISSING = (
    "ll.instrument_openai_agents() needs the openai-agents package: "
    "pip install 'llmops_logging[openai-agents]'"
)
_lock = threading.Lock()
_processor: _Processor | None = None


class SpanError(Exception):
    """A span's error as the SDK reports it (a message and data, no exception)."""


def instrument_openai_agents() -> None:
    """Record every trace of the OpenAI Agents SDK: agents, tools, hand-offs, guardrails,
    custom spans and model calls. Idempotent; the SDK's other processors stay."""
    global _processor
    try:
        from agents.tracing import add_trace_processor, get_trace_provider
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    with _lock:
        if _processor is None:
            _processor = _Processor()
        multi = getattr(get_trace_provider(), "_multi_processor", None)
        registered = getattr(multi, "_processors", None)
        if registered is None:  # another provider: the flag alone decides
            if not _processor.registered:
                add_trace_processor(_processor)  # type: ignore[arg-type]
        elif _processor not in registered:  # also after `set_trace_processors()` dropped it
            add_trace_processor(_processor)  # type: ignore[arg-type]
        _processor.registered = True


class _Processor:
    """The SDK's `TracingProcessor` interface (duck-typed: the SDK only calls it)."""

    def __init__(self) -> None:
        self.registered = False
        # by span and trace id; bounded: a span or trace never ended is forgotten (`_bounded`)
        self._spans: Bounded[str, OpenedStep | ToolCall | LlmCall | None] = Bounded()
        self._runs: Bounded[str, RunManager] = Bounded()
        self._failed: Bounded[str, SpanError] = Bounded()

    # -- traces ---------------------------------------------------------------------------

    def on_trace_start(self, trace: Any) -> None:
        try:
            if nearest_open(current_run.get()) is not None:
                return
            group = getattr(trace, "group_id", None)
            manager = RunManager(safe_str(trace.name), {}, conversation_id=group)
            manager.__enter__()
            self._runs[trace.trace_id] = manager
        except Exception:
            note_internal_error()

    def on_trace_end(self, trace: Any) -> None:
        try:
            manager = self._runs.pop(trace.trace_id)
            error = self._failed.pop(trace.trace_id)
            if manager is not None:
                manager.__exit__(None if error is None else SpanError, error, None)
        except Exception:
            note_internal_error()

    # -- spans ----------------------------------------------------------------------------

    def on_span_start(self, span: Any) -> None:
        try:
            parent = self._spans.get(span.parent_id) if span.parent_id else None
            parent_state = _state_of(parent)
            if parent_state is not None and parent_state is not current_step.get():
                current_step.set(parent_state)  # nest as the SDK's spans nest
            self._spans[span.span_id] = _open(span.span_data)
        except Exception:
            note_internal_error()

    def on_span_end(self, span: Any) -> None:
        try:
            opened = self._spans.pop(span.span_id)
            error = _error_of(span.error)
            if error is not None and span.parent_id is None:
                self._failed[span.trace_id] = error
            data = span.span_data
            if isinstance(opened, LlmCall):
                _once.release(opened)
                _fill_call(opened, data)
                opened.finish(error)
            elif isinstance(opened, ToolCall):
                opened.arguments = _arguments(data.input)
                if data.output is not None:
                    opened.result = data.output
                opened.__exit__(None if error is None else SpanError, error, None)
            elif isinstance(opened, OpenedStep):
                _close_step(opened, data, error)
            elif data.type == "handoff":
                handoff(safe_str(data.to_agent), from_agent=data.from_agent)
        except Exception:
            note_internal_error()

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass


def _state_of(opened: OpenedStep | ToolCall | LlmCall | None) -> StepState | None:
    if isinstance(opened, OpenedStep):
        return opened.state
    if isinstance(opened, ToolCall):
        return opened._state
    return None


def _open(data: Any) -> OpenedStep | ToolCall | LlmCall | None:
    """Open what a span of this kind is; None for a span written only at its end."""
    kind = data.type
    if kind == "handoff":
        return None
    if kind == "function":
        tool = ToolCall(safe_str(data.name))
        tool.__enter__()
        return tool
    if kind in ("generation", "response"):
        model = getattr(data, "model", None)
        call = LlmCall(model if isinstance(model, str) else "unknown", provider="openai")
        call.start()
        _once.enclose(call)
        return call
    manager: StepManager
    if kind == "agent":
        manager = AgentManager(safe_str(data.name), {})
    else:
        manager = StepManager(_step_name(data), _step_fields(data))
    scope = manager.__enter__()
    return OpenedStep(manager, scope, manager._state)


def _step_name(data: Any) -> str:
    name = getattr(data, "name", None)
    if isinstance(name, str) and data.type not in ("task", "turn"):
        return name
    return safe_str(data.type)


def _step_fields(data: Any) -> dict[str, Any]:
    if data.type == "task":
        return {"workflow": safe_str(data.name)}
    if data.type == "turn":
        return {"turn": data.turn, "agent": safe_str(data.agent_name)}
    return {}


def _close_step(opened: OpenedStep, data: Any, error: SpanError | None) -> None:
    if data.type == "guardrail":
        opened.scope.set(triggered=bool(data.triggered))
    elif data.type == "custom" and data.data and llm_settings().capture_content:
        opened.scope.set(data=data.data)
    opened.manager.__exit__(None if error is None else SpanError, error, None)


def _error_of(error: Any) -> SpanError | None:
    if not error:
        return None
    message = safe_str(error.get("message") or "span error")
    data = error.get("data")
    detail = data.get("error") if isinstance(data, dict) else None
    return SpanError(message if detail is None else f"{message}: {safe_str(detail)}")


def _arguments(raw: Any) -> Any:
    """A tool's arguments as the model sent them: JSON text, parsed when it is an object."""
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except ValueError:
            return raw
        return parsed if isinstance(parsed, dict) else raw
    return raw


def _fill_call(call: LlmCall, data: Any) -> None:
    """What a generation or response span knows of its call, read when it ends."""
    from .openai import _fill_response, _responses_input, chat_input, chat_output

    if call.superseded:
        return
    if data.type == "response":
        response = data.response
        if response is not None:
            call.model = safe_str(response.model)
            _fill_response(call, response)
        if call.capture_content and data.input is not None:
            call.input_messages = _responses_input(data.input)
        return
    config = data.model_config or {}
    call.set_request(
        **{k: config.get(k) for k in ("temperature", "top_p", "max_tokens")}  # None skipped
    )
    usage = data.usage or {}
    if not usage.get("input_tokens") and not usage.get("output_tokens"):
        usage = {}  # a stream the provider sent no usage for: the SDK writes zeros
    details_in = usage.get("input_tokens_details") or {}
    details_out = usage.get("output_tokens_details") or {}
    call.set_usage(
        usage.get("input_tokens"),
        usage.get("output_tokens"),
        cache_read_input_tokens=details_in.get("cached_tokens") or None,
        cache_creation_input_tokens=details_in.get("cache_write_tokens") or None,
        reasoning_output_tokens=details_out.get("reasoning_tokens") or None,
    )
    if not call.capture_content:
        return
    call.input_messages = chat_input(data.input)
    outputs = []
    for item in data.output or ():
        if isinstance(item, dict) and "output" in item:  # a Responses-shaped reply
            from .openai import _output_parts

            parts, _ = _output_parts(item["output"])
            outputs.append({"role": "assistant", "parts": parts})
        else:
            outputs.append(chat_output(item, None))
    call.output_messages = outputs or None
