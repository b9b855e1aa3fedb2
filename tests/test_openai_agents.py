"""The OpenAI Agents SDK's traces in the log: a run per trace, agents as steps, function tools
as `tool_call` records, hand-offs, and each model call once, against the local fake server."""

from __future__ import annotations

import asyncio
import contextvars
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmops_logging as ll
from llmops_logging.llm import _bounded, _call, openai_agents

from .conftest import framework, read_records

agents = framework("agents", "test-frameworks")
openai = pytest.importorskip("openai")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from fake_llm import FakeLLM  # noqa: E402

QUESTION = "Where is order A-1001?"


@pytest.fixture(scope="module", autouse=True)
def _only_our_processor() -> Iterator[None]:
    """The SDK's own exporter would send traces to OpenAI: it is dropped for these tests."""
    provider = agents.tracing.get_trace_provider()
    saved = list(provider._multi_processor._processors)
    agents.set_trace_processors([])
    ll.instrument_openai_agents()
    yield
    agents.set_trace_processors(saved)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLM]:
    with FakeLLM.start() as fake:
        yield fake


def _client(server: FakeLLM, *, patched: bool = False) -> Any:
    client = openai.AsyncOpenAI(base_url=server.openai_url, api_key="sk-test", max_retries=0)
    if patched:
        ll.instrument_openai(client)
    return client


def _model(client: Any, responses: bool = False) -> Any:
    if responses:
        return agents.OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client)
    return agents.OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client)


@agents.function_tool
def lookup_order(order_id: str) -> str:
    """Find an order by its id."""
    ll.get_logger().info("looking up", order_id=order_id)
    return f"order {order_id} shipped Monday"


@agents.function_tool
def broken_lookup(order_id: str) -> str:
    """A lookup whose backend is down."""
    raise ConnectionError("orders backend is down")


def _agent(model: Any, name: str = "support", **options: Any) -> Any:
    options.setdefault("tools", [lookup_order])
    options.setdefault("model_settings", agents.ModelSettings(include_usage=True))
    return agents.Agent(name=name, instructions="Answer briefly.", model=model, **options)


def _run(agent: Any, streamed: bool = False) -> Any:
    async def go() -> Any:
        try:
            if not streamed:
                return await agents.Runner.run(agent, QUESTION)
            result = agents.Runner.run_streamed(agent, QUESTION)
            async for _ in result.stream_events():
                pass
            return result
        finally:  # in this loop: a client collected later, in another loop, logs an error
            await agent.model._client.close()

    return asyncio.run(go())


def _by_step(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each step's opening record (or its one record) by `step_id`."""
    steps: dict[str, dict[str, Any]] = {}
    for record in records:
        if record["kind"] in ("step_start", "tool_call", "llm_call"):
            steps[record["step_id"]] = record
    return steps


def _ancestors(record: dict[str, Any], steps: dict[str, dict[str, Any]]) -> list[str]:
    """The names of the steps above a record, innermost first (agents by their name)."""
    names = []
    parent = record.get("parent_id")
    while parent is not None:
        step = steps[parent]
        names.append(step["name"] if "name" in step else step["gen_ai"]["tool"]["name"])
        parent = step.get("parent_id")
    return names


def _agent_steps(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        r
        for r in records
        if r["kind"] == "step_start" and r.get("gen_ai", {}).get("operation") is not None
    ]


@pytest.mark.parametrize("streamed", [False, True], ids=["run", "streamed"])
def test_an_agent_with_a_tool_is_a_run_of_an_agent_step_its_calls_and_its_tool(
    tmp_path: Path, server: FakeLLM, streamed: bool
) -> None:
    ll.configure(tmp_path)
    requests_before = len(server.requests("/v1/chat/completions"))
    result = _run(_agent(_model(_client(server))), streamed=streamed)
    assert result.final_output
    records = read_records(tmp_path)
    steps = _by_step(records)

    runs = [r for r in records if r["kind"] in ("run_start", "run_ok")]
    assert [r["kind"] for r in runs] == ["run_start", "run_ok"]
    assert runs[0]["name"] == "Agent workflow"
    assert {r["run_id"] for r in records} == {runs[0]["run_id"]}

    (agent,) = _agent_steps(records)
    assert agent["name"] == "support"
    assert agent["gen_ai"] == {"operation": {"name": "invoke_agent"}, "agent": {"name": "support"}}
    (agent_ok,) = [r for r in records if r["kind"] == "step_ok" and r["name"] == "support"]
    assert agent_ok["gen_ai"]["operation"]["name"] == "invoke_agent"

    (tool,) = [r for r in records if r["kind"] == "tool_call"]
    assert tool["event"] == "execute_tool lookup_order"
    assert tool["level"] == "info"
    assert tool["gen_ai"]["operation"]["name"] == "execute_tool"
    assert tool["gen_ai"]["tool"]["name"] == "lookup_order"
    assert tool["gen_ai"]["tool"]["call"] == {
        "arguments": {"order_id": "A-1001"},
        "result": "order A-1001 shipped Monday",
    }
    assert tool["duration_s"] >= 0
    assert "support" in _ancestors(tool, steps)
    (line,) = [r for r in records if r["event"] == "looking up"]
    assert line["step_id"] == tool["step_id"]  # the tool's own log line hangs below it

    calls = [r for r in records if r["kind"] == "llm_call"]
    asked = len(server.requests("/v1/chat/completions")) - requests_before
    assert len(calls) == asked == 2
    for call in calls:
        assert call["gen_ai"]["request"]["model"] == "gpt-4o-mini"
        assert call["gen_ai"]["usage"]["input_tokens"] > 0
        assert "support" in _ancestors(call, steps)
    assert calls[0]["gen_ai"]["output"]["messages"][0]["parts"][0]["name"] == "lookup_order"
    (run_ok,) = [r for r in records if r["kind"] == "run_ok"]
    assert run_ok["usage"]["llm_calls"] == 2
    assert run_ok["usage"]["input_tokens"] == sum(
        c["gen_ai"]["usage"]["input_tokens"] for c in calls
    )
    assert run_ok["counts"]["tool_call"] == 1


@pytest.mark.parametrize(
    ("streamed", "responses"),
    [(False, False), (True, False), (False, True), (True, True)],
    ids=["chat", "chat-streamed", "responses", "responses-streamed"],
)
def test_a_call_seen_by_the_agents_sdk_and_the_openai_sdk_is_one_record_counted_once(
    tmp_path: Path, server: FakeLLM, streamed: bool, responses: bool
) -> None:
    ll.configure(tmp_path)
    path = "/v1/responses" if responses else "/v1/chat/completions"
    before = len(server.requests(path))
    client = _client(server, patched=True)
    _run(_agent(_model(client, responses)), streamed=streamed)
    records = read_records(tmp_path)
    calls = [r for r in records if r["kind"] == "llm_call"]
    assert len(calls) == len(server.requests(path)) - before == 2
    # the SDK patch's record (it sees the response id), not the framework's; a streamed
    # Responses call (`with_streaming_response`) with what its stream carried
    for call in calls:
        assert call["gen_ai"]["response"]["id"] and call["gen_ai"]["response"]["finish_reasons"]
        assert call["gen_ai"]["usage"]["output_tokens"] > 0
        assert call["gen_ai"]["output"]["messages"][0]["parts"]
        assert ("ttft_s" in call) == streamed
    (run_ok,) = [r for r in records if r["kind"] == "run_ok"]
    assert run_ok["usage"]["llm_calls"] == 2
    assert run_ok["usage"]["input_tokens"] == sum(
        c["gen_ai"]["usage"]["input_tokens"] for c in calls
    )
    (agent_ok,) = [r for r in records if r["kind"] == "step_ok" and r["name"] == "support"]
    assert agent_ok["usage"]["llm_calls"] == 2


def test_a_responses_model_call_is_an_llm_call_with_its_usage(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    _run(_agent(_model(_client(server), responses=True)))
    calls = [r for r in read_records(tmp_path) if r["kind"] == "llm_call"]
    assert len(calls) == 2
    for call in calls:
        assert call["gen_ai"]["response"]["model"] == "gpt-4o-mini-2024-07-18"
        assert call["gen_ai"]["usage"]["output_tokens"] > 0


def test_a_failing_tool_is_a_tool_call_with_its_error_and_the_agent_goes_on(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    result = _run(_agent(_model(_client(server)), tools=[broken_lookup]))
    assert result.final_output
    records = read_records(tmp_path)
    (tool,) = [r for r in records if r["kind"] == "tool_call"]
    assert tool["event"] == "execute_tool broken_lookup"
    assert tool["level"] == "error"
    assert tool["error"]["type"] == "SpanError"
    assert "Error running tool" in tool["error"]["message"]
    assert [r["kind"] for r in records if r["kind"].startswith("run_")] == ["run_start", "run_ok"]


def test_a_handoff_is_a_record_naming_both_agents_and_the_next_agent_is_a_step(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    model = _model(_client(server))
    billing = _agent(model, "billing", tools=[])
    triage = _agent(model, "triage", tools=[], handoffs=[billing])
    _run(triage)
    records = read_records(tmp_path)
    (handoff,) = [r for r in records if r["kind"] == "handoff"]
    assert handoff["gen_ai"]["agent"]["name"] == "triage"
    assert handoff["to_agent"] == "billing"
    assert [a["name"] for a in _agent_steps(records)] == ["triage", "billing"]
    steps = _by_step(records)
    assert "triage" in [
        steps[handoff["step_id"]]["name"],
        *_ancestors(steps[handoff["step_id"]], steps),
    ]


def test_an_agent_used_as_a_tool_nests_below_that_tool_call(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    model = _model(_client(server))
    expert = _agent(model, "expert")

    @agents.function_tool
    async def ask_expert(order_id: str) -> str:
        """Ask the order expert."""
        answer = await agents.Runner.run(expert, f"Where is {order_id}?")
        return str(answer.final_output)

    _run(_agent(model, "front", tools=[ask_expert]))
    records = read_records(tmp_path)
    steps = _by_step(records)
    (inner,) = [a for a in _agent_steps(records) if a["name"] == "expert"]
    assert _ancestors(inner, steps) == ["task", "ask_expert", "turn", "front", "task"]
    (lookup,) = [r for r in records if r["event"] == "execute_tool lookup_order"]
    assert _ancestors(lookup, steps)[:2] == ["turn", "expert"]
    assert len({r["run_id"] for r in records}) == 1  # one trace, one run


def test_inside_an_open_run_a_trace_adds_steps_not_a_run(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    with ll.run("chat turn") as run, ll.step("answer") as outer:
        _run(_agent(_model(_client(server))))
    records = read_records(tmp_path)
    assert [r["name"] for r in records if r["kind"] == "run_start"] == ["chat turn"]
    assert {r["run_id"] for r in records} == {run.run_id}
    task = next(r for r in records if r["kind"] == "step_start" and r["name"] == "task")
    assert task["parent_id"] == outer.step_id


def test_a_trace_is_a_run_of_its_workflow_name_and_its_group_is_the_conversation(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    with agents.trace("order support", group_id="thread-7"):
        _run(_agent(_model(_client(server))))
    records = read_records(tmp_path)
    assert [r["name"] for r in records if r["kind"] == "run_start"] == ["order support"]
    assert {r["gen_ai"]["conversation"]["id"] for r in records} == {"thread-7"}


def test_concurrent_agents_in_tasks_and_threads_keep_their_own_trees(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    model = _model(_client(server))

    async def two_in_tasks() -> None:
        await asyncio.gather(
            agents.Runner.run(_agent(model, "alpha"), QUESTION),
            agents.Runner.run(_agent(model, "beta"), QUESTION),
        )
        await model._client.close()

    asyncio.run(two_in_tasks())
    threads = [
        threading.Thread(target=_run, args=(_agent(_model(_client(server)), name),))
        for name in ("gamma", "delta")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    records = read_records(tmp_path)
    steps = _by_step(records)
    runs = {r["run_id"]: r for r in records if r["kind"] == "run_ok"}
    assert len(runs) == 4
    for name in ("alpha", "beta", "gamma", "delta"):
        (agent,) = [a for a in _agent_steps(records) if a["name"] == name]
        inside = [
            r
            for r in records
            if r["kind"] in ("tool_call", "llm_call") and name in _ancestors(r, steps)
        ]
        assert sorted(r["kind"] for r in inside) == ["llm_call", "llm_call", "tool_call"]
        assert {r["run_id"] for r in inside} == {agent["run_id"]}
        assert runs[agent["run_id"]]["usage"]["llm_calls"] == 2


def test_with_content_off_no_argument_result_or_message_reaches_the_file(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path, capture_content=False)
    _run(_agent(_model(_client(server)), tools=[agents.function_tool(_quiet_lookup)]))
    text = (tmp_path / "events.jsonl").read_text()
    assert "A-1001" not in text and "shipped" not in text and "Answer briefly" not in text
    records = read_records(tmp_path)
    (tool,) = [r for r in records if r["kind"] == "tool_call"]
    assert tool["gen_ai"]["tool"] == {"name": "_quiet_lookup", "type": "function"}
    calls = [r for r in records if r["kind"] == "llm_call"]
    assert len(calls) == 2
    assert all("input" not in c["gen_ai"] and "output" not in c["gen_ai"] for c in calls)


def _quiet_lookup(order_id: str) -> str:
    """A lookup that logs nothing of its own."""
    return f"order {order_id} shipped"


def test_instrumenting_twice_adds_one_processor(tmp_path: Path, server: FakeLLM) -> None:
    ll.instrument_openai_agents()
    ll.instrument_openai_agents()
    processors = agents.tracing.get_trace_provider()._multi_processor._processors
    assert len(processors) == 1
    ll.configure(tmp_path)
    _run(_agent(_model(_client(server))))
    assert len([r for r in read_records(tmp_path) if r["kind"] == "tool_call"]) == 1


def test_a_failure_inside_the_processor_never_reaches_the_agent(
    tmp_path: Path, server: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("planted")

    monkeypatch.setattr(ll.ToolCall, "__enter__", broken)
    ll.configure(tmp_path)
    before = _call.internal_errors
    result = _run(_agent(_model(_client(server))))
    assert result.final_output
    assert _call.internal_errors > before
    assert [r["kind"] for r in read_records(tmp_path) if r["kind"].startswith("run_")] == [
        "run_start",
        "run_ok",
    ]


def test_without_the_sdk_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "agents.tracing", None)
    with pytest.raises(ImportError, match=r"pip install 'llmops_logging\[openai-agents\]'"):
        ll.instrument_openai_agents()


def test_spans_never_ended_are_forgotten_past_the_limit_and_later_runs_record(
    tmp_path: Path, server: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_bounded, "LIMIT", 20)
    ll.configure(tmp_path)
    processor = openai_agents._processor
    assert processor is not None

    def never_ended(index: int) -> None:
        agents.trace(f"dropped {index}").start(mark_as_current=True)
        agents.custom_span(f"span {index}").start(mark_as_current=True)

    for index in range(60):  # each as if in a task of its own, dropped
        contextvars.Context().run(never_ended, index)
    assert len(processor._spans) == len(processor._runs) == 20
    result = _run(_agent(_model(_client(server))))
    assert result.final_output
    assert len(processor._spans) <= 20 and len(processor._runs) <= 20
    records = read_records(tmp_path)
    (run_ok,) = [r for r in records if r["kind"] == "run_ok"]
    assert run_ok["name"] == "Agent workflow" and run_ok["usage"]["llm_calls"] == 2
    (tool,) = [r for r in records if r["kind"] == "tool_call"]
    assert tool["run_id"] == run_ok["run_id"]
