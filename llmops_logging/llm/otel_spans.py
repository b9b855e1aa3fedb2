"""instrument_opentelemetry(): OpenTelemetry spans as records, for every instrumentor's spans.

A span processor on a tracer provider. What a span is, it says in its attributes:
OpenTelemetry's GenAI conventions (`gen_ai.operation.name`: `chat`, `execute_tool`,
`invoke_agent`, ...; `gen_ai.usage.*`, `gen_ai.tool.*`, `gen_ai.agent.*`) or OpenInference's
(`openinference.span.kind` `LLM`, `TOOL`, `AGENT`, `CHAIN`, ...; `llm.model_name`,
`llm.token_count.*`, `input.value`, `output.value`). A model call's span becomes an `llm_call`
of framework fidelity (`_once`: when this library's SDK patch records the same call inside
it, that record is the one), a tool's a `tool_call`, an agent's an agent's step, any other span
a step. This is how Pydantic AI (which emits GenAI spans itself), the OpenInference and
OpenLLMetry instrumentors and OpenTelemetry's own GenAI instrumentations reach the log.

Which spans: those that carry GenAI attributes (any `gen_ai.*`) or OpenInference's span kind
when they start, the spans below a recorded one, and any span started while a run or step of
this library is open (a user's own span inside `ll.run` is a step of it). Other spans (an
HTTP server's request, a database query outside any run) are not this library's to record: a
trace whose root is such a span writes nothing for it, and a GenAI span below it is the root
of a run of its own. `all_spans=True` records every span, every root opening a run.

OpenTelemetry starts a span in the context of the code that starts it (`on_start` runs there,
before the span is made current), so its step becomes the current step there, as `ll.step`
would, and steps nest as spans nest. The records a span writes carry its own `trace_id` and
`span_id` (its context is attached around the write), like every record logged inside it. A
trace's root span, when no run is open, also opens a run of the same name (its
`gen_ai.conversation.id` or `session.id` the run's `conversation_id`): a trace is one piece
of work, as a run is. Nothing here raises into OpenTelemetry.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from .._context import StepState, current_run, current_step, nearest_open
from .._contract import (
    EXECUTE_TOOL,
    INVOKE_AGENT,
    OI_AGENT,
    OI_AGENT_NAME,
    OI_COMPLETION_TOKENS,
    OI_LLM,
    OI_MODEL_NAME,
    OI_PROMPT_TOKENS,
    OI_PROVIDER,
    OI_SESSION_ID,
    OI_SPAN_KIND,
    OI_TOOL,
    OI_TOOL_DESCRIPTION,
    OI_TOOL_NAME,
)
from .._render import safe_str
from ..agents import AgentManager
from ..runs import RunManager, StepManager
from ..tools import ToolCall
from . import _once
from ._bounded import Bounded
from ._call import LlmCall, note_internal_error
from ._opened import OpenedStep

_MISSING = (
    "ll.instrument_opentelemetry() needs the OpenTelemetry SDK: "
    "pip install 'llmops_logging[opentelemetry]'"
)
_MODEL_OPERATIONS = frozenset(
    {"chat", "text_completion", "generate_content", "embeddings", "completion"}
)
_OI_MODEL_KINDS = frozenset({OI_LLM, "EMBEDDING"})
_lock = threading.Lock()
_MARK = "_llmops_logging_span_processor"
"""Set on a provider that has our processor. Not a table keyed by `id(provider)`: a provider
collected and a new one made at the same address would look instrumented and get none."""


class SpanError(Exception):
    """A span's error status (and its exception event's type and message)."""


def instrument_opentelemetry(tracer_provider: Any = None, *, all_spans: bool | None = None) -> None:
    """Write the spans of `tracer_provider` (default: the global one) as records: the GenAI
    and OpenInference spans, what runs below them and what runs inside an open run or step;
    with `all_spans=True`, every span.

    Where no SDK tracer provider is set globally, one is made and set, so that instrumented
    libraries have somewhere to send spans. Idempotent per provider: a later call adds no
    second processor; its `all_spans`, when given, replaces the earlier choice for the spans
    started from then on (left out, the choice stays as it was; at first, False)."""
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    with _lock:
        provider = tracer_provider
        if provider is None:
            provider = trace.get_tracer_provider()
            if not hasattr(provider, "add_span_processor"):  # the API's proxy: no SDK yet
                provider = TracerProvider()
                trace.set_tracer_provider(provider)
                provider = trace.get_tracer_provider()
        processor = getattr(provider, _MARK, None)
        if processor is None:
            processor = _SpanProcessor()
            provider.add_span_processor(processor)
            setattr(provider, _MARK, processor)
        if all_spans is not None:
            processor.all_spans = bool(all_spans)


_Opened = OpenedStep | ToolCall | LlmCall


class _Open:
    """What one span opened: a run (its root, when no run was open) and its record."""

    __slots__ = ("record", "run")

    def __init__(self, run: RunManager | None, record: _Opened) -> None:
        self.run = run
        self.record = record


class _SpanProcessor:
    """OpenTelemetry's `SpanProcessor` interface (duck-typed: the SDK only calls it)."""

    def __init__(self) -> None:
        self.all_spans = False
        # by span id; bounded: a span never ended is forgotten (`_bounded`)
        self._spans: Bounded[int, _Open] = Bounded()

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        try:
            parent = span.parent
            opened = self._spans.get(parent.span_id) if parent is not None else None
            if opened is None and not self._followed(span):
                return
            state = _state_of(opened.record) if opened is not None else None
            if state is not None and state is not current_step.get():
                current_step.set(state)  # nest as the spans nest
            with _current(span):
                run = None
                if opened is None and nearest_open(current_run.get()) is None:
                    attributes = span.attributes or {}
                    conversation = attributes.get("gen_ai.conversation.id") or attributes.get(
                        OI_SESSION_ID
                    )
                    run = RunManager(safe_str(span.name), {}, _text(conversation))
                    run.__enter__()
                self._spans[span.context.span_id] = _Open(run, _open(span))
        except Exception:
            note_internal_error()

    def _followed(self, span: Any) -> bool:
        """Whether a span whose parent is not recorded is: see the module's docstring."""
        return (
            self.all_spans
            or _is_gen_ai(span.attributes or {})
            or nearest_open(current_run.get()) is not None
            or nearest_open(current_step.get()) is not None
        )

    def _on_ending(self, span: Any) -> None:
        pass

    def on_end(self, span: Any) -> None:
        try:
            opened = self._spans.pop(span.context.span_id)
            if opened is None:
                return
            attributes: Mapping[str, Any] = span.attributes or {}
            error = _error_of(span)
            with _current(span):
                record = opened.record
                if isinstance(record, LlmCall):
                    _once.release(record)
                    _fill_call(record, attributes)
                    record.finish(error)
                elif isinstance(record, ToolCall):
                    _fill_tool(record, attributes)
                    record.__exit__(None if error is None else SpanError, error, None)
                else:
                    record.manager.__exit__(None if error is None else SpanError, error, None)
                if opened.run is not None:
                    opened.run.__exit__(None if error is None else SpanError, error, None)
        except Exception:
            note_internal_error()

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@contextmanager
def _current(span: Any) -> Iterator[None]:
    """`span` is the current span while its records are written: they carry its ids."""
    from opentelemetry import context, trace

    token = context.attach(trace.set_span_in_context(span))
    try:
        yield
    finally:
        context.detach(token)


def _state_of(record: _Opened) -> StepState | None:
    if isinstance(record, OpenedStep):
        return record.state
    if isinstance(record, ToolCall):
        return record._state
    return None


def _is_gen_ai(attributes: Mapping[str, Any]) -> bool:
    """Whether a span says it is a model's, a tool's or an agent's: GenAI or OpenInference."""
    return OI_SPAN_KIND in attributes or any(name.startswith("gen_ai.") for name in attributes)


def _kind(attributes: Mapping[str, Any]) -> str:
    """`llm`, `tool`, `agent` or `step`, by the GenAI name first, else OpenInference's."""
    operation = attributes.get("gen_ai.operation.name")
    if operation in _MODEL_OPERATIONS:
        return "llm"
    if operation == EXECUTE_TOOL:
        return "tool"
    if operation in (INVOKE_AGENT, "create_agent"):
        return "agent"
    oi_kind = attributes.get(OI_SPAN_KIND)
    if oi_kind in _OI_MODEL_KINDS:
        return "llm"
    if oi_kind == OI_TOOL:
        return "tool"
    if oi_kind == OI_AGENT:
        return "agent"
    return "step"


def _open(span: Any) -> _Opened:
    attributes: Mapping[str, Any] = span.attributes or {}
    kind = _kind(attributes)
    if kind == "llm":
        model = _first(attributes, "gen_ai.request.model", OI_MODEL_NAME)
        provider = _first(attributes, "gen_ai.provider.name", "gen_ai.system", OI_PROVIDER)
        operation = attributes.get("gen_ai.operation.name")
        call = LlmCall(
            _text(model) or "unknown",
            provider=_text(provider) or "unknown",
            operation=operation if isinstance(operation, str) else "chat",
        )
        call.start()
        _once.enclose(call)
        return call
    if kind == "tool":
        name = _first(attributes, "gen_ai.tool.name", OI_TOOL_NAME)
        tool = ToolCall(_text(name) or safe_str(span.name))
        tool.__enter__()
        return tool
    manager: StepManager
    if kind == "agent":
        name = _first(attributes, "gen_ai.agent.name", OI_AGENT_NAME)
        agent_id = attributes.get("gen_ai.agent.id")
        manager = AgentManager(_text(name) or safe_str(span.name), {}, _text(agent_id))
    else:
        manager = StepManager(safe_str(span.name), {})
    scope = manager.__enter__()
    return OpenedStep(manager, scope, manager._state)


def _fill_call(call: LlmCall, attributes: Mapping[str, Any]) -> None:
    """What a model call's span says of it when it ends (GenAI names, else OpenInference's)."""
    if call.superseded:
        return
    model = _text(_first(attributes, "gen_ai.request.model", OI_MODEL_NAME))
    if model:
        call.model = model
    provider = _text(_first(attributes, "gen_ai.provider.name", "gen_ai.system", OI_PROVIDER))
    if provider:
        call.provider = provider
    call.response_model = _text(attributes.get("gen_ai.response.model"))
    call.response_id = _text(attributes.get("gen_ai.response.id"))
    reasons = attributes.get("gen_ai.response.finish_reasons")
    if isinstance(reasons, (list, tuple)):
        call.finish_reasons = [safe_str(r) for r in reasons]
    call.set_request(
        temperature=attributes.get("gen_ai.request.temperature"),
        top_p=attributes.get("gen_ai.request.top_p"),
        max_tokens=attributes.get("gen_ai.request.max_tokens"),
        seed=attributes.get("gen_ai.request.seed"),
    )
    call.set_usage(
        _first(attributes, "gen_ai.usage.input_tokens", OI_PROMPT_TOKENS),
        _first(attributes, "gen_ai.usage.output_tokens", OI_COMPLETION_TOKENS),
        cache_read_input_tokens=_first(
            attributes,
            "gen_ai.usage.cache_read.input_tokens",
            "llm.token_count.prompt_details.cache_read",
        ),
        cache_creation_input_tokens=_first(
            attributes,
            "gen_ai.usage.cache_creation.input_tokens",
            "llm.token_count.prompt_details.cache_write",
        ),
        reasoning_output_tokens=_first(attributes, "llm.token_count.completion_details.reasoning"),
    )
    if not call.capture_content:
        return
    call.input_messages = _json(attributes.get("gen_ai.input.messages")) or _oi_messages(
        attributes, "llm.input_messages"
    )
    call.output_messages = _json(attributes.get("gen_ai.output.messages")) or _oi_messages(
        attributes, "llm.output_messages"
    )
    call.system_instructions = _json(attributes.get("gen_ai.system_instructions"))


def _fill_tool(tool: ToolCall, attributes: Mapping[str, Any]) -> None:
    name = _text(_first(attributes, "gen_ai.tool.name", OI_TOOL_NAME))
    if name:
        tool.name = name
    tool.call_id = _text(_first(attributes, "gen_ai.tool.call.id", "tool_call.id"))
    tool.description = _text(_first(attributes, "gen_ai.tool.description", OI_TOOL_DESCRIPTION))
    tool_type = attributes.get("gen_ai.tool.type")
    if isinstance(tool_type, str):
        tool.type = tool_type
    arguments = _first(attributes, "gen_ai.tool.call.arguments", "tool.parameters", "input.value")
    if arguments is not None:
        tool.arguments = _json(arguments)
    result = _first(attributes, "gen_ai.tool.call.result", "output.value")
    if result is not None:
        tool.result = _json(result)


def _oi_messages(attributes: Mapping[str, Any], prefix: str) -> list[dict[str, Any]] | None:
    """OpenInference's flattened `llm.input_messages.{i}.message.{role, content}` as
    OpenTelemetry messages (`role`, `parts`)."""
    messages: list[dict[str, Any]] = []
    for index in range(1000):
        base = f"{prefix}.{index}.message."
        role = attributes.get(base + "role")
        if role is None:
            break
        content = attributes.get(base + "content")
        parts = [] if content is None else [{"type": "text", "content": content}]
        messages.append({"role": role, "parts": parts})
    return messages or None


def _error_of(span: Any) -> SpanError | None:
    status = getattr(span, "status", None)
    if status is None or getattr(status.status_code, "name", None) != "ERROR":
        return None
    for event in getattr(span, "events", ()) or ():
        if event.name == "exception":
            attributes = event.attributes or {}
            kind = attributes.get("exception.type")
            message = attributes.get("exception.message")
            if kind or message:
                return SpanError(f"{safe_str(kind)}: {safe_str(message)}")
    return SpanError(safe_str(status.description or "span status ERROR"))


def _first(attributes: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = attributes.get(name)
        if value is not None:
            return value
    return None


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else safe_str(value)


def _json(value: Any) -> Any:
    """An attribute that holds JSON text (OpenTelemetry attributes are flat), parsed;
    other values as they are."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
