"""instrument_openai: the real SDK against a local fake server, one llm_call per call."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.resources.chat.completions import AsyncCompletions, Completions
from openai.resources.embeddings import AsyncEmbeddings, Embeddings
from openai.resources.responses import AsyncResponses, Responses

import llmops_logging as ll

from ..conftest import assert_contract, read_records

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))  # one fake server
import fake_llm
from fake_llm import FakeLLM, Reply

MESSAGES = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "Say hello"},
]
CHAT_MODEL = fake_llm.SNAPSHOTS["gpt-4o-mini"]
EMBEDDING_MODEL = "text-embedding-3-small"
PROMPT = fake_llm.tokens(MESSAGES)  # the fake's usage for MESSAGES
CHAT_USAGE = {
    "input_tokens": PROMPT,
    "output_tokens": len(fake_llm.words_of()),
    "cache_read": {"input_tokens": fake_llm.CACHED_TOKENS},
    "reasoning": {"output_tokens": fake_llm.REASONING_TOKENS},
}
CLASSES = (Completions, AsyncCompletions, Responses, AsyncResponses, Embeddings, AsyncEmbeddings)


@pytest.fixture(autouse=True)
def _restore_sdk_classes() -> Iterator[None]:
    """Class-wide instrumentation is process-wide: undo it after each test."""
    saved = {
        (cls, n): cls.__dict__[n]
        for cls in CLASSES
        for n in ("create", "parse")
        if n in cls.__dict__
    }
    yield
    for (cls, name), function in saved.items():
        setattr(cls, name, function)


def _client(server: FakeLLM, **options: Any) -> openai.OpenAI:
    options.setdefault("max_retries", 0)
    client = openai.OpenAI(base_url=server.openai_url, api_key="sk-test", **options)
    ll.instrument_openai(client)
    return client


def _async_client(server: FakeLLM, **options: Any) -> openai.AsyncOpenAI:
    options.setdefault("max_retries", 0)
    client = openai.AsyncOpenAI(base_url=server.openai_url, api_key="sk-test", **options)
    ll.instrument_openai(client)
    return client


def _calls(log_dir: Path) -> list[dict[str, Any]]:
    return [r for r in read_records(log_dir) if r["kind"] == "llm_call"]


def _wait_for_calls(log_dir: Path, count: int) -> list[dict[str, Any]]:
    """Records finished by the worker thread arrive shortly after: wait, bounded."""
    deadline = time.monotonic() + 30
    while len(calls := _calls(log_dir)) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return calls


def test_chat_completion_record(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    with ll.run("agent") as run, ll.step("ask") as step:
        completion = client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, temperature=0.3, max_tokens=50, seed=7,
            stop=["\n\n"],
        )  # fmt: skip
    assert completion.choices[0].message.content == fake_llm.REPLY
    assert type(completion).__name__ == "ChatCompletion"
    (record,) = _calls(tmp_path)
    assert_contract(record)
    assert record["event"] == "chat gpt-4o-mini" and record["level"] == "info"
    assert record["run_id"] == run.run_id and record["parent_id"] == step.step_id
    assert "ttft_s" not in record
    gen_ai = record["gen_ai"]
    assert gen_ai["provider"] == {"name": "openai"}
    assert gen_ai["request"] == {
        "model": "gpt-4o-mini", "temperature": 0.3, "max_tokens": 50, "seed": 7,
        "stop_sequences": ["\n\n"],
    }  # fmt: skip
    assert gen_ai["response"] == {
        "id": fake_llm.CHAT_ID,
        "model": CHAT_MODEL,
        "finish_reasons": ["stop"],
    }
    assert gen_ai["usage"] == CHAT_USAGE
    assert gen_ai["input"]["messages"] == [
        {"role": "system", "parts": [{"type": "text", "content": "be brief"}]},
        {"role": "user", "parts": [{"type": "text", "content": "Say hello"}]},
    ]
    assert gen_ai["output"]["messages"] == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": fake_llm.REPLY}],
            "finish_reason": "stop",
        }
    ]
    assert record["cost_usd"] > 0 and record["cost_source"].startswith("genai-prices ")
    ok = next(r for r in read_records(tmp_path) if r["kind"] == "run_ok")
    assert ok["usage"]["llm_calls"] == 1 and ok["usage"]["input_tokens"] == PROMPT
    assert ok["usage"]["cost_usd"] == pytest.approx(record["cost_usd"])


def test_an_uninstrumented_client_writes_no_llm_call(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = openai.OpenAI(base_url=server.openai_url, api_key="sk-test", max_retries=0)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert _calls(tmp_path) == []


def test_instrumenting_twice_and_class_wide_records_each_call_once(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    ll.instrument_openai(client)
    ll.instrument_openai()
    ll.instrument_openai()
    other = openai.OpenAI(base_url=server.openai_url, api_key="sk-test", max_retries=0)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    other.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    other.embeddings.create(model=EMBEDDING_MODEL, input="hello")
    assert [r["event"] for r in _calls(tmp_path)] == [
        "chat gpt-4o-mini",
        "chat gpt-4o-mini",
        f"embeddings {EMBEDDING_MODEL}",
    ]


@pytest.mark.parametrize("include_usage", [True, False])
def test_a_stream_is_recorded_when_its_last_chunk_is_read(
    tmp_path: Path, server: FakeLLM, include_usage: bool
) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    options: dict[str, Any] = {"stream_options": {"include_usage": True}} if include_usage else {}
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, **options
    )
    assert isinstance(stream, openai.Stream)  # the SDK's own object, not a proxy
    assert _calls(tmp_path) == []  # nothing until the stream ends
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == fake_llm.REPLY
    (record,) = _calls(tmp_path)
    assert 0 <= record["ttft_s"] <= record["duration_s"]
    assert record["attempts"] == 1
    gen_ai = record["gen_ai"]
    assert gen_ai["response"] == {
        "id": fake_llm.CHAT_ID,
        "model": CHAT_MODEL,
        "finish_reasons": ["stop"],
    }
    assert gen_ai["output"]["messages"][0]["parts"] == [{"type": "text", "content": fake_llm.REPLY}]
    if include_usage:
        assert gen_ai["usage"] == CHAT_USAGE
        assert record["cost_usd"] > 0
    else:
        assert "usage" not in gen_ai and "cost_usd" not in record
    assert "stream_incomplete" not in record


def test_a_stream_closed_early_is_recorded_once(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    server.plan("/v1/chat/completions", Reply(chunks=50))
    with client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ) as stream:
        next(iter(stream))
        next(iter(stream))
    stream.close()
    (record,) = _calls(tmp_path)
    assert record["stream_incomplete"] is True and record["level"] == "info"
    assert "ttft_s" in record


def test_an_abandoned_stream_is_recorded_when_collected(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    server.plan("/v1/chat/completions", Reply(chunks=50))
    with ll.run("r") as run:
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        next(iter(stream))
        del stream
        gc.collect()
    (record,) = _wait_for_calls(tmp_path, 1)
    assert record["stream_incomplete"] is True
    assert record["run_id"] == run.run_id


def test_a_429_retried_twice_then_failing_is_one_error_record(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = _client(server, max_retries=2)
    limited = Reply(
        status=429,
        headers={"retry-after-ms": "1"},
        body={"error": {"message": "Rate limit reached", "type": "requests"}},
    )
    server.plan("/v1/chat/completions", limited, limited, limited)
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raised.value.status_code == 429
    assert len(server.requests("/v1/chat/completions")) == 3
    (record,) = _calls(tmp_path)
    assert record["level"] == "error" and record["attempts"] == 3
    assert record["error"]["type"] == "RateLimitError"
    assert record["error"]["status_code"] == 429
    assert "Rate limit reached" in record["error"]["message"]
    assert "usage" not in record["gen_ai"] and "cost_usd" not in record


def test_a_500_is_an_error_record_and_the_sdk_error_is_unchanged(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    server.plan("/v1/chat/completions", Reply(status=500))
    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert type(raised.value) is openai.InternalServerError
    (record,) = _calls(tmp_path)
    assert record["error"]["status_code"] == 500 and record["attempts"] == 1


def test_embeddings(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    result = client.embeddings.create(model=EMBEDDING_MODEL, input="hello", encoding_format="float")
    assert result.data[0].embedding == [0.1, 0.2, 0.3]
    (record,) = _calls(tmp_path)
    assert record["event"] == f"embeddings {EMBEDDING_MODEL}"
    assert record["gen_ai"]["operation"] == {"name": "embeddings"}
    assert record["gen_ai"]["request"]["encoding_formats"] == ["float"]
    assert record["gen_ai"]["usage"] == {"input_tokens": fake_llm.tokens("hello")}
    assert record["cost_usd"] > 0


def test_responses_plain_and_streamed(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    response = client.responses.create(
        model="gpt-4o-mini", input="Say hi", instructions="be brief", max_output_tokens=20
    )
    assert response.output_text == fake_llm.REPLY
    events = list(client.responses.create(model="gpt-4o-mini", input="Say hi", stream=True))
    assert events[-1].type == "response.completed"
    plain, streamed = _calls(tmp_path)
    for record, instructions in ((plain, "be brief"), (streamed, None)):
        gen_ai = record["gen_ai"]
        assert gen_ai["response"] == {
            "id": fake_llm.RESPONSE_ID,
            "model": CHAT_MODEL,
            "finish_reasons": ["stop"],
        }
        assert gen_ai["usage"] == {
            "input_tokens": fake_llm.tokens([instructions, "Say hi"]),
            "output_tokens": len(fake_llm.words_of()),
            "reasoning": {"output_tokens": fake_llm.REASONING_TOKENS},
        }
        assert gen_ai["output"]["messages"][0]["parts"] == [
            {"type": "text", "content": fake_llm.REPLY}
        ]
        assert gen_ai["input"]["messages"] == [
            {"role": "user", "parts": [{"type": "text", "content": "Say hi"}]}
        ]
    assert plain["gen_ai"]["request"]["max_tokens"] == 20
    assert plain["gen_ai"]["system_instructions"] == [{"type": "text", "content": "be brief"}]
    assert "ttft_s" not in plain and streamed["ttft_s"] >= 0


def test_async_plain_and_streamed(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)

    async def main() -> str:
        client = _async_client(server)
        async with ll.run("async"):
            completion = await client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES
            )
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True,
                stream_options={"include_usage": True},
            )  # fmt: skip
            assert isinstance(stream, openai.AsyncStream)
            parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
            await client.embeddings.create(model=EMBEDDING_MODEL, input="x")
            await client.close()
        return str(completion.choices[0].message.content) + "".join(parts)

    assert asyncio.run(main()) == fake_llm.REPLY * 2
    records = read_records(tmp_path)
    plain, streamed, embedded = (r for r in records if r["kind"] == "llm_call")
    assert plain["gen_ai"]["usage"]["input_tokens"] == PROMPT and plain["attempts"] == 1
    assert streamed["gen_ai"]["usage"] == CHAT_USAGE
    assert streamed["ttft_s"] >= 0
    assert embedded["gen_ai"]["operation"]["name"] == "embeddings"
    ok = next(r for r in records if r["kind"] == "run_ok")
    assert ok["usage"]["llm_calls"] == 3 and ok["usage"][
        "input_tokens"
    ] == 2 * PROMPT + fake_llm.tokens("x")


def test_async_stream_closed_early(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    server.plan("/v1/chat/completions", Reply(chunks=50))

    async def main() -> None:
        client = _async_client(server)
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
        await stream.__anext__()
        await stream.close()
        await client.close()

    asyncio.run(main())
    (record,) = _calls(tmp_path)
    assert record["stream_incomplete"] is True


def test_capture_content_off(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path, capture_content=False)
    client = _client(server)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    for record in _calls(tmp_path):
        assert set(record["gen_ai"]) <= {"provider", "operation", "request", "response", "usage"}
    text = (tmp_path / "events.jsonl").read_text()
    assert "Say hello" not in text and fake_llm.REPLY not in text


def test_capture_content_off_keeps_the_prompt_out_of_the_sdks_debug_lines(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path, level="DEBUG", capture_content=False)
    _client(server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    # openai 3 logs no request body; its 1.x releases did, in this very shape and logger
    body = {"messages": MESSAGES, "model": "gpt-4o-mini"}
    options = {"method": "post", "url": "/chat/completions", "json_data": body}
    logging.getLogger("openai._base_client").debug("Request options: %s", options)
    text = (tmp_path / "events.jsonl").read_text()
    assert "Request options" in text and "Say hello" not in text
    assert options["json_data"] is body  # the SDK's own object is left alone


def test_a_failure_inside_the_instrumentation_does_not_reach_the_caller(
    tmp_path: Path, server: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    from llmops_logging.llm import _call
    from llmops_logging.llm import openai as instrumented

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("instrumentation bug")

    before = _call.internal_errors
    monkeypatch.setattr(_call, "_reported", set())
    monkeypatch.setattr(instrumented, "_usage_counts", broken)
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.choices[0].message.content == fake_llm.REPLY
    assert _call.internal_errors == before + 1
    (record,) = _calls(tmp_path)  # still written, without what failed
    assert record["gen_ai"]["response"]["id"] == fake_llm.CHAT_ID
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert _call.internal_errors == before + 2
    (warning,) = [r for r in read_records(tmp_path) if r["kind"] == "llm_instrumentation_error"]
    assert warning["level"] == "warning" and warning["error"]["type"] == "RuntimeError"


def test_missing_sdk_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(ImportError, match="pip install openai"):
        ll.instrument_openai()


def test_a_stream_failing_midway_is_an_error_record(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    server.plan("/v1/chat/completions", Reply(fail_mid_stream=True))
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    seen = []
    with pytest.raises(openai.APIError, match="mid-stream"):
        for chunk in stream:
            seen.append(chunk)
    assert len(seen) == 1
    (record,) = _calls(tmp_path)
    assert record["level"] == "error" and record["error"]["type"] == "APIError"
    assert "mid-stream" in record["error"]["message"]
    assert record["ttft_s"] >= 0


def test_a_connection_error_is_an_error_record_without_status(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with FakeLLM.start() as gone:
        base_url = gone.openai_url  # a port nothing listens on once the server is shut
    client = openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0)
    ll.instrument_openai(client)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    (record,) = _calls(tmp_path)
    assert record["level"] == "error" and record["error"]["type"] == "APIConnectionError"
    assert "status_code" not in record["error"] and record["attempts"] == 1


def test_an_abandoned_async_stream_is_recorded_when_collected(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    server.plan("/v1/chat/completions", Reply(chunks=50))

    async def main() -> None:
        client = _async_client(server)
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
        await stream.__anext__()
        del stream
        gc.collect()
        await client.close()

    asyncio.run(main())
    (record,) = _wait_for_calls(tmp_path, 1)
    assert record["stream_incomplete"] is True and record["level"] == "info"


def test_a_success_after_a_retry_records_its_attempts(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server, max_retries=2)
    server.plan("/v1/chat/completions", Reply(status=429, headers={"retry-after-ms": "1"}))
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.choices[0].message.content == fake_llm.REPLY
    retried, plain = _calls(tmp_path)
    assert retried["level"] == "info" and retried["attempts"] == 2
    assert plain["attempts"] == 1


def test_with_raw_response_records_usage_and_parses_to_the_same_object(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raw.headers["content-type"] == "application/json"
    completion = raw.parse()
    assert completion is raw.parse() and completion.choices[0].message.content == fake_llm.REPLY
    raw_stream = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    assert "".join(c.choices[0].delta.content or "" for c in raw_stream.parse() if c.choices)
    plain, streamed = _calls(tmp_path)
    assert plain["gen_ai"]["usage"] == CHAT_USAGE and plain["gen_ai"]["response"]["id"]
    assert streamed["gen_ai"]["usage"] == CHAT_USAGE and "stream_incomplete" not in streamed


@pytest.mark.parametrize("class_wide", [False, True])
def test_structured_output_parse_is_recorded_once(
    tmp_path: Path, server: FakeLLM, class_wide: bool
) -> None:
    ll.configure(tmp_path)
    client = openai.OpenAI(base_url=server.openai_url, api_key="sk-test", max_retries=0)
    if class_wide:
        ll.instrument_openai()
    else:
        ll.instrument_openai(client)
    completion = client.chat.completions.parse(
        model="gpt-4o-mini", messages=MESSAGES, response_format={"type": "json_object"}
    )
    assert completion.choices[0].message.content == fake_llm.REPLY
    response = client.responses.parse(model="gpt-4o-mini", input="Say hi")
    assert response.output_text == fake_llm.REPLY
    chat, responses = _calls(tmp_path)
    assert chat["gen_ai"]["usage"] == CHAT_USAGE and chat["event"] == "chat gpt-4o-mini"
    assert responses["gen_ai"]["response"]["id"] == fake_llm.RESPONSE_ID


def test_hostile_usage_from_the_provider_is_kept_flagged_and_not_summed(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    body = fake_llm.openai_chat({"model": "gpt-4o-mini", "messages": MESSAGES})
    body["usage"] = {"prompt_tokens": -40, "completion_tokens": 2.5, "total_tokens": 2**64}
    server.plan("/v1/chat/completions", Reply(body=body))
    with ll.run("r"):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    (record,) = _calls(tmp_path)
    assert record["gen_ai"]["usage"] == {"input_tokens": -40, "output_tokens": 2.5}
    assert record["usage_rejected"] == ["gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"]
    assert "cost_usd" not in record
    (end,) = [r for r in read_records(tmp_path) if r["kind"] == "run_ok"]
    assert end["usage"] == {
        "llm_calls": 1, "input_tokens": 0, "output_tokens": 0, "calls_without_cost": 1,
    }  # fmt: skip
