"""A streamed reply is recorded like the same reply not streamed: text, parallel tool calls
with their ids, names and arguments, finish reasons and usage, for the real OpenAI and
Anthropic SDKs against the local fake server (which streams tool calls as the providers do:
arguments in pieces, OpenAI's calls interleaved by index)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from anthropic.resources.messages import AsyncMessages, Messages
from openai.resources.chat.completions import AsyncCompletions, Completions
from openai.resources.responses import AsyncResponses, Responses

import llmops_logging as ll

from ..conftest import read_records

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))  # one fake server
import fake_llm
from fake_llm import FakeLLM, Reply

ASK = "Where are orders A-1001 and A-1002?"
MESSAGES = [{"role": "user", "content": ASK}]
SCHEMA = {"type": "object", "properties": {"order_id": {"type": "string"}}}
NAMES = ("get_order", "track_parcel")
CHAT_TOOLS = [
    {"type": "function", "function": {"name": name, "parameters": SCHEMA}} for name in NAMES
]
RESPONSES_TOOLS = [{"type": "function", "name": name, "parameters": SCHEMA} for name in NAMES]
ANTHROPIC_TOOLS = [{"name": name, "input_schema": SCHEMA} for name in NAMES]
ARGUMENTS = [{"order_id": "A-1001"}, {"order_id": "A-1002"}]
ANTHROPIC_MODEL = "claude-sonnet-4-6"

DIFFERING = frozenset({"ts", "seq", "event_id", "step_id", "duration_s", "ttft_s"})
"""What legitimately differs between two calls: times, identities and the stream's own ttft."""


@pytest.fixture(autouse=True)
def _restore_sdk_classes() -> Iterator[None]:
    classes = (Completions, AsyncCompletions, Responses, AsyncResponses, Messages, AsyncMessages)
    saved = {(c, n): c.__dict__[n] for c in classes for n in ("create", "stream", "parse")
             if n in c.__dict__}  # fmt: skip
    yield
    for (cls, name), function in saved.items():
        setattr(cls, name, function)


def _calls(log_dir: Path) -> list[dict[str, Any]]:
    return [r for r in read_records(log_dir) if r["kind"] == "llm_call"]


def _assert_same_record(plain: dict[str, Any], streamed: dict[str, Any]) -> None:
    """Field by field, except what differs between any two calls; the stream has its ttft."""
    assert "ttft_s" not in plain and 0 <= streamed["ttft_s"] <= streamed["duration_s"]
    assert "stream_incomplete" not in streamed
    left = {k: v for k, v in plain.items() if k not in DIFFERING}
    right = {k: v for k, v in streamed.items() if k not in DIFFERING}
    assert right == left


def _openai(server: FakeLLM) -> openai.OpenAI:
    client = openai.OpenAI(base_url=server.openai_url, api_key="sk-test", max_retries=0)
    ll.instrument_openai(client)
    return client


def _anthropic(server: FakeLLM) -> anthropic.Anthropic:
    client = anthropic.Anthropic(base_url=server.anthropic_url, api_key="sk-ant", max_retries=0)
    ll.instrument_anthropic(client)
    return client


# -- OpenAI chat completions -----------------------------------------------------------------


def _chat_tool_parts() -> list[dict[str, Any]]:
    return [
        {"type": "tool_call", "id": f"call_{i}", "name": name, "arguments": json.dumps(args)}
        for i, (name, args) in enumerate(zip(NAMES, ARGUMENTS, strict=True), start=1)
    ]


@pytest.mark.parametrize("tools", [True, False], ids=["tool-calls", "text"])
def test_chat_stream_is_recorded_like_the_reply_not_streamed(
    tmp_path: Path, server: FakeLLM, tools: bool
) -> None:
    ll.configure(tmp_path)
    client = _openai(server)
    options: dict[str, Any] = {"tools": CHAT_TOOLS} if tools else {}
    with ll.run("agent"):
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, **options)
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True,
            stream_options={"include_usage": True}, **options,
        )  # fmt: skip
        chunks = list(stream)
    if tools:  # what the SDK saw: the arguments came in pieces, the two calls interleaved
        deltas = [d for c in chunks if c.choices for d in c.choices[0].delta.tool_calls or ()]
        assert [d.index for d in deltas[2:6]] == [0, 1, 0, 1]
        assert len(reply.choices[0].message.tool_calls or ()) == 2
    plain, streamed = _calls(tmp_path)
    output = plain["gen_ai"]["output"]["messages"]
    if tools:
        assert output == [
            {"role": "assistant", "parts": _chat_tool_parts(), "finish_reason": "tool_calls"}
        ]
        assert plain["gen_ai"]["response"]["finish_reasons"] == ["tool_calls"]
    else:
        assert output[0]["parts"] == [{"type": "text", "content": fake_llm.REPLY}]
    _assert_same_record(plain, streamed)


def test_async_chat_stream_with_tool_calls_is_recorded_like_the_reply_not_streamed(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)

    async def main() -> None:
        client = openai.AsyncOpenAI(base_url=server.openai_url, api_key="sk-test", max_retries=0)
        ll.instrument_openai(client)
        async with ll.run("agent"):
            await client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, tools=CHAT_TOOLS
            )
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, tools=CHAT_TOOLS, stream=True,
                stream_options={"include_usage": True},
            )  # fmt: skip
            async for _ in stream:
                pass
        await client.close()

    asyncio.run(main())
    plain, streamed = _calls(tmp_path)
    assert plain["gen_ai"]["output"]["messages"][0]["parts"] == _chat_tool_parts()
    _assert_same_record(plain, streamed)


# -- OpenAI responses ------------------------------------------------------------------------


@pytest.mark.parametrize("tools", [True, False], ids=["function-calls", "text"])
def test_responses_stream_is_recorded_like_the_response_not_streamed(
    tmp_path: Path, server: FakeLLM, tools: bool
) -> None:
    ll.configure(tmp_path)
    client = _openai(server)
    options: dict[str, Any] = {"tools": RESPONSES_TOOLS} if tools else {}
    client.responses.create(model="gpt-4o-mini", input=ASK, **options)
    events = list(client.responses.create(model="gpt-4o-mini", input=ASK, stream=True, **options))
    plain, streamed = _calls(tmp_path)
    if tools:
        kinds = [e.type for e in events]
        assert kinds.count("response.function_call_arguments.delta") > 2 * 2
        assert plain["gen_ai"]["output"]["messages"] == [
            {"role": "assistant", "parts": _chat_tool_parts(), "finish_reason": "tool_calls"}
        ]
    _assert_same_record(plain, streamed)


def test_responses_stream_closed_before_its_end_keeps_the_function_calls_it_read(
    tmp_path: Path, server: FakeLLM
) -> None:
    """Without the final `response.completed`, the calls come from the function-call events."""
    ll.configure(tmp_path)
    client = _openai(server)
    stream = client.responses.create(
        model="gpt-4o-mini", input=ASK, tools=RESPONSES_TOOLS, stream=True
    )
    for event in stream:
        if event.type == "response.output_item.done" and event.output_index == 1:
            break
    stream.close()
    (record,) = _calls(tmp_path)
    assert record["stream_incomplete"] is True
    assert record["gen_ai"]["output"]["messages"] == [
        {"role": "assistant", "parts": _chat_tool_parts()}
    ]


# -- Anthropic messages ----------------------------------------------------------------------


def _anthropic_parts() -> list[dict[str, Any]]:
    calls = [
        {"type": "tool_call", "id": f"toolu_{i}", "name": name, "arguments": args}
        for i, (name, args) in enumerate(zip(NAMES, ARGUMENTS, strict=True), start=1)
    ]
    return [{"type": "text", "content": fake_llm.TOOL_PREAMBLE}, *calls]


def _blocks(content: list[Any]) -> list[tuple[Any, ...]]:
    return [(b.type, getattr(b, "text", None), getattr(b, "input", None)) for b in content]


@pytest.mark.parametrize("tools", [True, False], ids=["tool-use", "text"])
@pytest.mark.parametrize("how", ["create-stream-true", "stream-helper"])
def test_anthropic_stream_is_recorded_like_the_message_not_streamed(
    tmp_path: Path, server: FakeLLM, tools: bool, how: str
) -> None:
    ll.configure(tmp_path)
    client = _anthropic(server)
    options: dict[str, Any] = {"tools": ANTHROPIC_TOOLS} if tools else {}
    request: dict[str, Any] = {"model": ANTHROPIC_MODEL, "max_tokens": 200, "messages": MESSAGES}
    with ll.run("agent"):
        message = client.messages.create(**request, **options)
        if how == "stream-helper":
            with client.messages.stream(**request, **options) as stream:
                final = stream.get_final_message()
            # the SDK put the same message together
            assert _blocks(final.content) == _blocks(message.content)
        else:
            events = list(client.messages.create(**request, **options, stream=True))
            deltas = [e.delta for e in events if e.type == "content_block_delta"]
            json_deltas = [d for d in deltas if d.type == "input_json_delta"]
            assert len(json_deltas) > 2 * 2 if tools else not json_deltas
    plain, streamed = _calls(tmp_path)
    if tools:
        assert plain["gen_ai"]["output"]["messages"] == [
            {"role": "assistant", "parts": _anthropic_parts(), "finish_reason": "tool_use"}
        ]
    _assert_same_record(plain, streamed)


def test_async_anthropic_streams_are_recorded_like_the_message_not_streamed(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    request: dict[str, Any] = {
        "model": ANTHROPIC_MODEL, "max_tokens": 200, "messages": MESSAGES,
        "tools": ANTHROPIC_TOOLS,
    }  # fmt: skip

    async def main() -> None:
        client = anthropic.AsyncAnthropic(
            base_url=server.anthropic_url, api_key="sk-ant", max_retries=0
        )
        ll.instrument_anthropic(client)
        await client.messages.create(**request)
        async for _ in await client.messages.create(**request, stream=True):
            pass
        async with client.messages.stream(**request) as stream:
            await stream.get_final_message()
        await client.close()

    asyncio.run(main())
    plain, created, helper = _calls(tmp_path)
    assert plain["gen_ai"]["output"]["messages"][0]["parts"] == _anthropic_parts()
    _assert_same_record(plain, created)
    _assert_same_record(plain, helper)


def test_anthropic_tool_input_cut_off_midway_is_kept_as_the_text_received(
    tmp_path: Path, server: FakeLLM
) -> None:
    """A stream closed inside a tool's input: the JSON read so far, never an empty `{}`."""
    ll.configure(tmp_path)
    client = _anthropic(server)
    stream = client.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=200, messages=MESSAGES, tools=ANTHROPIC_TOOLS,
        stream=True,
    )  # fmt: skip
    received = ""
    for event in stream:
        if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
            received += event.delta.partial_json
            if received:
                break
    stream.close()
    (record,) = _calls(tmp_path)
    assert record["stream_incomplete"] is True
    text, cut = record["gen_ai"]["output"]["messages"][0]["parts"]
    assert text == {"type": "text", "content": fake_llm.TOOL_PREAMBLE}
    assert cut == {"type": "tool_call", "id": "toolu_1", "name": NAMES[0], "arguments": received}
    assert received and received != json.dumps(ARGUMENTS[0])


# -- time to first token ---------------------------------------------------------------------

PAUSE_S = 1.5


@pytest.mark.parametrize("api", ["chat", "anthropic"])
def test_ttft_is_the_time_to_the_first_chunk_not_to_the_last(
    tmp_path: Path, server: FakeLLM, api: str
) -> None:
    """The server pauses before its last event: the first content came well before. The
    pause is long beside scheduling delays on a loaded machine (up to half of it tolerated)."""
    ll.configure(tmp_path)
    if api == "chat":
        server.plan("/v1/chat/completions", Reply(pause_before_last=PAUSE_S))
        list(_openai(server).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        ))  # fmt: skip
    else:
        server.plan("/v1/messages", Reply(pause_before_last=PAUSE_S))
        list(_anthropic(server).messages.create(
            model=ANTHROPIC_MODEL, max_tokens=200, messages=MESSAGES, stream=True
        ))  # fmt: skip
    (record,) = _calls(tmp_path)
    assert record["duration_s"] >= PAUSE_S
    assert 0 <= record["ttft_s"] < record["duration_s"] - PAUSE_S / 2
