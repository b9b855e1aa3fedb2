"""What a record means as a span, for any OpenTelemetry backend: its name and the attributes
that tracing UIs key on, beside the GenAI ones the record's own fields give. Shared by every
writer of spans (the OTLP export, and anything that sends spans), so that all name a span alike.

- Names: an `llm_call` is its `event` (`chat gpt-4o-mini`); a `tool_call` `execute_tool
  {gen_ai.tool.name}`; an agent's step (`gen_ai.operation.name` `invoke_agent`) `invoke_agent
  {gen_ai.agent.name}`; another step its `name`. A `handoff` event is `handoff {from} -> {to}`.
- OpenInference (what Phoenix reads): `openinference.span.kind` (`LLM`, `TOOL`, `AGENT`,
  `CHAIN` for runs and other steps); `input.value` / `output.value` with their mime type
  (`application/json` unless the value is text): an LLM call's input and output messages, a
  tool's arguments and result, a run's or step's own `input` and `output` fields; an LLM call's
  `llm.model_name` (the response's model, else the request's), `llm.provider` and
  `llm.token_count.{prompt, completion, total}`; a tool's `tool.name` and `tool.description`;
  an agent's `agent.name`; on every span `session.id` (the run's `gen_ai.conversation.id`) and
  `user.id`.
- Langfuse: an LLM call's `cost_usd` also as `gen_ai.usage.cost`, a float.

Token counts and cost are written on the calls only: backends sum a trace's spans, so totals on
runs and steps would count each call twice. Content comes only from the record, so a log
written with `capture_content=False` gives no input or output. A value of the wrong type is
left out, never an error.
"""

from __future__ import annotations

from typing import Any

from ..._contract import (
    AGENT_NAME_PATH,
    CONVERSATION_PATH,
    COST_USD,
    EVENT,
    GEN_AI,
    INPUT_TOKENS,
    INVOKE_AGENT,
    KIND,
    LLM_CALL,
    MIME_JSON,
    MIME_TEXT,
    NAME,
    OI_AGENT,
    OI_AGENT_NAME,
    OI_CHAIN,
    OI_COMPLETION_TOKENS,
    OI_INPUT_MIME,
    OI_INPUT_VALUE,
    OI_LLM,
    OI_MODEL_NAME,
    OI_OUTPUT_MIME,
    OI_OUTPUT_VALUE,
    OI_PROMPT_TOKENS,
    OI_PROVIDER,
    OI_SESSION_ID,
    OI_SPAN_KIND,
    OI_TOOL,
    OI_TOOL_DESCRIPTION,
    OI_TOOL_NAME,
    OI_TOTAL_TOKENS,
    OI_USER_ID,
    OPERATION_PATH,
    OUTPUT_TOKENS,
    RUN_INPUT,
    RUN_OUTPUT,
    STEP_KINDS,
    TO_AGENT,
    TOOL_CALL,
    TOOL_CALL_PATH,
    TOOL_NAME_PATH,
    USAGE_COST,
    USAGE_PATH,
    USER_PATH,
    cost_ok,
    token_count_ok,
)
from ...readmodel.records import call_model
from ...readmodel.values import path, shown
from ._otlp_values import json_text

Record = dict[str, Any]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def is_agent(record: Record) -> bool:
    """Whether a step's record is an agent's invocation."""
    return record.get(KIND) in STEP_KINDS and path(record, *OPERATION_PATH) == INVOKE_AGENT


def span_kind(record: Record) -> str:
    """The record's `openinference.span.kind`."""
    kind = record.get(KIND)
    if kind == LLM_CALL:
        return OI_LLM
    if kind == TOOL_CALL:
        return OI_TOOL
    return OI_AGENT if is_agent(record) else OI_CHAIN


def span_name(record: Record) -> str:
    """The name of the span of a step, an `llm_call` or a `tool_call` record."""
    kind = record.get(KIND)
    if kind == TOOL_CALL:
        tool = _text(path(record, *TOOL_NAME_PATH))
        return f"execute_tool {tool}" if tool is not None else event_name(record)
    if kind == LLM_CALL:
        return event_name(record)
    name = shown(record.get(NAME, "-"))
    if is_agent(record):
        return f"invoke_agent {_text(path(record, *AGENT_NAME_PATH)) or name}"
    return name


def event_name(record: Record) -> str:
    """A record's `event` as a name, as the commands show it (`values.shown`)."""
    return shown(record.get(EVENT))


def handoff_name(record: Record) -> str:
    """`handoff {from} -> {to}`, `?` for an agent the record does not name as text."""
    source = _text(path(record, *AGENT_NAME_PATH)) or "?"
    return f"handoff {source} -> {_text(record.get(TO_AGENT)) or '?'}"


def _content(out: dict[str, Any], value_key: str, mime_key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, str):
        out[value_key], out[mime_key] = value, MIME_TEXT
    else:
        out[value_key], out[mime_key] = json_text(value), MIME_JSON


def span_attributes(record: Record) -> dict[str, Any]:
    """The OpenInference (and Langfuse) attributes of a span record, by name; values are str,
    int or float."""
    kind = span_kind(record)
    out: dict[str, Any] = {OI_SPAN_KIND: kind}
    session, user = _text(path(record, *CONVERSATION_PATH)), _text(path(record, *USER_PATH))
    if session is not None:
        out[OI_SESSION_ID] = session
    if user is not None:
        out[OI_USER_ID] = user
    gen_ai = record.get(GEN_AI)
    if kind == OI_LLM:
        model = call_model(record)
        if model is not None:
            out[OI_MODEL_NAME] = model
        provider = _text(path(gen_ai, "provider", NAME))
        if provider is not None:
            out[OI_PROVIDER] = provider
        usage = path(record, *USAGE_PATH)
        prompt, completion = path(usage, INPUT_TOKENS), path(usage, OUTPUT_TOKENS)
        prompt_ok, completion_ok = token_count_ok(prompt), token_count_ok(completion)
        if prompt_ok:
            out[OI_PROMPT_TOKENS] = int(prompt)
        if completion_ok:
            out[OI_COMPLETION_TOKENS] = int(completion)
        if prompt_ok and completion_ok:
            out[OI_TOTAL_TOKENS] = int(prompt) + int(completion)
        cost: Any = record.get(COST_USD)
        if cost_ok(cost):
            out[USAGE_COST] = float(cost)
        _content(out, OI_INPUT_VALUE, OI_INPUT_MIME, path(gen_ai, "input", "messages"))
        _content(out, OI_OUTPUT_VALUE, OI_OUTPUT_MIME, path(gen_ai, "output", "messages"))
    elif kind == OI_TOOL:
        name = _text(path(record, *TOOL_NAME_PATH))
        if name is not None:
            out[OI_TOOL_NAME] = name
        description = _text(path(record, *TOOL_NAME_PATH[:-1], "description"))
        if description is not None:
            out[OI_TOOL_DESCRIPTION] = description
        _content(out, OI_INPUT_VALUE, OI_INPUT_MIME, path(record, *TOOL_CALL_PATH, "arguments"))
        _content(out, OI_OUTPUT_VALUE, OI_OUTPUT_MIME, path(record, *TOOL_CALL_PATH, "result"))
    else:
        if kind == OI_AGENT:
            name = _text(path(record, *AGENT_NAME_PATH))
            if name is not None:
                out[OI_AGENT_NAME] = name
        _content(out, OI_INPUT_VALUE, OI_INPUT_MIME, record.get(RUN_INPUT))
        _content(out, OI_OUTPUT_VALUE, OI_OUTPUT_MIME, record.get(RUN_OUTPUT))
    return out
