"""instrument_openai on a raw response (`with_streaming_response`, `with_raw_response`): the
call is recorded from what its body carried when the caller parses it, once otherwise."""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from pathlib import Path
from typing import Any

import openai
import pytest

import llmops_logging as ll

from ..conftest import read_records
from .test_llm_openai import _async_client, _calls, _client

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import fake_llm
from fake_llm import FakeLLM, Reply

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "Say hello"}]
CHAT_USAGE = {
    "input_tokens": fake_llm.tokens(MESSAGES),
    "output_tokens": len(fake_llm.words_of()),
    "cache_read": {"input_tokens": fake_llm.CACHED_TOKENS},
    "reasoning": {"output_tokens": fake_llm.REASONING_TOKENS},
}
RESPONSES_USAGE = {
    "input_tokens": fake_llm.tokens([None, "Say hi"]),
    "output_tokens": len(fake_llm.words_of()),
    "reasoning": {"output_tokens": fake_llm.REASONING_TOKENS},
}
REPLY_PARTS = [{"type": "text", "content": fake_llm.REPLY}]
CHAT = {"model": "gpt-4o-mini", "messages": MESSAGES}
STREAMED_CHAT = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
RESPONSE = {"model": "gpt-4o-mini", "input": "Say hi"}


def _assert_carried(record: dict[str, Any], response_id: str, usage: dict[str, Any]) -> None:
    """The record has what the body carried: as a `stream=True` call's."""
    gen_ai = record["gen_ai"]
    assert gen_ai["response"] == {
        "id": response_id,
        "model": fake_llm.SNAPSHOTS["gpt-4o-mini"],
        "finish_reasons": ["stop"],
    }
    assert gen_ai["usage"] == usage
    assert gen_ai["output"]["messages"][0]["parts"] == REPLY_PARTS
    assert record["cost_usd"] > 0
    assert 0 <= record["ttft_s"] <= record["duration_s"]
    assert "stream_incomplete" not in record and record["level"] == "info"


def test_a_streamed_chat_and_response_read_through_parse_carry_their_stream(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    with ll.run("raw") as run:
        with client.chat.completions.with_streaming_response.create(**STREAMED_CHAT) as raw:
            stream = raw.parse()
            assert isinstance(stream, openai.Stream) and raw.parse() is stream
            assert _calls(tmp_path) == []  # open until the stream ends
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == fake_llm.REPLY
        with client.responses.with_streaming_response.create(**RESPONSE, stream=True) as raw:
            events = list(raw.parse())
        assert events[-1].type == "response.completed"
    chat, response = _calls(tmp_path)
    _assert_carried(chat, fake_llm.CHAT_ID, CHAT_USAGE)
    _assert_carried(response, fake_llm.RESPONSE_ID, RESPONSES_USAGE)
    assert chat["run_id"] == response["run_id"] == run.run_id
    (run_ok,) = [r for r in read_records(tmp_path) if r["kind"] == "run_ok"]
    assert run_ok["usage"]["llm_calls"] == 2
    assert run_ok["usage"]["input_tokens"] == (
        CHAT_USAGE["input_tokens"] + RESPONSES_USAGE["input_tokens"]
    )


def test_async_streamed_chat_and_response_read_through_parse_carry_their_stream(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)

    async def main() -> None:
        client = _async_client(server)
        chat = client.chat.completions.with_streaming_response.create(**STREAMED_CHAT)
        async with chat as raw:
            stream = await raw.parse()
            assert isinstance(stream, openai.AsyncStream)
            pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        assert "".join(pieces) == fake_llm.REPLY
        response = client.responses.with_streaming_response.create(**RESPONSE, stream=True)
        async with response as raw:
            events = [event async for event in await raw.parse()]
        assert events[-1].type == "response.completed"
        await client.close()

    asyncio.run(main())
    chat, response = _calls(tmp_path)
    _assert_carried(chat, fake_llm.CHAT_ID, CHAT_USAGE)
    _assert_carried(response, fake_llm.RESPONSE_ID, RESPONSES_USAGE)


def test_a_body_parsed_whole_is_recorded_at_the_parse(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    raw = client.responses.with_raw_response.create(**RESPONSE)
    response = raw.parse()
    assert response is raw.parse() and response.output_text == fake_llm.REPLY
    with client.responses.with_streaming_response.create(**RESPONSE) as raw:
        assert raw.parse().output_text == fake_llm.REPLY
        (legacy, streaming) = _calls(tmp_path)  # written at the parse, not at the close
    for record in (legacy, streaming):
        assert record["gen_ai"]["usage"] == RESPONSES_USAGE
        assert record["gen_ai"]["response"]["id"] == fake_llm.RESPONSE_ID
        assert "ttft_s" not in record and "stream_incomplete" not in record


@pytest.mark.parametrize("how", ["iter_lines", "read", "text", "json-not-stream"])
def test_a_body_read_as_bytes_is_one_record_when_closed(
    tmp_path: Path, server: FakeLLM, how: str
) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    stream = how != "json-not-stream"
    with ll.run("bytes"):
        with client.chat.completions.with_streaming_response.create(
            **(STREAMED_CHAT if stream else CHAT)
        ) as raw:
            if how == "iter_lines":
                body = "\n".join(raw.iter_lines())
            elif how == "read":
                body = raw.read().decode()
            elif how == "text":
                body = raw.text()
            else:
                body = str(raw.json())
            assert _calls(tmp_path) == []
        assert fake_llm.CHAT_ID in body and "Monday" in body  # the caller's bytes, untouched
    (record,) = _calls(tmp_path)
    assert record["level"] == "info" and record["attempts"] == 1
    assert "usage" not in record["gen_ai"] and "stream_incomplete" not in record
    (run_ok,) = [r for r in read_records(tmp_path) if r["kind"] == "run_ok"]
    assert run_ok["usage"]["llm_calls"] == 1 and run_ok["usage"]["input_tokens"] == 0


def test_async_body_read_as_bytes_is_one_record(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)

    async def main() -> str:
        client = _async_client(server)
        async with client.chat.completions.with_streaming_response.create(**STREAMED_CHAT) as raw:
            lines = [line async for line in raw.iter_lines()]
        await client.close()
        return "\n".join(lines)

    assert fake_llm.CHAT_ID in asyncio.run(main())
    (record,) = _calls(tmp_path)
    assert "usage" not in record["gen_ai"] and "stream_incomplete" not in record


def test_a_parsed_stream_closed_with_its_response_early_is_one_incomplete_record(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    server.plan("/v1/chat/completions", Reply(chunks=50))
    with client.chat.completions.with_streaming_response.create(**STREAMED_CHAT) as raw:
        stream = iter(raw.parse())
        next(stream)
        next(stream)
    (record,) = _calls(tmp_path)
    assert record["stream_incomplete"] is True and "ttft_s" in record


def test_a_raw_response_never_closed_is_recorded_when_collected(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    raw = client.chat.completions.with_streaming_response.create(**STREAMED_CHAT).__enter__()
    raw.read()
    gc.disable()  # freed by its reference count alone, as it is without the library
    try:
        del raw
    finally:
        gc.enable()
    deadline = time.monotonic() + 30
    while not (calls := _calls(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.02)
    (record,) = calls
    assert "usage" not in record["gen_ai"] and "stream_incomplete" not in record
