"""instrument_google_genai: generate_content and generate_content_stream, sync and async, with
the real google-genai SDK against the local fake server's Gemini API."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import errors, types
from google.genai.models import AsyncModels, Models

import llmops_logging as ll
from llmops_logging import _price_table

from .conftest import assert_contract, read_records

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))  # one fake server
import fake_llm
from fake_llm import FakeLLM, Reply

MODEL = "gemini-2.5-flash"
STREAM_PATH = f"/v1beta/models/{MODEL}:streamGenerateContent"
CONFIG = types.GenerateContentConfig(
    temperature=0.2,
    top_p=0.9,
    top_k=40,
    max_output_tokens=256,
    stop_sequences=["END"],
    seed=7,
    system_instruction="Answer in one line.",
)
TOOLS = types.GenerateContentConfig(
    tools=[
        types.Tool(
            function_declarations=[
                types.FunctionDeclaration(name="lookup_order", description="Find an order")
            ]
        )
    ]
)


@pytest.fixture
def server() -> Iterator[FakeLLM]:
    with FakeLLM.start() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _prices_loaded() -> None:
    """The price table in place: a call that ends before it loads is written without a cost."""
    _price_table.preload()
    assert _price_table.loaded.wait(120)


@pytest.fixture(autouse=True)
def _restore_sdk_classes() -> Iterator[None]:
    saved = {
        (cls, name): cls.__dict__[name]
        for cls in (Models, AsyncModels)
        for name in ("generate_content", "generate_content_stream")
    }
    yield
    for (cls, name), function in saved.items():
        setattr(cls, name, function)


def _client(server: FakeLLM, instrument: bool = True) -> genai.Client:
    options = types.HttpOptions(base_url=server.gemini_url)
    client = genai.Client(api_key="gemini-test-key", http_options=options)
    if instrument:
        ll.instrument_google_genai(client)
    return client


def _calls(log_dir: Path) -> list[dict[str, Any]]:
    return [r for r in read_records(log_dir) if r["kind"] == "llm_call"]


def _usage(prompt: int, output: int) -> dict[str, Any]:
    """The record's usage for the fake's counts: thinking is part of the output."""
    thoughts = fake_llm.GEMINI_THOUGHTS_TOKENS
    return {
        "input_tokens": prompt,
        "output_tokens": output + thoughts,
        "cache_read": {"input_tokens": fake_llm.GEMINI_CACHED_TOKENS},
        "reasoning": {"output_tokens": thoughts},
    }


def test_generate_content_is_recorded_with_request_usage_and_content(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    with ll.run("r"), ll.step("answer") as step:
        response = client.models.generate_content(
            model=MODEL, contents="Where is my order?", config=CONFIG
        )
    assert response.text == fake_llm.REPLY
    (record,) = _calls(tmp_path)
    assert_contract(record)
    assert record["event"] == f"chat {MODEL}" and record["level"] == "info"
    assert record["parent_id"] == step.step_id
    gen_ai = record["gen_ai"]
    assert gen_ai["provider"]["name"] == "gcp.gemini"
    assert gen_ai["request"] == {
        "model": MODEL,
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 40.0,
        "max_tokens": 256,
        "stop_sequences": ["END"],
        "seed": 7,
    }
    assert gen_ai["response"] == {
        "id": fake_llm.GEMINI_ID,
        "model": fake_llm.SNAPSHOTS[MODEL],
        "finish_reasons": ["stop"],
    }
    metadata = response.usage_metadata
    assert metadata is not None and metadata.prompt_token_count is not None
    assert gen_ai["usage"] == _usage(metadata.prompt_token_count, len(fake_llm.words_of()))
    assert gen_ai["input"]["messages"] == [
        {"role": "user", "parts": [{"type": "text", "content": "Where is my order?"}]}
    ]
    assert gen_ai["system_instructions"] == [{"type": "text", "content": "Answer in one line."}]
    assert gen_ai["output"]["messages"] == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": fake_llm.REPLY}],
            "finish_reason": "stop",
        }
    ]
    assert record["cost_usd"] > 0
    (run_ok,) = [r for r in read_records(tmp_path) if r["kind"] == "run_ok"]
    assert run_ok["usage"]["llm_calls"] == 1
    assert run_ok["usage"]["input_tokens"] == metadata.prompt_token_count


def test_a_stream_is_recorded_like_the_same_reply_not_streamed(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    for config in (None, TOOLS):
        client.models.generate_content(model=MODEL, contents="Where is A-1001?", config=config)
        chunks = list(
            client.models.generate_content_stream(
                model=MODEL, contents="Where is A-1001?", config=config
            )
        )
        assert len(chunks) > 1
    plain, streamed, plain_tools, streamed_tools = _calls(tmp_path)
    for one, other in ((plain, streamed), (plain_tools, streamed_tools)):
        assert other["gen_ai"] == one["gen_ai"]
        assert "ttft_s" not in one and 0 < other["ttft_s"] <= other["duration_s"]
        assert "stream_incomplete" not in other
    assert plain_tools["gen_ai"]["output"]["messages"][0]["parts"] == [
        {"type": "text", "content": fake_llm.TOOL_PREAMBLE},
        {
            "type": "tool_call",
            "id": "fc_1",
            "name": "lookup_order",
            "arguments": {"order_id": "A-1001"},
        },
    ]


def test_async_calls_and_streams_are_recorded(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)

    async def main() -> str:
        with ll.run("async"):
            await client.aio.models.generate_content(model=MODEL, contents="Hi")
            stream = await client.aio.models.generate_content_stream(model=MODEL, contents="Hi")
            return "".join([chunk.text or "" async for chunk in stream])

    assert asyncio.run(main()) == fake_llm.REPLY
    plain, streamed = _calls(tmp_path)
    assert streamed["gen_ai"] == plain["gen_ai"]
    assert streamed["gen_ai"]["usage"]["input_tokens"] > 0 and "ttft_s" in streamed
    (run_ok,) = [r for r in read_records(tmp_path) if r["kind"] == "run_ok"]
    assert run_ok["usage"]["llm_calls"] == 2


def test_every_client_is_recorded_once_however_often_instrumented(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = _client(server)  # this client's resources first
    ll.instrument_google_genai()
    ll.instrument_google_genai()
    client.models.generate_content(model=MODEL, contents="Hi")
    other = _client(server, instrument=False)  # kept: a collected client closes its HTTP client
    other.models.generate_content(model=MODEL, contents="Hi")
    assert len(_calls(tmp_path)) == 2


def test_a_failed_call_is_an_error_record_and_the_error_reaches_the_caller(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    with pytest.raises(errors.ClientError):
        client.models.generate_content(model=fake_llm.FAIL_MODEL, contents="Hi")
    (record,) = _calls(tmp_path)
    assert record["level"] == "error"
    assert record["error"]["type"] == "ClientError" and record["error"]["status_code"] == 404
    assert "usage" not in record["gen_ai"] and "cost_usd" not in record


def test_a_stream_that_fails_midway_keeps_what_came(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    server.plan(STREAM_PATH, Reply(fail_mid_stream=True))
    seen = []
    with pytest.raises(errors.ServerError):
        for chunk in client.models.generate_content_stream(model=MODEL, contents="Hi"):
            seen.append(chunk.text)
    (record,) = _calls(tmp_path)
    assert record["level"] == "error" and record["error"]["status_code"] == 500
    first = fake_llm.words_of()[0]
    assert seen == [first]
    assert record["gen_ai"]["output"]["messages"][0]["parts"] == [
        {"type": "text", "content": first}
    ]


def test_a_stream_closed_early_is_recorded_incomplete(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    server.plan(STREAM_PATH, Reply(chunks=50))
    stream = client.models.generate_content_stream(model=MODEL, contents="Hi")
    assert next(stream).text == "w0 "
    stream.close()
    deadline = time.monotonic() + 30  # written by the library's worker thread
    while not _calls(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.02)
    (record,) = _calls(tmp_path)
    assert record["stream_incomplete"] is True and record["level"] == "info"
    assert record["gen_ai"]["output"]["messages"][0]["parts"] == [
        {"type": "text", "content": "w0 "}
    ]


def test_a_stream_never_read_is_recorded_incomplete_when_dropped(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    stream = client.models.generate_content_stream(model=MODEL, contents="Hi")
    del stream
    deadline = time.monotonic() + 30
    while not _calls(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.02)
    (record,) = _calls(tmp_path)
    assert record["stream_incomplete"] is True and "ttft_s" not in record


def test_content_is_left_out_when_not_captured(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path, capture_content=False)
    client = _client(server)
    client.models.generate_content(model=MODEL, contents="secret question", config=CONFIG)
    list(client.models.generate_content_stream(model=MODEL, contents="secret question"))
    for record in _calls(tmp_path):
        assert not {"input", "output", "system_instructions"} & set(record["gen_ai"])
        assert record["gen_ai"]["usage"]["input_tokens"] > 0
    assert "secret question" not in (tmp_path / "events.jsonl").read_text()


def test_contents_as_turns_and_parts_become_messages(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    contents = [
        types.Content(role="user", parts=[types.Part(text="Where is A-1001?")]),
        types.Content(
            role="model",
            parts=[
                types.Part(
                    function_call=types.FunctionCall(
                        id="fc_1", name="lookup_order", args={"order_id": "A-1001"}
                    )
                )
            ],
        ),
        {
            "role": "user",
            "parts": [
                {
                    "function_response": {
                        "id": "fc_1",
                        "name": "lookup_order",
                        "response": {"status": "shipped"},
                    }
                }
            ],
        },
    ]
    client.models.generate_content(model=MODEL, contents=contents)
    (record,) = _calls(tmp_path)
    assert record["gen_ai"]["input"]["messages"] == [
        {"role": "user", "parts": [{"type": "text", "content": "Where is A-1001?"}]},
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "fc_1",
                    "name": "lookup_order",
                    "arguments": {"order_id": "A-1001"},
                }
            ],
        },
        {
            "role": "user",
            "parts": [
                {"type": "tool_call_response", "id": "fc_1", "response": {"status": "shipped"}}
            ],
        },
    ]


def test_missing_sdk_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "google.genai", None)
    with pytest.raises(ImportError, match=r"pip install 'llmops-logging\[google-genai\]'"):
        ll.instrument_google_genai()
