"""instrument_google_genai(): an `llm_call` record for every `google-genai` `generate_content`
and `generate_content_stream`, sync (`client.models`) and async (`client.aio.models`).

Hooks on the shared skeleton (`_sdk`, `_patch`, `_streams`): the request's model and config,
the SDK's typed `GenerateContentResponse` (or its streamed chunks, put back together into one
candidate per index and converted by the same function), nothing else. The provider is
OpenTelemetry's `gcp.vertex_ai` for a Vertex AI client and `gcp.gemini` for the Gemini API.
Gemini counts thinking apart from the candidates' tokens; the record's output tokens include
it (as OpenAI's completion tokens include reasoning), with `reasoning.output_tokens` its part.
A call with automatic function calling is one record: the SDK's last reply is its result.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .._contract import token_count_ok
from ._call import LlmCall
from ._content import Pieces, as_mapping, field_of, text_part, tool_call_part, tool_response_part
from ._sdk import Patch, instrument, new_call
from ._streams import watch

if TYPE_CHECKING:
    from google.genai import Client

_MISSING_SDK = (
    "ll.instrument_google_genai() needs the google-genai package:"
    " pip install 'llmops-logging[google-genai]'"
)
_METHODS = ("generate_content", "generate_content_stream")


def instrument_google_genai(client: Client | None = None) -> None:
    """Record every `generate_content` call through `client` (sync and `client.aio`), or
    through every google-genai client. Idempotent."""
    instrument("google.genai", _MISSING_SDK, _classes, _resources, client)


def _classes() -> list[Patch]:
    from google.genai.models import AsyncModels, Models

    return [(cls, name, _HOOKS) for cls in (Models, AsyncModels) for name in _METHODS]


def _resources(client: Any) -> list[Patch]:
    return [
        (models, name, _HOOKS) for models in (client.models, client.aio.models) for name in _METHODS
    ]


# -- the request ----------------------------------------------------------------------------

_PARAMS = MappingProxyType(
    {
        "temperature": "temperature",
        "top_p": "top_p",
        "top_k": "top_k",
        "max_output_tokens": "max_tokens",
        "seed": "seed",
        "frequency_penalty": "frequency_penalty",
        "presence_penalty": "presence_penalty",
    }
)
"""The config's numeric parameters and their `gen_ai.request.*` names."""
_REASONS = MappingProxyType({"STOP": "stop", "MAX_TOKENS": "length"})
"""Gemini's finish reasons that OpenTelemetry names otherwise (the rest: in lower case)."""


def _part(part: Any) -> dict[str, Any]:
    """A Gemini `Part` (a model or a dict in the SDK's field names) as a message part."""
    if isinstance(part, str):
        return text_part(part)
    text = field_of(part, "text")
    if text is not None:
        if field_of(part, "thought"):
            return {"type": "reasoning", "content": text}
        return text_part(text)
    call = field_of(part, "function_call")
    if call is not None:
        return tool_call_part(field_of(call, "id"), field_of(call, "name"), field_of(call, "args"))
    response = field_of(part, "function_response")
    if response is not None:
        return tool_response_part(field_of(response, "id"), field_of(response, "response"))
    return dict(as_mapping(part))


def _is_content(item: Any) -> bool:
    return field_of(item, "parts") is not None or field_of(item, "role") is not None


def _input_messages(contents: Any) -> list[dict[str, Any]] | None:
    """`contents` as OpenTelemetry input messages: a text, a part, a `Content`, or a list of
    them (strings and parts side by side make one user message, as the SDK sends them)."""
    if contents is None:
        return None
    items = contents if isinstance(contents, (list, tuple)) else [contents]
    messages: list[dict[str, Any]] = []
    loose: list[dict[str, Any]] = []
    for item in items:
        if _is_content(item):
            if loose:
                messages.append({"role": "user", "parts": loose})
                loose = []
            role = field_of(item, "role") or "user"
            parts = [_part(p) for p in field_of(item, "parts") or ()]
            messages.append({"role": "assistant" if role == "model" else role, "parts": parts})
        else:
            loose.append(_part(item))
    if loose:
        messages.append({"role": "user", "parts": loose})
    return messages


def _system(instruction: Any) -> list[dict[str, Any]] | None:
    if instruction is None:
        return None
    if _is_content(instruction):
        return [_part(p) for p in field_of(instruction, "parts") or ()]
    items = instruction if isinstance(instruction, (list, tuple)) else [instruction]
    return [_part(item) for item in items]


def _provider(models: Any) -> str:
    api_client = getattr(models, "_api_client", None)
    return "gcp.vertex_ai" if getattr(api_client, "vertexai", False) else "gcp.gemini"


# -- the response -----------------------------------------------------------------------------


def _reason(reason: Any) -> str | None:
    name = getattr(reason, "name", reason)  # an enum member, or the text of an unknown one
    if not isinstance(name, str) or not name:
        return None
    return _REASONS.get(name, name.lower())


def _output_message(parts: Any, reason: str | None) -> dict[str, Any]:
    """A candidate's content as an output message, from a reply or a stream put together."""
    return {
        "role": "assistant",
        "parts": [_part(p) for p in parts or ()],
        "finish_reason": reason,
    }


def _usage(call: LlmCall, usage: Any) -> None:
    """Gemini's counts: the prompt includes its cached part; thinking comes beside the
    candidates' tokens and is added to the output (a count that is no count: kept as sent)."""
    if usage is None:
        return
    candidates = getattr(usage, "candidates_token_count", None)
    thoughts = getattr(usage, "thoughts_token_count", None)
    output = candidates
    if thoughts and token_count_ok(thoughts) and token_count_ok(candidates or 0):
        output = (candidates or 0) + thoughts
    call.set_usage(
        getattr(usage, "prompt_token_count", None),
        output,
        cache_read_input_tokens=getattr(usage, "cached_content_token_count", None) or None,
        reasoning_output_tokens=thoughts or None,
    )


def _fill(call: LlmCall, response: Any) -> None:
    """What one `GenerateContentResponse` (or a stream's chunk) says of the call."""
    if response.response_id and call.response_id is None:
        call.response_id = response.response_id
    if response.model_version and call.response_model is None:
        call.response_model = response.model_version
    if response.usage_metadata is not None:
        _usage(call, response.usage_metadata)


class _Stream:
    """Follows a stream of `GenerateContentResponse` chunks: first content, each candidate's
    parts (text pieces joined, a thought apart from text), finish reasons, the last usage."""

    def __init__(self, call: LlmCall) -> None:
        self.call = call
        self.parts: dict[int, list[dict[str, Any]]] = {}
        self.pieces = Pieces()  # (candidate index, part index): its text
        self.reasons: dict[int, str | None] = {}

    def __call__(self, chunk: Any) -> None:
        call = self.call
        _fill(call, chunk)
        for number, candidate in enumerate(chunk.candidates or ()):
            index = candidate.index if candidate.index is not None else number
            content = candidate.content
            if content is not None and content.parts:
                call.first_chunk()
                if call.capture_content:
                    self._add(index, content.parts)
            if candidate.finish_reason is not None:
                self.reasons[index] = _reason(candidate.finish_reason)

    def _add(self, index: int, parts: Any) -> None:
        so_far = self.parts.setdefault(index, [])
        for part in parts:
            text = part.text
            if text is not None and part.function_call is None:
                thought = bool(part.thought)
                last = so_far[-1] if so_far else None
                if last is None or last.get("thought") is not thought or "text" not in last:
                    so_far.append({"thought": thought, "text": ""})
                self.pieces.add((index, len(so_far) - 1), text)
            else:
                so_far.append(part.model_dump(exclude_none=True))

    def finish(self, call: LlmCall) -> None:
        indexes = sorted(set(self.parts) | set(self.reasons))
        reasons = [self.reasons.get(i) for i in indexes]
        if any(reasons):
            call.finish_reasons = [r for r in reasons if r is not None]
        if not call.capture_content or not indexes:
            return
        messages = []
        for index in indexes:
            parts = self.parts.get(index, [])
            for number, part in enumerate(parts):
                if "text" in part:
                    part["text"] = self.pieces.text((index, number)) or ""
            messages.append(_output_message(parts, self.reasons.get(index)))
        call.output_messages = messages


class _Hooks:
    def begin(self, resource: Any, kwargs: dict[str, Any]) -> LlmCall:
        config = kwargs.get("config")
        call = new_call(kwargs.get("model"), _provider(resource), config, _PARAMS)
        if call.capture_content:
            call.input_messages = _input_messages(kwargs.get("contents"))
            call.system_instructions = _system(field_of(config, "system_instruction"))
        return call

    def end(self, call: LlmCall, result: Any) -> Any:
        from google.genai.types import GenerateContentResponse

        if not isinstance(result, GenerateContentResponse):
            return watch(call, result, _Stream(call))
        _fill(call, result)
        candidates = result.candidates or ()
        reasons = [_reason(c.finish_reason) for c in candidates]
        if any(reasons):
            call.finish_reasons = [r for r in reasons if r is not None]
        if call.capture_content and candidates:
            call.output_messages = [
                _output_message(c.content.parts if c.content else (), reason)
                for c, reason in zip(candidates, reasons, strict=True)
            ]
        call.finish()
        return result


_HOOKS = _Hooks()
