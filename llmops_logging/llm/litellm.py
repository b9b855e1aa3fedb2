"""instrument_litellm(): an `llm_call` record for every model call LiteLLM makes, whatever the
provider it reaches (Bedrock, Vertex AI, Mistral, Ollama, ...), through LiteLLM's callbacks.

The call opens when LiteLLM is about to send it (`log_pre_api_call`, which runs in the
caller's thread or task, so the record belongs to the caller's run and step) as a framework's
view of the call (`_once.FRAMEWORK`): where an instrumented SDK underneath records the same
call (LiteLLM reaches OpenAI through the OpenAI SDK), that record is the one written and
counted. It encloses only until LiteLLM has the response (`log_post_api_call`). It is written
when LiteLLM reports success or failure, often later and on LiteLLM's own thread, with the
times LiteLLM measured. The cost is the price table's (the user's prices, then genai-prices:
every instrumentation's calls priced alike); LiteLLM's `response_cost` only where those know
no price for the model. Content is in LiteLLM's (OpenAI's) message shape, converted as for
the OpenAI SDK.
"""

from __future__ import annotations

import threading
from datetime import datetime
from types import MappingProxyType
from typing import Any

from .._contract import cost_ok
from . import _once
from ._bounded import Bounded
from ._call import LlmCall, note_internal_error
from ._cost import Cost
from ._sdk import new_call, require
from .openai import chat_input, chat_output

_MISSING = (
    "ll.instrument_litellm() needs the litellm package: pip install 'llmops-logging[litellm]'"
)
LITELLM_COST_SOURCE = "litellm"
_PROVIDERS = MappingProxyType(
    {
        "azure": "azure.ai.openai",
        "azure_ai": "azure.ai.inference",
        "bedrock": "aws.bedrock",
        "vertex_ai": "gcp.vertex_ai",
        "vertex_ai_beta": "gcp.vertex_ai",
        "gemini": "gcp.gemini",
        "mistral": "mistral_ai",
        "xai": "x_ai",
        "watsonx": "ibm.watsonx.ai",
    }
)
"""LiteLLM's provider names whose OpenTelemetry `gen_ai.provider.name` differs (others: kept)."""
_PARAMS = MappingProxyType(
    {
        "temperature": "temperature",
        "top_p": "top_p",
        "top_k": "top_k",
        "max_tokens": "max_tokens",
        "max_completion_tokens": "max_tokens",
        "seed": "seed",
        "frequency_penalty": "frequency_penalty",
        "presence_penalty": "presence_penalty",
    }
)


def instrument_litellm() -> None:
    """Record every LiteLLM call (sync, async, streamed); idempotent."""
    require("litellm", _MISSING)
    import litellm

    with _lock:
        global _handler
        if _handler is None:
            _handler = _make_handler()
        if not any(callback is _handler for callback in litellm.callbacks):
            litellm.callbacks.append(_handler)


_lock = threading.Lock()
_handler: Any = None


class _Calls:
    """The calls LiteLLM has begun, by its `litellm_call_id` (bounded: LiteLLM may never
    report some, a dropped stream)."""

    def __init__(self) -> None:
        self._calls: Bounded[str, LlmCall] = Bounded()

    def begin(self, details: dict[str, Any]) -> None:
        call_id = details.get("litellm_call_id")
        if not isinstance(call_id, str):
            return
        if call_id in self._calls:  # a retry of the same call
            return
        for earlier in self._calls.values():  # never enclosing the next call
            _once.release(earlier)
        call = _begin(details)
        _once.enclose(call)
        self._calls[call_id] = call

    def sent(self, details: dict[str, Any]) -> None:
        call = self._get(details, pop=False)
        if call is not None:
            _once.release(call)

    def end(
        self, details: dict[str, Any], response: Any, start: Any, end: Any, failed: bool
    ) -> None:
        call = self._get(details, pop=True)
        if call is None:
            return
        try:
            _times(call, details, end)
            if failed:
                error = details.get("exception")
                call.finish(error if isinstance(error, BaseException) else RuntimeError(error))
                return
            _fill(call, details, response)
        except Exception:
            note_internal_error()
        call.finish()

    def _get(self, details: dict[str, Any], pop: bool) -> LlmCall | None:
        call_id = details.get("litellm_call_id")
        if not isinstance(call_id, str):
            return None
        return self._calls.pop(call_id) if pop else self._calls.get(call_id)


_calls = _Calls()


def _make_handler() -> Any:
    from litellm.integrations.custom_logger import CustomLogger

    class LlmopsLogging(CustomLogger):  # type: ignore[misc,unused-ignore]
        """LiteLLM callbacks that write `llm_call` records; failures never reach LiteLLM."""

        def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
            _guarded(_calls.begin, kwargs)

        def log_post_api_call(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            _guarded(_calls.sent, kwargs)

        def log_success_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            _guarded(_calls.end, kwargs, response_obj, start_time, end_time, False)

        def log_failure_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            _guarded(_calls.end, kwargs, response_obj, start_time, end_time, True)

        async def async_log_success_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            _guarded(_calls.end, kwargs, response_obj, start_time, end_time, False)

        async def async_log_failure_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            _guarded(_calls.end, kwargs, response_obj, start_time, end_time, True)

    return LlmopsLogging()


def _guarded(function: Any, *args: Any) -> None:
    try:
        if isinstance(args[0], dict):
            function(*args)
    except Exception:
        note_internal_error()


def _begin(details: dict[str, Any]) -> LlmCall:
    params = details.get("litellm_params") or {}
    provider = params.get("custom_llm_provider") if isinstance(params, dict) else None
    provider = provider if isinstance(provider, str) and provider else "litellm"
    kind = str(details.get("call_type") or "")
    call = new_call(
        details.get("model"),
        _PROVIDERS.get(provider, provider),
        details.get("optional_params"),
        _PARAMS,
        stop="stop",
        operation="embeddings" if "embedding" in kind else "chat",
    )
    if call.capture_content and call.operation == "chat":
        call.input_messages = chat_input(details.get("messages"))
    return call


def _seconds(later: Any, earlier: Any) -> float | None:
    if isinstance(later, datetime) and isinstance(earlier, datetime):
        seconds = (later - earlier).total_seconds()
        return seconds if seconds >= 0 else None
    return None


def _times(call: LlmCall, details: dict[str, Any], end: Any) -> None:
    """LiteLLM's own times from when it sent the call: the report may come much later."""
    sent = details.get("api_call_start_time")
    duration = _seconds(end, sent)
    if duration is not None:
        first = details.get("completion_start_time") if details.get("stream") else None
        call.timed(duration, _seconds(first, sent))


def _fill(call: LlmCall, details: dict[str, Any], response: Any) -> None:
    call.response_id = getattr(response, "id", None)
    model = getattr(response, "model", None)
    call.response_model = model if isinstance(model, str) else None
    usage = getattr(response, "usage", None)
    if usage is not None:
        prompt = getattr(usage, "prompt_tokens_details", None)
        completion = getattr(usage, "completion_tokens_details", None)
        call.set_usage(
            getattr(usage, "prompt_tokens", None),
            getattr(usage, "completion_tokens", None),
            cache_read_input_tokens=getattr(prompt, "cached_tokens", None) or None,
            cache_creation_input_tokens=getattr(usage, "cache_creation_input_tokens", None) or None,
            reasoning_output_tokens=getattr(completion, "reasoning_tokens", None) or None,
        )
    cost = details.get("response_cost")
    if isinstance(cost, (int, float)) and cost_ok(cost):
        call.fallback_cost = Cost(float(cost), LITELLM_COST_SOURCE)
    choices = getattr(response, "choices", None)
    if call.operation != "chat" or not isinstance(choices, list):
        return
    reasons = [getattr(choice, "finish_reason", None) for choice in choices]
    call.finish_reasons = [r for r in reasons if isinstance(r, str)] or None
    if call.capture_content:
        call.output_messages = [
            chat_output(getattr(choice, "message", None), reason)
            for choice, reason in zip(choices, reasons, strict=True)
        ]
