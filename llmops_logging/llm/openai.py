"""instrument_openai(): an `llm_call` record for every chat completion, response and embedding.

Wraps `create` of the SDK's `chat.completions`, `responses` and `embeddings` resources, sync
and async: on their classes (every client) or on one client's resource objects. Everything
is read from the SDK's own typed results (`ChatCompletion`, `ChatCompletionChunk`,
`Response` and its stream events, `CreateEmbeddingResponse`); the request is never touched,
so a stream without `stream_options.include_usage` is recorded without token counts.
Content is turned into OpenTelemetry's message shape (`role`, `parts`) only when captured.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ._call import LlmCall
from ._content import (
    Pieces,
    as_mapping,
    field_of,
    text_part,
    tool_call_part,
    tool_response_part,
)
from ._sdk import Patch, instrument, new_call, number
from ._streams import watch

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI

_MISSING_SDK = "ll.instrument_openai() needs the openai package: pip install openai"


def instrument_openai(client: OpenAI | AsyncOpenAI | None = None) -> None:
    """Record every call through `client`, or through every OpenAI / AsyncOpenAI client.

    Idempotent; a client made later by `client.with_options()` is covered only class-wide.
    """
    instrument("openai", _MISSING_SDK, _classes, _resources, client)


def _classes() -> list[Patch]:
    from openai.resources.chat.completions import AsyncCompletions, Completions
    from openai.resources.embeddings import AsyncEmbeddings, Embeddings
    from openai.resources.responses import AsyncResponses, Responses

    return [
        (cls, name, hooks)
        for classes, hooks in (
            ((Completions, AsyncCompletions), _CHAT),
            ((Responses, AsyncResponses), _RESPONSES),
            ((Embeddings, AsyncEmbeddings), _EMBEDDINGS),
        )
        for cls in classes
        for name in _METHODS[hooks]
    ]


def _resources(client: Any) -> list[Patch]:
    return [
        (resource, name, hooks)
        for resource, hooks in (
            (client.chat.completions, _CHAT),
            (client.responses, _RESPONSES),
            (client.embeddings, _EMBEDDINGS),
        )
        for name in _METHODS[hooks]
    ]


# -- shared -------------------------------------------------------------------------------

_PARAMS = MappingProxyType(
    {
        "temperature": "temperature",
        "top_p": "top_p",
        "max_tokens": "max_tokens",
        "max_completion_tokens": "max_tokens",
        "max_output_tokens": "max_tokens",
        "seed": "seed",
        "frequency_penalty": "frequency_penalty",
        "presence_penalty": "presence_penalty",
    }
)
"""The request's numeric parameters and their `gen_ai.request.*` names."""


def _begin(resource: Any, kwargs: Mapping[str, Any], operation: str) -> LlmCall:
    client = getattr(resource, "_client", None)
    provider = "azure.ai.openai" if "Azure" in type(client).__name__ else "openai"
    call = new_call(
        kwargs.get("model"), provider, kwargs, _PARAMS, stop="stop", operation=operation
    )
    n = kwargs.get("n")
    if number(n) and n != 1:
        call.request["choice"] = {"count": n}
    return call


def _usage_counts(
    call: LlmCall,
    input_tokens: Any,
    output_tokens: Any,
    input_details: Any,
    output_details: Any,
) -> None:
    """The counts OpenAI reports; its always-present details are kept only when above 0."""
    call.set_usage(
        input_tokens if number(input_tokens) else None,
        output_tokens if number(output_tokens) else None,
        cache_read_input_tokens=getattr(input_details, "cached_tokens", None) or None,
        cache_creation_input_tokens=getattr(input_details, "cache_write_tokens", None) or None,
        reasoning_output_tokens=getattr(output_details, "reasoning_tokens", None) or None,
    )


# -- chat completions ---------------------------------------------------------------------


def chat_input(messages: Any) -> list[dict[str, Any]] | None:
    """Chat messages as OpenTelemetry input messages; None for an iterable read only once."""
    if not isinstance(messages, (list, tuple)):
        return None
    converted = []
    for message in messages:
        fields = as_mapping(message)
        role = fields.get("role")
        parts: list[dict[str, Any]] = []
        if role == "tool":
            parts.append(tool_response_part(fields.get("tool_call_id"), fields.get("content")))
        else:
            content = fields.get("content")
            if isinstance(content, str):
                parts.append(text_part(content))
            elif isinstance(content, (list, tuple)):
                for item in content:
                    part = as_mapping(item)
                    if part.get("type") == "text":
                        parts.append(text_part(part.get("text")))
                    else:
                        parts.append(dict(part))
            for tool_call in fields.get("tool_calls") or ():
                tool = as_mapping(tool_call)
                function = as_mapping(tool.get("function"))
                parts.append(
                    tool_call_part(tool.get("id"), function.get("name"), function.get("arguments"))
                )
        converted.append({"role": role, "parts": parts})
    return converted


def chat_output(message: Any, finish_reason: Any) -> dict[str, Any]:
    """An output message from a `ChatCompletionMessage`, or from a stream's pieces put back
    into its shape (`_ChoiceSoFar.message`): one function for both, so the records agree."""
    parts: list[dict[str, Any]] = []
    content = field_of(message, "content")
    if content:
        parts.append(text_part(content))
    refusal = field_of(message, "refusal")
    if refusal:
        parts.append({"type": "refusal", "content": refusal})
    for tool_call in field_of(message, "tool_calls") or ():
        function = field_of(tool_call, "function")
        if function is not None:
            parts.append(
                tool_call_part(
                    field_of(tool_call, "id"),
                    field_of(function, "name"),
                    field_of(function, "arguments"),
                )
            )
    return {"role": "assistant", "parts": parts, "finish_reason": finish_reason}


class _ChoiceSoFar:
    """One choice of a chat stream: its text, refusal and tool calls from their deltas.

    Tool calls are told apart by `index` (parallel calls may interleave): the id and name
    come once, in the call's first delta, the arguments in pieces.
    """

    __slots__ = ("calls", "pieces")

    def __init__(self) -> None:
        self.pieces = Pieces()  # "content", "refusal", and a call's index for its arguments
        self.calls: dict[int, dict[str, Any]] = {}

    def add(self, delta: Any) -> None:
        if delta.content:
            self.pieces.add("content", delta.content)
        if delta.refusal:
            self.pieces.add("refusal", delta.refusal)
        for tool in delta.tool_calls or ():
            call = self.calls.setdefault(tool.index, {"id": None, "name": None})
            if tool.id and not call["id"]:
                call["id"] = tool.id
            function = tool.function
            if function is not None:
                if function.name and not call["name"]:
                    call["name"] = function.name
                self.pieces.add(tool.index, function.arguments)

    def message(self) -> dict[str, Any]:
        """The choice in the shape of a `ChatCompletionMessage`."""
        tool_calls = [
            {
                "id": call["id"],
                "function": {"name": call["name"], "arguments": self.pieces.text(index) or ""},
            }
            for index, call in sorted(self.calls.items())
        ]
        return {
            "content": self.pieces.text("content"),
            "refusal": self.pieces.text("refusal"),
            "tool_calls": tool_calls,
        }


class _ChatStream:
    """Follows a chat completion stream: ids, first content, each choice's message, usage."""

    def __init__(self, call: LlmCall) -> None:
        self.call = call
        self.choices: dict[int, _ChoiceSoFar] = {}
        self.reasons: dict[int, str] = {}

    def __call__(self, chunk: Any) -> None:
        call = self.call
        if call.response_id is None:
            call.response_id = chunk.id
            call.response_model = chunk.model
        for choice in chunk.choices:
            delta = choice.delta
            if delta is not None:
                if delta.content or delta.tool_calls or delta.refusal:
                    call.first_chunk()
                if call.capture_content:
                    so_far = self.choices.get(choice.index)
                    if so_far is None:
                        so_far = self.choices[choice.index] = _ChoiceSoFar()
                    so_far.add(delta)
            if choice.finish_reason:
                self.reasons[choice.index] = choice.finish_reason
        usage = chunk.usage
        if usage is not None:
            _usage_counts(
                call,
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.prompt_tokens_details,
                usage.completion_tokens_details,
            )

    def finish(self, call: LlmCall) -> None:
        if self.reasons:
            call.finish_reasons = [self.reasons[i] for i in sorted(self.reasons)]
        indexes = sorted(set(self.reasons) | set(self.choices))
        if call.capture_content and indexes:
            call.output_messages = [
                chat_output(
                    self.choices[i].message() if i in self.choices else {}, self.reasons.get(i)
                )
                for i in indexes
            ]


class _ChatHooks:
    def begin(self, resource: Any, kwargs: dict[str, Any]) -> LlmCall:
        call = _begin(resource, kwargs, "chat")
        if call.capture_content:
            call.input_messages = chat_input(kwargs.get("messages"))
        return call

    def end(self, call: LlmCall, result: Any) -> Any:
        from openai.types.chat import ChatCompletion

        if not isinstance(result, ChatCompletion):
            return watch(call, result, _ChatStream(call))
        call.response_id = result.id
        call.response_model = result.model
        call.finish_reasons = [choice.finish_reason for choice in result.choices]
        usage = result.usage
        if usage is not None:
            _usage_counts(
                call,
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.prompt_tokens_details,
                usage.completion_tokens_details,
            )
        if call.capture_content:
            call.output_messages = [
                chat_output(choice.message, choice.finish_reason) for choice in result.choices
            ]
        call.finish()
        return result


# -- responses ----------------------------------------------------------------------------


def _responses_input(value: Any) -> list[dict[str, Any]] | None:
    if isinstance(value, str):
        return [{"role": "user", "parts": [text_part(value)]}]
    if not isinstance(value, (list, tuple)):
        return None
    converted = []
    for item in value:
        fields = as_mapping(item)
        kind = fields.get("type", "message")
        if kind == "function_call_output":
            part = tool_response_part(fields.get("call_id"), fields.get("output"))
            converted.append({"role": "tool", "parts": [part]})
            continue
        if kind == "function_call":
            part = tool_call_part(
                fields.get("call_id"), fields.get("name"), fields.get("arguments")
            )
            converted.append({"role": "assistant", "parts": [part]})
            continue
        content = fields.get("content")
        parts: list[dict[str, Any]] = []
        if isinstance(content, str):
            parts.append(text_part(content))
        elif isinstance(content, (list, tuple)):
            for element in content:
                part_fields = as_mapping(element)
                if part_fields.get("type") in ("input_text", "output_text"):
                    parts.append(text_part(part_fields.get("text")))
                else:
                    parts.append(dict(part_fields))
        else:
            parts.append(dict(fields))
        converted.append({"role": fields.get("role", "user"), "parts": parts})
    return converted


def _output_parts(output: Any) -> tuple[list[dict[str, Any]], bool]:
    """The parts of a response's output items (SDK models, or a stream's items put back
    together as dicts), and whether a function was called."""
    parts: list[dict[str, Any]] = []
    tool_called = False
    for item in output or ():
        kind = field_of(item, "type")
        if kind == "message":
            for element in field_of(item, "content") or ():
                element_kind = field_of(element, "type")
                if element_kind == "output_text":
                    parts.append(text_part(field_of(element, "text")))
                elif element_kind == "refusal":
                    parts.append({"type": "refusal", "content": field_of(element, "refusal")})
        elif kind == "function_call":
            tool_called = True
            parts.append(
                tool_call_part(
                    field_of(item, "call_id"), field_of(item, "name"), field_of(item, "arguments")
                )
            )
    return parts, tool_called


def _fill_response(call: LlmCall, response: Any) -> None:
    call.response_id = response.id
    call.response_model = response.model
    usage = response.usage
    if usage is not None:
        _usage_counts(
            call,
            usage.input_tokens,
            usage.output_tokens,
            usage.input_tokens_details,
            usage.output_tokens_details,
        )
    details = response.incomplete_details
    parts, tool_called = _output_parts(response.output)
    if response.status == "incomplete" and details is not None and details.reason:
        reason = details.reason
    elif response.status == "failed":
        reason = "error"
    else:
        reason = "tool_calls" if tool_called else "stop"
    call.finish_reasons = [reason]
    if call.capture_content:
        call.output_messages = [{"role": "assistant", "parts": parts, "finish_reason": reason}]


class _ResponsesStream:
    """Follows a Responses stream: its first delta, the output items its events carry, then
    the final `Response` (which, when it comes, is the record's source, as when not streamed).

    A stream that ends without one (closed early, cut off) is recorded from the items put
    together from the events: text deltas, function calls with their argument deltas.
    """

    _FINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
    _TEXT = MappingProxyType(
        {"response.output_text.delta": "output_text", "response.refusal.delta": "refusal"}
    )

    def __init__(self, call: LlmCall) -> None:
        self.call = call
        self.final = False
        self.items: dict[int, dict[str, Any]] = {}
        self.pieces = Pieces()  # (output index, content index) or output index: its text

    def __call__(self, event: Any) -> None:
        kind = event.type
        call = self.call
        if kind.endswith(".delta"):
            call.first_chunk()
            if call.capture_content:
                self._delta(kind, event)
        elif kind == "response.created":
            call.response_id = event.response.id
            call.response_model = event.response.model
        elif kind in self._FINAL:
            self.final = True
            _fill_response(call, event.response)
        elif call.capture_content and kind in (
            "response.output_item.added",
            "response.output_item.done",
        ):
            item = event.item.model_dump(exclude_none=True)
            if kind == "response.output_item.done" or event.output_index not in self.items:
                self.items[event.output_index] = item

    def _delta(self, kind: str, event: Any) -> None:
        if kind == "response.function_call_arguments.delta":
            self.pieces.add(event.output_index, event.delta)
            return
        text_kind = self._TEXT.get(kind)
        if text_kind is not None:
            item = self.items.setdefault(event.output_index, {"type": "message", "content": []})
            content = item.setdefault("content", [])
            while len(content) <= event.content_index:
                content.append({"type": text_kind})
            self.pieces.add((event.output_index, event.content_index), event.delta)

    def finish(self, call: LlmCall) -> None:
        if self.final or not call.capture_content or not self.items:
            return
        output = []
        for index, item in sorted(self.items.items()):
            if (
                item.get("type") == "function_call"
                and index in self.pieces
                and item.get("status") != "completed"  # `.done` carries the whole arguments
            ):
                item["arguments"] = self.pieces.text(index)
            for position, element in enumerate(item.get("content") or ()):
                text = self.pieces.text((index, position))
                if text is not None and element.get("type") in ("output_text", "refusal"):
                    element["text" if element["type"] == "output_text" else "refusal"] = text
            output.append(item)
        parts, _ = _output_parts(output)
        call.output_messages = [{"role": "assistant", "parts": parts}]


class _ResponsesHooks:
    def begin(self, resource: Any, kwargs: dict[str, Any]) -> LlmCall:
        call = _begin(resource, kwargs, "chat")
        if call.capture_content:
            call.input_messages = _responses_input(kwargs.get("input"))
            instructions = kwargs.get("instructions")
            if isinstance(instructions, str):
                call.system_instructions = [text_part(instructions)]
        return call

    def end(self, call: LlmCall, result: Any) -> Any:
        from openai.types.responses import Response

        if not isinstance(result, Response):
            return watch(call, result, _ResponsesStream(call))
        _fill_response(call, result)
        call.finish()
        return result


# -- embeddings ---------------------------------------------------------------------------


class _EmbeddingsHooks:
    def begin(self, resource: Any, kwargs: dict[str, Any]) -> LlmCall:
        call = _begin(resource, kwargs, "embeddings")
        encoding = kwargs.get("encoding_format")
        if isinstance(encoding, str):
            call.request["encoding_formats"] = [encoding]
        return call

    def end(self, call: LlmCall, result: Any) -> Any:
        from openai.types import CreateEmbeddingResponse

        if isinstance(result, CreateEmbeddingResponse):
            call.response_model = result.model
            call.set_usage(result.usage.prompt_tokens)
        call.finish()
        return result


_CHAT = _ChatHooks()
_RESPONSES = _ResponsesHooks()
_EMBEDDINGS = _EmbeddingsHooks()
# `parse()` (structured outputs) posts on its own, not through `create()`; its parsed result
# is a subclass of the plain one, so the same hooks record it.
_METHODS: dict[object, tuple[str, ...]] = {
    _CHAT: ("create", "parse"),
    _RESPONSES: ("create", "parse"),
    _EMBEDDINGS: ("create",),
}
