"""Trace correlation: records written while an OpenTelemetry span is current carry its ids."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

import llmops_logging as ll
from llmops_logging import _tracing

from .conftest import read_records

ROOT = Path(__file__).resolve().parent.parent


def test_both_routes_and_boundaries_carry_the_current_span_ids(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    tracer = TracerProvider().get_tracer("test")
    log = ll.get_logger("agent")
    with tracer.start_as_current_span("outer") as outer, ll.run("traced"):
        log.info("inside outer")
        with tracer.start_as_current_span("inner") as inner, ll.step("fetch"):
            logging.getLogger("httpx2").warning("HTTP Request: POST /v1/chat/completions")
            log.info("inside inner")
    log.info("after the spans")
    logging.getLogger("httpx2").warning("after the spans too")

    records = {r["event"]: r for r in read_records(tmp_path)}
    outer_ids = outer.get_span_context()
    inner_ids = inner.get_span_context()
    outer_trace = f"{outer_ids.trace_id:032x}"
    for event in ("run_start", "inside outer", "run_ok"):
        assert records[event]["trace_id"] == outer_trace, event
        assert records[event]["span_id"] == f"{outer_ids.span_id:016x}", event
    for event in ("step_start", "HTTP Request: POST /v1/chat/completions", "inside inner"):
        assert records[event]["trace_id"] == outer_trace, event
        assert records[event]["span_id"] == f"{inner_ids.span_id:016x}", event
    assert len(outer_trace) == 32 and int(outer_trace, 16)
    assert len(records["inside inner"]["span_id"]) == 16
    for event in ("after the spans", "after the spans too"):
        assert "trace_id" not in records[event] and "span_id" not in records[event]


def test_an_llm_call_carries_the_span_it_started_in(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("agent turn") as span:
        call = ll.llm_call("gpt-4o-mini", provider="openai").start()
    call.set_usage(10, 2)
    call.finish()  # after the span ended, as a stream consumed later
    (record,) = [r for r in read_records(tmp_path) if r["kind"] == "llm_call"]
    assert record["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert record["span_id"] == f"{span.get_span_context().span_id:016x}"


def test_the_public_api_serves_a_context_other_than_the_stock_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry import trace

    monkeypatch.setattr(_tracing, "_span_of_context", None)  # as if OTEL_PYTHON_CONTEXT chose
    monkeypatch.setattr(_tracing, "_public_span", trace.get_current_span)  # another runtime
    ll.configure(tmp_path)
    with TracerProvider().get_tracer("test").start_as_current_span("s") as span:
        ll.get_logger("agent").info("inside")
    ll.get_logger("agent").info("outside")
    inside, outside = read_records(tmp_path)
    assert inside["span_id"] == f"{span.get_span_context().span_id:016x}"
    assert "span_id" not in outside and "trace_id" not in outside


def test_inside_a_span_a_callers_ids_are_kept_aside_like_run_id(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with TracerProvider().get_tracer("test").start_as_current_span("s") as span:
        ll.get_logger("agent").info("linked", trace_id="upstream", span_id="forged")
        logging.getLogger("old").warning("linked", extra={"trace_id": "upstream"})
    ll.get_logger("agent").info("no span", trace_id="upstream")
    context = span.get_span_context()
    inside, stdlib, outside = read_records(tmp_path)
    for record in (inside, stdlib):
        assert record["trace_id"] == f"{context.trace_id:032x}"
        assert record["span_id"] == f"{context.span_id:016x}"
        assert record["user_trace_id"] == "upstream"
    assert inside["user_span_id"] == "forged"
    assert outside["trace_id"] == "upstream" and "user_trace_id" not in outside


def test_a_process_without_opentelemetry_never_imports_it(tmp_path: Path) -> None:
    script = (
        "import logging, sys, llmops_logging as ll\n"
        f"ll.configure({str(tmp_path)!r})\n"
        "with ll.run('plain'):\n"
        "    ll.get_logger('a').info('hello')\n"
        "    logging.getLogger('b').warning('old')\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.replace("'", '"')) == []
    records = read_records(tmp_path)
    assert [r["event"] for r in records] == ["run_start", "hello", "old", "run_ok"]
    assert not any("trace_id" in r or "span_id" in r for r in records)
