"""OpenTelemetry spans in the log: GenAI spans (Pydantic AI's own) and OpenInference spans
become `llm_call`, `tool_call` and agent steps, other spans steps, each model call once."""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmops_logging as ll
from llmops_logging.llm import _bounded, otel_spans

from .conftest import framework, read_records

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from fake_llm import FakeLLM

pytest.importorskip("opentelemetry.sdk")
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import Status, StatusCode

QUESTION = "Where is order A-1001?"


@pytest.fixture
def provider() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """A tracer provider of the test's own, with our processor and an in-memory exporter."""
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    ll.instrument_opentelemetry(tracer_provider)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield tracer_provider, exporter
    tracer_provider.shutdown()


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLM]:
    with FakeLLM.start() as fake:
        yield fake


def _steps(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        r["step_id"]: r
        for r in records
        if r["kind"] in ("step_start", "tool_call", "llm_call") and "step_id" in r
    }


def _ancestors(record: dict[str, Any], steps: dict[str, dict[str, Any]]) -> list[str]:
    names = []
    parent = record.get("parent_id")
    while parent is not None:
        step = steps[parent]
        names.append(step["name"] if "name" in step else step["gen_ai"]["tool"]["name"])
        parent = step.get("parent_id")
    return names


# -- Pydantic AI --------------------------------------------------------------------------------


def _pydantic_agent(
    tracer_provider: TracerProvider, model: Any = None, name: str = "helper", tool: Any = None
) -> Any:
    pydantic_ai = framework("pydantic_ai", "test-frameworks")
    from pydantic_ai.capabilities import Instrumentation
    from pydantic_ai.models.instrumented import InstrumentationSettings
    from pydantic_ai.models.test import TestModel

    agent = pydantic_ai.Agent(
        model if model is not None else TestModel(),
        name=name,
        instructions="Answer briefly.",
        capabilities=[Instrumentation(InstrumentationSettings(tracer_provider=tracer_provider))],
    )

    def lookup_order(order_id: str) -> str:
        """Find an order by its id."""
        ll.get_logger().info("looking up", order_id=order_id)
        return f"order {order_id} shipped Monday"

    agent.tool_plain(tool or lookup_order)
    return agent


@pytest.mark.parametrize("streamed", [False, True], ids=["run", "streamed"])
def test_a_pydantic_ai_agent_with_a_tool_is_a_run_of_an_agent_step_its_calls_and_its_tool(
    tmp_path: Path, provider: tuple[TracerProvider, InMemorySpanExporter], streamed: bool
) -> None:
    tracer_provider, exporter = provider
    ll.configure(tmp_path)
    agent = _pydantic_agent(tracer_provider)

    async def go() -> None:
        if streamed:
            async with agent.run_stream(QUESTION) as result:
                await result.get_output()
        else:
            await agent.run(QUESTION)

    asyncio.run(go())
    records = read_records(tmp_path)
    steps = _steps(records)
    spans = {f"{s.context.span_id:016x}": s for s in exporter.get_finished_spans()}
    (root,) = [s for s in spans.values() if s.parent is None]

    (run_start,) = [r for r in records if r["kind"] == "run_start"]
    assert run_start["name"] == root.name
    conversation = root.attributes["gen_ai.conversation.id"]
    mine = [r for r in records if r["run_id"] == run_start["run_id"]]
    assert {r["gen_ai"]["conversation"]["id"] for r in mine} == {conversation}
    assert [r["kind"] for r in records if r["kind"].startswith("run_")] == ["run_start", "run_ok"]

    (agent_step,) = [r for r in records if r["kind"] == "step_start"]
    assert agent_step["name"] == "helper"
    assert agent_step["gen_ai"]["operation"]["name"] == "invoke_agent"
    assert agent_step["span_id"] == f"{root.context.span_id:016x}"  # its own span's ids
    assert agent_step["trace_id"] == f"{root.context.trace_id:032x}"

    (tool,) = [r for r in records if r["kind"] == "tool_call"]
    assert tool["event"] == "execute_tool lookup_order"
    assert tool["gen_ai"]["tool"]["call"]["arguments"] == {"order_id": "a"}
    assert tool["gen_ai"]["tool"]["call"]["result"] == "order a shipped Monday"
    assert tool["gen_ai"]["tool"]["call"]["id"]
    assert spans[tool["span_id"]].name == "execute_tool lookup_order"
    assert _ancestors(tool, steps) == ["helper"]
    (line,) = [r for r in records if r["event"] == "looking up"]
    assert line["step_id"] == tool["step_id"] and line["span_id"] == tool["span_id"]

    calls = [r for r in records if r["kind"] == "llm_call"]
    chat_spans = [s for s in spans.values() if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert len(calls) == len(chat_spans) == 2
    for call, span in zip(calls, sorted(chat_spans, key=lambda s: s.start_time), strict=True):
        assert call["span_id"] == f"{span.context.span_id:016x}"
        assert call["gen_ai"]["provider"]["name"] == "test"
        usage = span.attributes["gen_ai.usage.input_tokens"]
        assert call["gen_ai"]["usage"]["input_tokens"] == usage
        assert call["gen_ai"]["output"]["messages"][0]["role"] == "assistant"
        assert _ancestors(call, steps) == ["helper"]
    (run_ok,) = [r for r in records if r["kind"] == "run_ok"]
    assert run_ok["usage"]["llm_calls"] == 2
    assert run_ok["usage"]["input_tokens"] == sum(
        c["gen_ai"]["usage"]["input_tokens"] for c in calls
    )
    assert run_ok["counts"]["tool_call"] == 1


def test_a_failing_tool_is_an_error_record_and_fails_the_agent_step_and_the_run(
    tmp_path: Path, provider: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    ll.configure(tmp_path)

    def broken_lookup(order_id: str) -> str:
        """A lookup whose backend is down."""
        raise ConnectionError("orders backend is down")

    agent = _pydantic_agent(provider[0], tool=broken_lookup)
    with pytest.raises(ConnectionError):
        agent.run_sync(QUESTION)
    records = read_records(tmp_path)
    (tool,) = [r for r in records if r["kind"] == "tool_call"]
    assert tool["level"] == "error"
    assert tool["error"]["message"] == "ConnectionError: orders backend is down"
    (agent_end,) = [r for r in records if r["kind"] in ("step_ok", "step_error")]
    assert agent_end["kind"] == "step_error"
    assert [r["kind"] for r in records if r["kind"].startswith("run_")] == [
        "run_start",
        "run_error",
    ]


def test_an_agent_run_by_a_tool_nests_below_that_tool_call(
    tmp_path: Path, provider: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    ll.configure(tmp_path)
    expert = _pydantic_agent(provider[0], name="expert")

    async def ask_expert(order_id: str) -> str:
        """Ask the order expert."""
        return str((await expert.run(f"Where is {order_id}?")).output)

    asyncio.run(_pydantic_agent(provider[0], name="front", tool=ask_expert).run(QUESTION))
    records = read_records(tmp_path)
    steps = _steps(records)
    (inner,) = [r for r in records if r["kind"] == "step_start" and r["name"] == "expert"]
    assert _ancestors(inner, steps) == ["ask_expert", "front"]
    (lookup,) = [r for r in records if r["event"] == "execute_tool lookup_order"]
    assert _ancestors(lookup, steps) == ["expert", "ask_expert", "front"]
    assert len([r for r in records if r["kind"] == "run_start"]) == 1


def test_concurrent_agents_in_tasks_are_runs_of_their_own(
    tmp_path: Path, provider: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    ll.configure(tmp_path)
    names = ("alpha", "beta", "gamma")

    async def together() -> None:
        await asyncio.gather(*(_pydantic_agent(provider[0], name=n).run(QUESTION) for n in names))

    asyncio.run(together())
    records = read_records(tmp_path)
    steps = _steps(records)
    runs = {r["run_id"]: r for r in records if r["kind"] == "run_ok"}
    assert len(runs) == 3
    for name in names:
        (agent,) = [r for r in records if r["kind"] == "step_start" and r["name"] == name]
        inside = [r for r in records if r["kind"] in ("llm_call", "tool_call")]
        mine = [r for r in inside if _ancestors(r, steps) == [name]]
        assert sorted(r["kind"] for r in mine) == ["llm_call", "llm_call", "tool_call"]
        assert {r["run_id"] for r in mine} == {agent["run_id"]}
        assert runs[agent["run_id"]]["usage"]["llm_calls"] == 2


def test_a_pydantic_ai_call_through_the_patched_openai_sdk_is_one_record_counted_once(
    tmp_path: Path, provider: tuple[TracerProvider, InMemorySpanExporter], server: FakeLLM
) -> None:
    framework("pydantic_ai", "test-frameworks")
    import openai
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    ll.configure(tmp_path)
    client = openai.AsyncOpenAI(base_url=server.openai_url, api_key="sk-test", max_retries=0)
    ll.instrument_openai(client)
    model = OpenAIChatModel("gpt-4o-mini", provider=OpenAIProvider(openai_client=client))
    before = len(server.requests("/v1/chat/completions"))
    try:
        _pydantic_agent(provider[0], model=model).run_sync(QUESTION)
    finally:  # closed on a loop of its own: collected later, inside another test's loop, it
        asyncio.run(client.close())  # logged "Event loop is closed" into that test's log
    records = read_records(tmp_path)
    calls = [r for r in records if r["kind"] == "llm_call"]
    assert len(calls) == len(server.requests("/v1/chat/completions")) - before == 2
    assert all(c["gen_ai"]["response"]["id"] == "chatcmpl-fake1" for c in calls)  # the SDK's
    chat_spans = [s for s in provider[1].get_finished_spans() if s.name.startswith("chat ")]
    assert sorted(c["span_id"] for c in calls) == sorted(
        f"{s.context.span_id:016x}" for s in chat_spans
    )
    (run_ok,) = [r for r in records if r["kind"] == "run_ok"]
    assert run_ok["usage"]["llm_calls"] == 2
    assert run_ok["usage"]["input_tokens"] == sum(
        c["gen_ai"]["usage"]["input_tokens"] for c in calls
    )


def test_with_content_off_no_argument_result_or_message_reaches_the_file(
    tmp_path: Path, provider: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    ll.configure(tmp_path, capture_content=False)

    def quiet_lookup(order_id: str) -> str:
        """A lookup that logs nothing of its own."""
        return f"order {order_id} shipped"

    _pydantic_agent(provider[0], tool=quiet_lookup).run_sync(QUESTION)
    text = (tmp_path / "events.jsonl").read_text()
    assert "A-1001" not in text and "shipped" not in text and "Answer briefly" not in text
    records = read_records(tmp_path)
    (tool,) = [r for r in records if r["kind"] == "tool_call"]
    assert "arguments" not in tool["gen_ai"]["tool"].get("call", {})
    calls = [r for r in records if r["kind"] == "llm_call"]
    assert len(calls) == 2
    content = {"input", "output", "system_instructions"}
    assert all(not set(c["gen_ai"]) & content for c in calls)


# -- OpenInference and plain spans ---------------------------------------------------------------


def test_openinference_spans_are_calls_tools_agents_and_steps(
    tmp_path: Path, provider: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    ll.configure(tmp_path)
    tracer = provider[0].get_tracer("test")
    with ll.run("job"), tracer.start_as_current_span("workflow"):  # in a run: a step
        with tracer.start_as_current_span(
            "planner", attributes={"openinference.span.kind": "AGENT", "agent.name": "planner"}
        ):
            with tracer.start_as_current_span(
                "ChatCompletion",
                attributes={
                    "openinference.span.kind": "LLM",
                    "llm.model_name": "gpt-4o-mini",
                    "llm.provider": "openai",
                },
            ) as llm:
                llm.set_attribute("llm.token_count.prompt", 12)
                llm.set_attribute("llm.token_count.completion", 5)
                llm.set_attribute("llm.input_messages.0.message.role", "user")
                llm.set_attribute("llm.input_messages.0.message.content", QUESTION)
                llm.set_attribute("llm.output_messages.0.message.role", "assistant")
                llm.set_attribute("llm.output_messages.0.message.content", "Monday")
            with tracer.start_as_current_span(
                "search", attributes={"openinference.span.kind": "TOOL", "tool.name": "search"}
            ) as tool_span:
                tool_span.set_attribute("input.value", '{"q": "A-1001"}')
                tool_span.set_attribute("output.value", "shipped")
            with tracer.start_as_current_span("retry"):
                pass
        with tracer.start_as_current_span("broken") as broken:
            broken.set_status(Status(StatusCode.ERROR, "timed out"))
    records = read_records(tmp_path)
    steps = _steps(records)
    assert [r["name"] for r in records if r["kind"] == "run_start"] == ["job"]
    assert [r["kind"] for r in records if r["kind"].startswith("run_")][-1] == "run_ok"
    (call,) = [r for r in records if r["kind"] == "llm_call"]
    assert call["gen_ai"]["request"]["model"] == "gpt-4o-mini"
    assert call["gen_ai"]["usage"] == {"input_tokens": 12, "output_tokens": 5}
    assert call["gen_ai"]["input"]["messages"] == [
        {"role": "user", "parts": [{"type": "text", "content": QUESTION}]}
    ]
    assert _ancestors(call, steps) == ["planner", "workflow"]
    (tool,) = [r for r in records if r["kind"] == "tool_call"]
    assert tool["gen_ai"]["tool"]["call"] == {"arguments": {"q": "A-1001"}, "result": "shipped"}
    assert _ancestors(tool, steps) == ["planner", "workflow"]
    (planner,) = [r for r in records if r["kind"] == "step_start" and r["name"] == "planner"]
    assert planner["gen_ai"]["agent"]["name"] == "planner"
    (retry,) = [r for r in records if r["kind"] == "step_start" and r["name"] == "retry"]
    assert _ancestors(retry, steps) == ["planner", "workflow"]
    (failed,) = [r for r in records if r["kind"] == "step_error"]
    assert failed["name"] == "broken" and failed["error"]["message"] == "timed out"


def test_an_openinference_instrumented_openai_call_over_the_patch_is_one_record(
    tmp_path: Path, provider: tuple[TracerProvider, InMemorySpanExporter], server: FakeLLM
) -> None:
    instrumentation = framework("openinference.instrumentation.openai", "test-frameworks")
    import openai

    ll.configure(tmp_path)
    instrumentor = instrumentation.OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider[0])
    try:
        client = openai.OpenAI(base_url=server.openai_url, api_key="sk-test", max_retries=0)
        ll.instrument_openai(client)
        with ll.run("ask"):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}]
            )
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}]
            )
    finally:
        instrumentor.uninstrument()
    records = read_records(tmp_path)
    calls = [r for r in records if r["kind"] == "llm_call"]
    assert len(calls) == 2
    assert all(c["attempts"] == 1 for c in calls)  # the SDK patch's record
    (run_ok,) = [r for r in records if r["kind"] == "run_ok"]
    assert run_ok["usage"]["llm_calls"] == 2
    assert run_ok["usage"]["input_tokens"] == sum(
        c["gen_ai"]["usage"]["input_tokens"] for c in calls
    )


def test_instrumenting_a_provider_twice_adds_one_processor(tmp_path: Path) -> None:
    tracer_provider = TracerProvider()
    ll.instrument_opentelemetry(tracer_provider)
    ll.instrument_opentelemetry(tracer_provider)
    ll.configure(tmp_path)
    tracer = tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("once", attributes={"gen_ai.conversation.id": "c-1"}):
        pass
    assert [r["kind"] for r in read_records(tmp_path)] == [
        "run_start",
        "step_start",
        "step_ok",
        "run_ok",
    ]


# -- which spans --------------------------------------------------------------------------------

AGENT = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "helper"}
CHAT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 7,
    "gen_ai.usage.output_tokens": 3,
}


def test_a_gen_ai_span_below_a_foreign_root_is_the_root_of_its_own_run(
    tmp_path: Path, provider: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    ll.configure(tmp_path)
    tracer = provider[0].get_tracer("test")
    with tracer.start_as_current_span("GET /ask", attributes={"http.request.method": "GET"}):
        with tracer.start_as_current_span("SELECT orders"):
            pass
        with tracer.start_as_current_span("invoke_agent helper", attributes=AGENT):
            with tracer.start_as_current_span("running tools"):  # below a GenAI span
                pass
            with tracer.start_as_current_span("chat gpt-4o-mini", attributes=CHAT):
                pass
        with tracer.start_as_current_span("POST /audit"):
            pass
    records = read_records(tmp_path)
    text = (tmp_path / "events.jsonl").read_text()
    assert "GET /ask" not in text and "SELECT" not in text and "audit" not in text
    (run_start,) = [r for r in records if r["kind"] == "run_start"]
    assert run_start["name"] == "invoke_agent helper"
    assert {r["run_id"] for r in records} == {run_start["run_id"]}
    steps = _steps(records)
    (tools,) = [r for r in records if r["kind"] == "step_start" and r["name"] == "running tools"]
    assert _ancestors(tools, steps) == ["helper"]
    (call,) = [r for r in records if r["kind"] == "llm_call"]
    assert _ancestors(call, steps) == ["helper"]
    (run_ok,) = [r for r in records if r["kind"] == "run_ok"]
    assert run_ok["usage"]["input_tokens"] == 7


def test_a_foreign_span_alone_writes_nothing(
    tmp_path: Path, provider: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    ll.configure(tmp_path)
    tracer = provider[0].get_tracer("test")
    with tracer.start_as_current_span("GET /health"), tracer.start_as_current_span("SELECT 1"):
        pass
    ll.get_logger().info("after")
    assert [r["event"] for r in read_records(tmp_path)] == ["after"]
    assert len(provider[1].get_finished_spans()) == 2  # the other processors saw them


def test_a_foreign_span_inside_a_run_or_step_is_a_step_of_it(
    tmp_path: Path, provider: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    ll.configure(tmp_path)
    tracer = provider[0].get_tracer("test")
    with ll.run("job") as run:
        with tracer.start_as_current_span("fetch"):
            pass
        with ll.step("load") as step, tracer.start_as_current_span("parse"):
            pass
    records = read_records(tmp_path)
    assert [r["name"] for r in records if r["kind"] == "run_start"] == ["job"]
    (fetch,) = [r for r in records if r["kind"] == "step_start" and r["name"] == "fetch"]
    (parse,) = [r for r in records if r["kind"] == "step_start" and r["name"] == "parse"]
    assert fetch["run_id"] == parse["run_id"] == run.run_id
    assert parse["parent_id"] == step.step_id


def test_all_spans_records_every_span_and_a_later_call_may_change_it(tmp_path: Path) -> None:
    tracer_provider = TracerProvider()
    ll.instrument_opentelemetry(tracer_provider, all_spans=True)
    ll.configure(tmp_path)
    tracer = tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("GET /ask"), tracer.start_as_current_span("SELECT 1"):
        pass
    ll.instrument_opentelemetry(tracer_provider)  # left out: the choice stays
    with tracer.start_as_current_span("GET /again"):
        pass
    ll.instrument_opentelemetry(tracer_provider, all_spans=False)
    with tracer.start_as_current_span("GET /not"):
        pass
    records = read_records(tmp_path)
    assert [r["name"] for r in records if r["kind"] == "run_start"] == ["GET /ask", "GET /again"]
    steps = [r["name"] for r in records if r["kind"] == "step_start"]
    assert steps == ["GET /ask", "SELECT 1", "GET /again"]
    assert len(tracer_provider._active_span_processor._span_processors) == 1
    tracer_provider.shutdown()


def test_spans_never_ended_are_forgotten_past_the_limit_and_later_spans_record(
    tmp_path: Path,
    provider: tuple[TracerProvider, InMemorySpanExporter],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_bounded, "LIMIT", 20)
    ll.configure(tmp_path)
    tracer = provider[0].get_tracer("test")
    processor = getattr(provider[0], otel_spans._MARK)

    def never_ended() -> None:
        for index in range(60):
            tracer.start_span(f"chat {index}", attributes=CHAT)  # never ended

    contextvars.Context().run(never_ended)
    assert len(processor._spans) == 20
    with (
        tracer.start_as_current_span("invoke_agent helper", attributes=AGENT),
        tracer.start_as_current_span("chat gpt-4o-mini", attributes=CHAT),
    ):
        pass
    assert len(processor._spans) <= 20
    records = read_records(tmp_path)
    runs = [r for r in records if r["kind"] == "run_ok"]
    assert [r["usage"]["llm_calls"] for r in runs] == [1]
    (call,) = [r for r in records if r["kind"] == "llm_call"]
    assert call["run_id"] == runs[0]["run_id"]


def test_without_the_sdk_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    with pytest.raises(ImportError, match=r"pip install 'llmops_logging\[opentelemetry\]'"):
        otel_spans.instrument_opentelemetry()
