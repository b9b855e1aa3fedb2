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
from typing import TYPE_CHECKING, Any

from .. import _price_table
from ._call import LlmCall
from ._content import as_mapping, text_part, tool_call_part, tool_response_part
from ._patch import attempts_of, wrap_class, wrap_instance
from ._streams import watch_async_stream, watch_stream

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI

_MISSING_SDK = "ll.instrument_openai() needs the openai package: pip install openai"


def instrument_openai(client: OpenAI | AsyncOpenAI | None = None) -> None:
    """Record every call through `client`, or through every OpenAI / AsyncOpenAI client.

    Idempotent; a client made later by `client.with_options()` is covered only class-wide.
    """
    try:
        import openai  # noqa: F401
    except ImportError as exc:
        raise ImportError(_MISSING_SDK) from exc
    from openai.resources.chat.completions import AsyncCompletions, Completions
    from openai.resources.embeddings import AsyncEmbeddings, Embeddings
    from openai.resources.responses import AsyncResponses, Responses

    _price_table.preload()
    if client is None:
        for cls, hooks in (
            (Completions, _CHAT),
            (AsyncCompletions, _CHAT),
            (Responses, _RESPONSES),
            (AsyncResponses, _RESPONSES),
            (Embeddings, _EMBEDDINGS),
            (AsyncEmbeddings, _EMBEDDINGS),
        ):
            for name in _METHODS[hooks]:
                wrap_class(cls, name, hooks)
        return
    for resource, hooks in (
        (client.chat.completions, _CHAT),
        (client.responses, _RESPONSES),
        (client.embeddings, _EMBEDDINGS),
    ):
        for name in _METHODS[hooks]:
            wrap_instance(resource, name, hooks)


# -- shared -------------------------------------------------------------------------------


def _provider(resource: Any) -> str:
    client = getattr(resource, "_client", None)
    return "azure.ai.openai" if "Azure" in type(client).__name__ else "openai"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _begin(resource: Any, kwargs: Mapping[str, Any], operation: str) -> LlmCall:
    model = kwargs.get("model")
    name = model if isinstance(model, str) else "unknown"
    call = LlmCall(name, provider=_provider(resource), operation=operation)
    for param, key in (
        ("temperature", "temperature"),
        ("top_p", "top_p"),
        ("max_tokens", "max_tokens"),
        ("max_completion_tokens", "max_tokens"),
        ("max_output_tokens", "max_tokens"),
        ("seed", "seed"),
        ("frequency_penalty", "frequency_penalty"),
        ("presence_penalty", "presence_penalty"),
    ):
        value = kwargs.get(param)
        if _number(value):
            call.request[key] = value
    n = kwargs.get("n")
    if _number(n) and n != 1:
        call.request["choice"] = {"count": n}
    stop = kwargs.get("stop")
    if isinstance(stop, str):
        call.request["stop_sequences"] = [stop]
    elif isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
        call.request["stop_sequences"] = list(stop)
    return call.start()


def _usage_counts(
    call: LlmCall,
    input_tokens: Any,
    output_tokens: Any,
    input_details: Any,
    output_details: Any,
) -> None:
    """The counts OpenAI reports; its always-present details are kept only when above 0."""
    call.set_usage(
        input_tokens if _number(input_tokens) else None,
        output_tokens if _number(output_tokens) else None,
        cache_read_input_tokens=getattr(input_details, "cached_tokens", None) or None,
        cache_creation_input_tokens=getattr(input_details, "cache_write_tokens", None) or None,
        reasoning_output_tokens=getattr(output_details, "reasoning_tokens", None) or None,
    )


def _end_stream(call: LlmCall, stream: Any, observer: Any) -> None:
    """Watch a returned stream, or finish at once if `stream` is not one."""
    from openai import AsyncStream, Stream

    if call.attempts is None:
        call.attempts = attempts_of(stream)
    call.on_finish = observer.finish
    if isinstance(stream, Stream):
        watched = watch_stream(stream, call, observer)
    elif isinstance(stream, AsyncStream):
        watched = watch_async_stream(stream, call, observer)
    else:
        watched = False
    if not watched:
        call.finish()


# -- chat completions ---------------------------------------------------------------------


def _chat_input(messages: Any) -> list[dict[str, Any]] | None:
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


def _chat_output(message: Any, finish_reason: Any) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if message.content:
        parts.append(text_part(message.content))
    if getattr(message, "refusal", None):
        parts.append({"type": "refusal", "content": message.refusal})
    for tool_call in getattr(message, "tool_calls", None) or ():
        function = getattr(tool_call, "function", None)
        if function is not None:
            parts.append(tool_call_part(tool_call.id, function.name, function.arguments))
    return {"role": "assistant", "parts": parts, "finish_reason": finish_reason}


class _ChatStream:
    """Follows a chat completion stream: ids, first content, text per choice, usage."""

    def __init__(self, call: LlmCall) -> None:
        self.call = call
        self.texts: dict[int, list[str]] = {}
        self.reasons: dict[int, str] = {}

    def __call__(self, chunk: Any) -> None:
        call = self.call
        if call.response_id is None:
            call.response_id = chunk.id
            call.response_model = chunk.model
        for choice in chunk.choices:
            delta = choice.delta
            if delta is not None and (delta.content or delta.tool_calls or delta.refusal):
                call.first_chunk()
                if delta.content and call.capture_content:
                    self.texts.setdefault(choice.index, []).append(delta.content)
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
        indexes = sorted(set(self.reasons) | set(self.texts))
        if self.reasons:
            call.finish_reasons = [self.reasons[i] for i in sorted(self.reasons)]
        if call.capture_content and indexes:
            call.output_messages = [
                {
                    "role": "assistant",
                    "parts": [text_part("".join(self.texts[i]))] if i in self.texts else [],
                    "finish_reason": self.reasons.get(i),
                }
                for i in indexes
            ]


class _ChatHooks:
    def begin(self, resource: Any, kwargs: dict[str, Any]) -> LlmCall:
        call = _begin(resource, kwargs, "chat")
        if call.capture_content:
            call.input_messages = _chat_input(kwargs.get("messages"))
        return call

    def end(self, call: LlmCall, result: Any) -> None:
        from openai.types.chat import ChatCompletion

        if not isinstance(result, ChatCompletion):
            _end_stream(call, result, _ChatStream(call))
            return
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
                _chat_output(choice.message, choice.finish_reason) for choice in result.choices
            ]
        call.finish()


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
    parts: list[dict[str, Any]] = []
    tool_called = False
    for item in response.output or ():
        if item.type == "message":
            for element in item.content:
                if element.type == "output_text":
                    parts.append(text_part(element.text))
                elif element.type == "refusal":
                    parts.append({"type": "refusal", "content": element.refusal})
        elif item.type == "function_call":
            tool_called = True
            parts.append(tool_call_part(item.call_id, item.name, item.arguments))
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
    """Follows a Responses stream: its first delta, then the final `Response` it carries."""

    _FINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})

    def __init__(self, call: LlmCall) -> None:
        self.call = call

    def __call__(self, event: Any) -> None:
        kind = event.type
        if kind.endswith(".delta"):
            self.call.first_chunk()
        elif kind == "response.created":
            self.call.response_id = event.response.id
            self.call.response_model = event.response.model
        elif kind in self._FINAL:
            _fill_response(self.call, event.response)

    def finish(self, call: LlmCall) -> None:
        return None


class _ResponsesHooks:
    def begin(self, resource: Any, kwargs: dict[str, Any]) -> LlmCall:
        call = _begin(resource, kwargs, "chat")
        if call.capture_content:
            call.input_messages = _responses_input(kwargs.get("input"))
            instructions = kwargs.get("instructions")
            if isinstance(instructions, str):
                call.system_instructions = [text_part(instructions)]
        return call

    def end(self, call: LlmCall, result: Any) -> None:
        from openai.types.responses import Response

        if not isinstance(result, Response):
            _end_stream(call, result, _ResponsesStream(call))
            return
        _fill_response(call, result)
        call.finish()


# -- embeddings ---------------------------------------------------------------------------


class _EmbeddingsHooks:
    def begin(self, resource: Any, kwargs: dict[str, Any]) -> LlmCall:
        call = _begin(resource, kwargs, "embeddings")
        encoding = kwargs.get("encoding_format")
        if isinstance(encoding, str):
            call.request["encoding_formats"] = [encoding]
        return call

    def end(self, call: LlmCall, result: Any) -> None:
        from openai.types import CreateEmbeddingResponse

        if isinstance(result, CreateEmbeddingResponse):
            call.response_model = result.model
            call.set_usage(result.usage.prompt_tokens)
        call.finish()


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
