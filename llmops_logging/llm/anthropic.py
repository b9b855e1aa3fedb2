"""instrument_anthropic(): an `llm_call` record for every Anthropic `messages.create` and
`messages.stream`, sync and async.

`create` (also with `stream=True`) is wrapped like the OpenAI methods. `messages.stream()`
sends its request only when its manager is entered, so the wrapper replaces the manager's
request with one that starts the call when it is sent and watches the raw event stream the
SDK's `MessageStream` reads. Anthropic reports input tokens without the cached ones; the
record's `gen_ai.usage.input_tokens` adds them back, as OpenTelemetry defines it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .._contract import token_count_ok
from ._call import LlmCall, note_internal_error
from ._content import Pieces, as_mapping, text_part, tool_call_part, tool_response_part
from ._patch import Hooks, Sending, Wrap, count_requests
from ._sdk import Patch, instrument, new_call
from ._streams import watch

if TYPE_CHECKING:
    from anthropic import Anthropic, AsyncAnthropic

_MISSING_SDK = "ll.instrument_anthropic() needs the anthropic package: pip install anthropic"
_MANAGER_REQUEST = "_MessageStreamManager__api_request"
_ASYNC_MANAGER_REQUEST = "_AsyncMessageStreamManager__api_request"


class SdkShapeChanged(Exception):
    """The SDK no longer has the private attribute a hook relies on."""


def instrument_anthropic(client: Anthropic | AsyncAnthropic | None = None) -> None:
    """Record every call through `client`, or through every Anthropic / AsyncAnthropic client.

    Idempotent; a client made later by `client.with_options()` is covered only class-wide.
    """
    instrument("anthropic", _MISSING_SDK, _classes, _resources, client)


def _classes() -> list[Patch]:
    from anthropic.resources.messages import AsyncMessages, Messages

    return [(cls, name, _PATCHES[name]) for cls in (Messages, AsyncMessages) for name in _PATCHES]


def _resources(client: Any) -> list[Patch]:
    return [(client.messages, name, _PATCHES[name]) for name in _PATCHES]


# -- the record from the SDK's types --------------------------------------------------------

_PARAMS = MappingProxyType({"max_tokens": "max_tokens"})  # the only sampling one of this API


def _begin(kwargs: dict[str, Any]) -> LlmCall:
    call = new_call(kwargs.get("model"), "anthropic", kwargs, _PARAMS)
    if call.capture_content:
        call.input_messages = _input_messages(kwargs.get("messages"))
        system = kwargs.get("system")
        if isinstance(system, str):
            call.system_instructions = [text_part(system)]
        elif isinstance(system, (list, tuple)):
            call.system_instructions = [_part(block) for block in system]
    return call


def _part(block: Any) -> dict[str, Any]:
    """An Anthropic content block (a request dict or a response model) as a message part."""
    fields = as_mapping(block)
    kind = fields.get("type")
    if kind == "text":
        return text_part(fields.get("text"))
    if kind == "tool_use":
        return tool_call_part(fields.get("id"), fields.get("name"), fields.get("input"))
    if kind == "tool_result":
        return tool_response_part(fields.get("tool_use_id"), fields.get("content"))
    if kind == "thinking":
        return {"type": "reasoning", "content": fields.get("thinking")}
    return dict(fields)


def _input_messages(messages: Any) -> list[dict[str, Any]] | None:
    if not isinstance(messages, (list, tuple)):
        return None  # an iterable the SDK must read itself
    converted = []
    for message in messages:
        fields = as_mapping(message)
        content = fields.get("content")
        if isinstance(content, str):
            parts = [text_part(content)]
        else:
            parts = [_part(block) for block in content or ()]
        converted.append({"role": fields.get("role"), "parts": parts})
    return converted


def _usage(call: LlmCall, usage: Any) -> None:
    """Anthropic's counts; input as OpenTelemetry counts it, cache reads and writes included."""
    cache_read = getattr(usage, "cache_read_input_tokens", None)
    cache_write = getattr(usage, "cache_creation_input_tokens", None)
    uncached = getattr(usage, "input_tokens", None)
    details = getattr(usage, "output_tokens_details", None)
    parts: tuple[Any, ...] = (uncached, cache_read or 0, cache_write or 0)
    call.set_usage(  # a count that is no count is kept as sent, and flagged when written
        sum(parts) if all(token_count_ok(part) for part in parts) else uncached,
        getattr(usage, "output_tokens", None),
        cache_read_input_tokens=cache_read or None,  # as for OpenAI: parts above 0 only
        cache_creation_input_tokens=cache_write or None,
        reasoning_output_tokens=getattr(details, "thinking_tokens", None) or None,
    )


def _fill_message(call: LlmCall, message: Any) -> None:
    call.response_id = message.id
    call.response_model = message.model
    if message.stop_reason:
        call.finish_reasons = [message.stop_reason]
    _usage(call, message.usage)
    if call.capture_content:
        call.output_messages = [
            {
                "role": "assistant",
                "parts": [_part(block) for block in message.content],
                "finish_reason": message.stop_reason,
            }
        ]


class _Counts:
    """The usage of a `message_delta` (cumulative; input counts only on some APIs) over the
    counts `message_start` reported."""

    def __init__(self, start: Any, delta: Any) -> None:
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
            "output_tokens_details",
        ):
            value = getattr(delta, name, None)
            setattr(self, name, getattr(start, name, None) if value is None else value)


_TEXT_FIELDS = {"text_delta": "text", "thinking_delta": "thinking"}
"""The deltas that add text to a block field, and that field."""


class _EventStream:
    """Follows raw message stream events: ids, first content, the content blocks, usage.

    Each block is put back together as the SDK does (its `content_block_start`, then its
    deltas: text, thinking, a signature, citations, a tool's input as pieces of JSON) and
    converted by `_part`, like a block of a message not streamed. A tool input cut off midway
    is kept as the JSON text received: `{}` would read as a call made with no arguments.
    """

    def __init__(self, call: LlmCall) -> None:
        self.call = call
        self.blocks: dict[int, dict[str, Any]] = {}
        self.pieces = Pieces()  # (block index, field): text, thinking, the input's JSON
        self.usage: Any = None
        self.stop_reason: str | None = None

    def __call__(self, event: Any) -> None:
        kind = event.type
        call = self.call
        if kind == "content_block_delta":
            call.first_chunk()
            if call.capture_content:
                self._delta(event.index, event.delta)
        elif kind == "content_block_start":
            if call.capture_content:
                self.blocks[event.index] = dict(as_mapping(event.content_block))
        elif kind == "message_start":
            call.response_id = event.message.id
            call.response_model = event.message.model
            self.usage = event.message.usage
            _usage(call, self.usage)
        elif kind == "message_delta":
            if event.delta.stop_reason:
                self.stop_reason = event.delta.stop_reason
            _usage(call, _Counts(self.usage, event.usage))

    def _delta(self, index: int, delta: Any) -> None:
        kind = delta.type
        field = _TEXT_FIELDS.get(kind)
        if field is not None:
            self.pieces.add((index, field), getattr(delta, field, None))
        elif kind == "input_json_delta":
            self.pieces.add((index, "input"), delta.partial_json)
        else:
            block = self.blocks.setdefault(index, {})
            if kind == "signature_delta":
                block["signature"] = delta.signature
            elif kind == "citations_delta":
                citation = as_mapping(delta.citation)
                block.setdefault("citations", []).append(dict(citation))

    def _block(self, index: int) -> dict[str, Any]:
        block = dict(self.blocks.get(index) or {"type": "text"})
        for field in ("text", "thinking"):
            text = self.pieces.text((index, field))
            if text is not None:
                block[field] = block.get(field, "") + text
        arguments = self.pieces.text((index, "input"))
        if arguments is not None:
            try:
                block["input"] = json.loads(arguments)
            except (ValueError, RecursionError):  # cut off, or nested beyond reading
                block["input"] = arguments
        return block

    def finish(self, call: LlmCall) -> None:
        if self.stop_reason:
            call.finish_reasons = [self.stop_reason]
        indexes = set(self.blocks) | {key[0] for key in self.pieces}
        if call.capture_content and indexes:
            parts = [_part(self._block(index)) for index in sorted(indexes)]
            call.output_messages = [
                {"role": "assistant", "parts": parts, "finish_reason": self.stop_reason}
            ]


class _CreateHooks:
    def begin(self, resource: Any, kwargs: dict[str, Any]) -> LlmCall:
        return _begin(kwargs)

    def end(self, call: LlmCall, result: Any) -> Any:
        from anthropic.types import Message

        if not isinstance(result, Message):
            return watch(call, result, _EventStream(call))
        _fill_message(call, result)
        call.finish()
        return result


_CREATE = _CreateHooks()


# -- messages.stream(): the request is sent when the manager is entered ----------------------


def _sync_request(
    request: Callable[[], Any], resource: Any, kwargs: dict[str, Any]
) -> Callable[[], Any]:
    def send() -> Any:
        with Sending(_CREATE, resource, kwargs) as sending:
            stream = request()
        return sending.end(stream)

    return send


async def _async_request(request: Awaitable[Any], resource: Any, kwargs: dict[str, Any]) -> Any:
    with Sending(_CREATE, resource, kwargs) as sending:
        stream = await request
    return sending.end(stream)


def _instrument_manager(manager: Any, resource: Any, kwargs: dict[str, Any]) -> None:
    try:
        count_requests(resource)
        if hasattr(manager, _MANAGER_REQUEST):
            request = getattr(manager, _MANAGER_REQUEST)
            setattr(manager, _MANAGER_REQUEST, _sync_request(request, resource, kwargs))
        elif hasattr(manager, _ASYNC_MANAGER_REQUEST):
            request = getattr(manager, _ASYNC_MANAGER_REQUEST)
            setattr(manager, _ASYNC_MANAGER_REQUEST, _async_request(request, resource, kwargs))
        else:  # the SDK's private hook moved: say so rather than silently record nothing
            raise SdkShapeChanged(
                f"{type(manager).__name__} has no {_MANAGER_REQUEST} nor"
                f" {_ASYNC_MANAGER_REQUEST}: messages.stream() calls are not recorded"
            )
    except Exception:
        note_internal_error()


def _stream_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def stream(self: Any, *args: Any, **kwargs: Any) -> Any:
        manager = original(self, *args, **kwargs)
        _instrument_manager(manager, self, kwargs)
        return manager

    return stream


_PATCHES: dict[str, Hooks | Wrap] = {"create": _CREATE, "stream": _stream_wrapper}
