"""While an SDK is instrumented, its per-request INFO lines stay out of the log: the
`llm_call` record already says what they say. Real SDKs against the local fake server."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from anthropic.resources.messages import AsyncMessages, Messages
from openai.resources.chat.completions import AsyncCompletions, Completions

import llmops_logging as ll

from ..conftest import read_records

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))  # one fake server
from fake_llm import FakeLLM, Reply

MESSAGES = [{"role": "user", "content": "Say hello"}]
CLASSES = (Completions, AsyncCompletions, Messages, AsyncMessages)


@pytest.fixture(autouse=True)
def _restore_sdk_classes() -> Iterator[None]:
    """Class-wide instrumentation is process-wide: undo it after each test."""
    saved = {(cls, n): cls.__dict__[n] for cls in CLASSES for n in ("create", "stream")}
    yield
    for (cls, name), function in saved.items():
        setattr(cls, name, function)


def _openai(server: FakeLLM, **options: Any) -> openai.OpenAI:
    options.setdefault("max_retries", 0)
    client = openai.OpenAI(base_url=server.openai_url, api_key="sk-test", **options)
    ll.instrument_openai(client)
    return client


def _http_lines(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["event"].startswith("HTTP Request")]


def test_an_instrumented_call_writes_its_llm_call_and_no_http_request_line(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = _openai(server)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    records = read_records(tmp_path)
    assert [r["kind"] for r in records] == ["llm_call"]
    assert _http_lines(records) == []


def test_instrumenting_before_configure_also_leaves_the_lines_out(
    tmp_path: Path, server: FakeLLM
) -> None:
    client = _openai(server)
    ll.configure(tmp_path)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert [r["kind"] for r in read_records(tmp_path)] == ["llm_call"]


def test_an_instrumented_anthropic_call_writes_no_http_request_line(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = anthropic.Anthropic(base_url=server.anthropic_url, api_key="sk-ant-test")
    ll.instrument_anthropic(client)
    client.messages.create(model="claude-sonnet-4-5", max_tokens=50, messages=MESSAGES)
    records = read_records(tmp_path)
    assert [r["kind"] for r in records] == ["llm_call"]


def test_retry_lines_stay_out_and_the_record_counts_the_attempts(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    client = _openai(server, max_retries=1)
    limited = Reply(status=429, headers={"retry-after-ms": "1"})
    server.plan("/v1/chat/completions", limited)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    (record,) = read_records(tmp_path)
    assert record["kind"] == "llm_call" and record["attempts"] == 2


def test_warnings_and_errors_of_the_sdk_loggers_still_land(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    _openai(server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    logging.getLogger("httpx2").warning("HTTP Request: POST /v1/chat/completions slow")
    logging.getLogger("openai._base_client").error("connection reset")
    logging.getLogger("httpx2").info("HTTP Request: POST /v1/chat/completions")
    logging.getLogger("app").info("own line")
    events = [(r["logger"], r["level"], r["event"]) for r in read_records(tmp_path)[1:]]
    assert events == [
        ("httpx2", "warning", "HTTP Request: POST /v1/chat/completions slow"),
        ("openai._base_client", "error", "connection reset"),
        ("app", "info", "own line"),
    ]


def test_levels_brings_the_request_lines_back(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path, levels={"httpx2": "INFO"})
    _openai(server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    records = read_records(tmp_path)
    assert [r["kind"] for r in records] == ["log", "llm_call"]
    (line,) = _http_lines(records)
    assert line["logger"] == "httpx2" and line["level"] == "info"
    assert "POST" in line["event"] and "/chat/completions" in line["event"]


def test_a_level_the_user_set_keeps_the_lines_and_reset_turns_quieting_off(
    tmp_path: Path, server: FakeLLM
) -> None:
    logging.getLogger("httpx2").setLevel(logging.INFO)
    try:
        ll.configure(tmp_path / "own")
        _openai(server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert len(_http_lines(read_records(tmp_path / "own"))) == 1
    finally:
        logging.getLogger("httpx2").setLevel(logging.NOTSET)
    ll.reset()
    assert logging.getLogger("httpx2").level == logging.NOTSET
    ll.configure(tmp_path / "after")
    logging.getLogger("httpx2").info("HTTP Request: GET /health")
    assert len(_http_lines(read_records(tmp_path / "after"))) == 1


def test_without_instrumentation_the_request_lines_are_written(
    tmp_path: Path, server: FakeLLM
) -> None:
    """A fresh process that never instruments an SDK: its HTTP lines land as before."""
    script = textwrap.dedent(f"""
        import openai, llmops_logging as ll
        ll.configure({str(tmp_path)!r})
        client = openai.OpenAI(base_url={server.openai_url!r}, api_key="sk-test", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages={MESSAGES!r})
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=60)
    records = read_records(tmp_path)
    assert [r["kind"] for r in records] == ["log"]
    (line,) = _http_lines(records)
    assert line["logger"] == "httpx2" and line["level"] == "info"


def test_at_debug_level_the_request_lines_are_written(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path, level="DEBUG")
    _openai(server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    (line,) = _http_lines(read_records(tmp_path))
    assert line["logger"] == "httpx2" and line["level"] == "info"
