"""instrument_anthropic: messages.create (plain, stream=True) and messages.stream, sync and
async, with the real SDK against a local fake server."""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic.resources.messages import AsyncMessages, Messages

import llmops_logging as ll

from ..conftest import assert_contract, read_records

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))  # one fake server
import fake_llm
from fake_llm import FakeLLM, Reply

MODEL = "claude-sonnet-4-6"
MESSAGES = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(autouse=True)
def _restore_sdk_classes() -> Iterator[None]:
    saved = {
        (cls, name): cls.__dict__[name]
        for cls in (Messages, AsyncMessages)
        for name in ("create", "stream")
    }
    yield
    for (cls, name), function in saved.items():
        setattr(cls, name, function)


def _client(server: FakeLLM, **options: Any) -> anthropic.Anthropic:
    options.setdefault("max_retries", 0)
    client = anthropic.Anthropic(base_url=server.anthropic_url, api_key="sk-ant-test", **options)
    ll.instrument_anthropic(client)
    return client


def _calls(log_dir: Path) -> list[dict[str, Any]]:
    return [r for r in read_records(log_dir) if r["kind"] == "llm_call"]


CLAUDE_MODEL = fake_llm.SNAPSHOTS[MODEL]


def _usage(system: str | None = None) -> dict[str, Any]:
    """The fake's usage for MESSAGES: input counts the cached parts too."""
    read, written = fake_llm.CACHE_READ_TOKENS, fake_llm.CACHE_WRITE_TOKENS
    return {
        "input_tokens": fake_llm.tokens([system, MESSAGES]) + read + written,
        "output_tokens": len(fake_llm.words_of()),
        "cache_read": {"input_tokens": read},
        "cache_creation": {"input_tokens": written},
    }


def test_messages_create(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    with ll.run("agent") as run:
        message = client.messages.create(
            model=MODEL, max_tokens=100, messages=MESSAGES, system="be brief",
            stop_sequences=["END"],
        )  # fmt: skip
    assert message.content[0].text == fake_llm.REPLY  # type: ignore[union-attr]
    (record,) = _calls(tmp_path)
    assert_contract(record)
    assert record["run_id"] == run.run_id
    assert record["event"] == f"chat {MODEL}"
    gen_ai = record["gen_ai"]
    assert gen_ai["provider"] == {"name": "anthropic"}
    assert gen_ai["request"] == {
        "model": MODEL, "max_tokens": 100, "stop_sequences": ["END"],
    }  # fmt: skip
    assert gen_ai["response"] == {
        "id": fake_llm.MESSAGE_ID,
        "model": CLAUDE_MODEL,
        "finish_reasons": ["end_turn"],
    }
    assert gen_ai["usage"] == _usage("be brief")
    assert gen_ai["system_instructions"] == [{"type": "text", "content": "be brief"}]
    assert gen_ai["input"]["messages"] == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hello"}]}
    ]
    assert gen_ai["output"]["messages"] == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": fake_llm.REPLY}],
            "finish_reason": "end_turn",
        }
    ]
    assert record["cost_usd"] > 0 and record["cost_source"].startswith("genai-prices")


def _check_stream_record(record: dict[str, Any]) -> None:
    assert 0 <= record["ttft_s"] <= record["duration_s"]
    gen_ai = record["gen_ai"]
    assert gen_ai["response"] == {
        "id": fake_llm.MESSAGE_ID,
        "model": CLAUDE_MODEL,
        "finish_reasons": ["end_turn"],
    }
    assert gen_ai["usage"] == _usage()
    assert gen_ai["output"]["messages"][0]["parts"] == [{"type": "text", "content": fake_llm.REPLY}]
    assert record["cost_usd"] > 0 and record["attempts"] == 1
    assert "stream_incomplete" not in record


def test_create_with_stream_true(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    stream = client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True)
    assert isinstance(stream, anthropic.Stream)
    kinds = [event.type for event in stream]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    (record,) = _calls(tmp_path)
    _check_stream_record(record)


def test_messages_stream_helper(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    with ll.step("ask") as step:
        manager = client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES)
        assert _calls(tmp_path) == []  # no request before the manager is entered
        with manager as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
    assert text == fake_llm.REPLY and final.usage.output_tokens == len(fake_llm.words_of())
    (record,) = _calls(tmp_path)
    _check_stream_record(record)
    assert record["parent_id"] == step.step_id


def test_messages_stream_left_early_is_recorded(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    server.plan("/v1/messages", Reply(chunks=50))
    with client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
        for _ in stream:
            break
    (record,) = _calls(tmp_path)
    assert record["stream_incomplete"] is True


def test_an_abandoned_stream_is_recorded_when_collected(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    server.plan("/v1/messages", Reply(chunks=50))
    stream = client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True)
    next(iter(stream))
    del stream
    gc.collect()
    deadline = time.monotonic() + 30
    while not _calls(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.02)
    (record,) = _calls(tmp_path)
    assert record["stream_incomplete"] is True


def test_overloaded_with_retries_then_failure(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server, max_retries=2)
    busy = Reply(
        status=529,
        headers={"retry-after-ms": "1"},
        body={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    )
    server.plan("/v1/messages", busy, busy, busy)
    with pytest.raises(anthropic.APIStatusError) as raised:
        client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    assert raised.value.status_code == 529
    assert len(server.requests("/v1/messages")) == 3
    (record,) = _calls(tmp_path)
    assert record["level"] == "error" and record["attempts"] == 3
    assert record["error"]["status_code"] == 529


def test_async_create_stream_and_helper(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)

    async def main() -> str:
        client = anthropic.AsyncAnthropic(base_url=server.anthropic_url, api_key="k", max_retries=0)
        ll.instrument_anthropic(client)
        async with ll.run("async"):
            message = await client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
            stream = await client.messages.create(
                model=MODEL, max_tokens=10, messages=MESSAGES, stream=True
            )
            async for _ in stream:
                pass
            async with client.messages.stream(
                model=MODEL, max_tokens=10, messages=MESSAGES
            ) as helper:
                text = "".join([t async for t in helper.text_stream])
        await client.close()
        return message.content[0].text + text  # type: ignore[union-attr]

    assert asyncio.run(main()) == fake_llm.REPLY * 2
    records = read_records(tmp_path)
    plain, streamed, helper = (r for r in records if r["kind"] == "llm_call")
    assert plain["gen_ai"]["usage"] == _usage() and plain["attempts"] == 1
    _check_stream_record(streamed)
    _check_stream_record(helper)
    ok = next(r for r in records if r["kind"] == "run_ok")
    assert (
        ok["usage"]["llm_calls"] == 3
        and ok["usage"]["input_tokens"] == 3 * _usage()["input_tokens"]
    )


def test_class_wide_instrumentation_is_idempotent(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    ll.instrument_anthropic()
    ll.instrument_anthropic()
    client = _client(server)  # also instrumented on its own: still one record per call
    client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    with client.messages.stream(model=MODEL, max_tokens=10, messages=MESSAGES) as stream:
        stream.until_done()
    assert len(_calls(tmp_path)) == 2


def test_missing_sdk_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "anthropic", None)
    with pytest.raises(ImportError, match="pip install anthropic"):
        ll.instrument_anthropic()


def test_capture_content_off_keeps_the_prompt_out_of_the_sdks_debug_lines(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path, level="DEBUG", capture_content=False)
    client = _client(server)
    client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES, system="be brief")
    with client.messages.stream(model=MODEL, max_tokens=10, messages=MESSAGES) as stream:
        stream.until_done()
    records = read_records(tmp_path)
    options = [r for r in records if str(r["event"]).startswith("Request options")]
    assert options, "the SDK's request debug line is still logged, without the body"
    text = (tmp_path / "events.jsonl").read_text()
    assert "Say hello" not in text and "be brief" not in text


def test_capture_content_on_keeps_the_sdks_debug_lines_whole(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path, level="DEBUG")
    _client(server).messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    options = [r for r in read_records(tmp_path) if str(r["event"]).startswith("Request options")]
    assert any("Say hello" in r["event"] for r in options)


def test_a_stream_manager_without_the_known_hook_is_reported(
    tmp_path: Path, server: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmops_logging.llm import _call
    from llmops_logging.llm import anthropic as instrumentation

    monkeypatch.setattr(instrumentation, "_MANAGER_REQUEST", "_gone")
    monkeypatch.setattr(instrumentation, "_ASYNC_MANAGER_REQUEST", "_gone_too")
    monkeypatch.setattr(_call, "_reported", set())
    ll.configure(tmp_path)
    before = _call.internal_errors
    with _client(server).messages.stream(model=MODEL, max_tokens=10, messages=MESSAGES) as stream:
        assert stream.get_final_text() == fake_llm.REPLY
    assert _call.internal_errors == before + 1
    (warning,) = [r for r in read_records(tmp_path) if r["kind"] == "llm_instrumentation_error"]
    assert "messages.stream() calls are not recorded" in warning["error"]["message"]


def test_hostile_usage_from_the_provider_is_kept_flagged_and_not_summed(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    body = fake_llm.anthropic_message({"model": MODEL, "messages": MESSAGES})
    body["usage"] = {"input_tokens": "many", "output_tokens": -3, "cache_read_input_tokens": 2}
    server.plan("/v1/messages", Reply(body=body))
    with ll.run("r"):
        client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    (record,) = _calls(tmp_path)
    assert record["gen_ai"]["usage"]["input_tokens"] == "many"  # as sent: no sum with it
    assert record["gen_ai"]["usage"]["output_tokens"] == -3
    assert record["gen_ai"]["response"]["finish_reasons"] == ["end_turn"]
    assert record["usage_rejected"] == ["gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"]
    (end,) = [r for r in read_records(tmp_path) if r["kind"] == "run_ok"]
    assert end["usage"] == {
        "llm_calls": 1, "input_tokens": 0, "output_tokens": 0, "calls_without_cost": 1,
    }  # fmt: skip
