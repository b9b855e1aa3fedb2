"""One model call, one record: a framework's view of a call that an instrumented SDK also
sees writes nothing, and the call is counted once in the run's usage."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.resources.chat.completions import Completions

import llmops_logging as ll
from llmops_logging.llm import _once

from ..conftest import read_records

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from fake_llm import FakeLLM

MESSAGES = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(autouse=True)
def _restore_sdk_class() -> Iterator[None]:
    saved = Completions.__dict__["create"]
    yield
    Completions.create = saved  # type: ignore[method-assign]


def _client(server: FakeLLM) -> openai.OpenAI:
    client = openai.OpenAI(base_url=server.openai_url, api_key="sk-test", max_retries=0)
    ll.instrument_openai(client)
    return client


def _framework_call(model: str) -> ll.LlmCall:
    call = ll.llm_call(model, provider="framework").start()
    _once.enclose(call)
    return call


def _records(log_dir: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    records = read_records(log_dir)
    calls = [r for r in records if r["kind"] == "llm_call"]
    (run_ok,) = [r for r in records if r["event"] == "run_ok"]
    return calls, run_ok


def test_a_framework_call_around_an_instrumented_sdk_call_is_one_record(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    with ll.run("agent"):
        outer = _framework_call("gpt-4o-mini")
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        outer.set_usage(1000, 1000)
        _once.release(outer)
        outer.finish()
    calls, run_ok = _records(tmp_path)
    assert [c["gen_ai"]["provider"]["name"] for c in calls] == ["openai"]
    assert run_ok["usage"]["llm_calls"] == 1
    assert run_ok["usage"]["input_tokens"] == calls[0]["gen_ai"]["usage"]["input_tokens"]


def test_a_framework_call_inside_an_sdk_call_is_superseded() -> None:
    sdk = ll.llm_call("m", provider="openai").start()
    sdk.fidelity = _once.SDK
    _once.enclose(sdk)
    inner = _framework_call("m")
    assert inner.superseded and not sdk.superseded
    _once.release(inner)
    _once.release(sdk)


def test_of_equal_fidelity_the_innermost_records() -> None:
    outer = _framework_call("m")
    inner = _framework_call("m")
    assert outer.superseded and not inner.superseded


def test_calls_one_after_the_other_both_record(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    with ll.run("agent"):
        first = _framework_call("framework-model")
        _once.release(first)
        first.finish()
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        list(stream)
    calls, run_ok = _records(tmp_path)
    assert len(calls) == 4
    assert run_ok["usage"]["llm_calls"] == 4


def test_a_users_own_llm_call_block_still_records(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    client = _client(server)
    with ll.run("agent"), ll.llm_call("wrapper", provider="mine"):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    calls, _ = _records(tmp_path)
    assert sorted(c["gen_ai"]["provider"]["name"] for c in calls) == ["mine", "openai"]
