"""instrument_langchain(): LangChain and LangGraph runs as steps, tool calls and model calls,
with the real packages, against the local fake server and LangChain's own fake models."""

from __future__ import annotations

import asyncio
import contextvars
import sys
import threading
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import llmops_logging as ll
from llmops_logging.llm import _bounded, _call
from llmops_logging.llm import langchain as ll_langchain

from .conftest import assert_contract, framework, read_records

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from fake_llm import REPLY, FakeLLM

for _module in ("langchain_core", "langchain_openai", "langgraph"):
    framework(_module, "test-frameworks")

from langchain_core.callbacks import BaseCallbackHandler  # noqa: E402
from langchain_core.documents import Document  # noqa: E402
from langchain_core.language_models.fake_chat_models import (  # noqa: E402
    FakeMessagesListChatModel,
)
from langchain_core.messages import AIMessage  # noqa: E402
from langchain_core.retrievers import BaseRetriever  # noqa: E402
from langchain_core.runnables import RunnableConfig, RunnableLambda  # noqa: E402
from langchain_core.tools import BaseTool, tool  # noqa: E402
from langchain_openai import ChatOpenAI  # noqa: E402
from langgraph.graph import END, START, MessagesState, StateGraph  # noqa: E402
from langgraph.prebuilt import ToolNode, tools_condition  # noqa: E402
from openai.resources.chat.completions import AsyncCompletions, Completions  # noqa: E402

QUESTION = "Where is my order A-1001?"
CHAT_PATH = "/v1/chat/completions"


@tool
def lookup_order(order_id: str) -> str:
    """Look up where an order is."""
    return f"order {order_id} left the depot"


@tool
def broken_lookup(order_id: str) -> str:
    """A lookup whose backend is down."""
    raise ConnectionError(f"backend down for {order_id}")


def _agent(model: Any, tools: Sequence[BaseTool], name: str = "support_agent") -> Any:
    """A LangGraph agent: a model node and a ToolNode, looping until the model answers."""
    bound = model.bind_tools(tools)

    def agent(state: MessagesState) -> dict[str, Any]:
        ll.get_logger().info("thinking", turn=len(state["messages"]))
        return {"messages": [bound.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(tools, handle_tool_errors=True))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile(name=name)


def _async_agent(model: Any, tools: Sequence[BaseTool]) -> Any:
    bound = model.bind_tools(tools)

    async def agent(state: MessagesState) -> dict[str, Any]:
        ll.get_logger().info("thinking", turn=len(state["messages"]))
        return {"messages": [await bound.ainvoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(tools, handle_tool_errors=True))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile(name="support_agent")


class _ToolCallingFake(FakeMessagesListChatModel):
    """LangChain's fake chat model, answering with the messages given, tools accepted."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> _ToolCallingFake:
        return self


def _fake_model(*tool_names: str) -> _ToolCallingFake:
    calls = [
        {"name": name, "args": {"order_id": "A-1001"}, "id": f"call_{i}"}
        for i, name in enumerate(tool_names, start=1)
    ]
    return _ToolCallingFake(
        responses=[AIMessage(content="", tool_calls=calls), AIMessage(content=REPLY)]
    )


@pytest.fixture
def server() -> Iterator[FakeLLM]:
    with FakeLLM.start() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _instrumented() -> Iterator[None]:
    saved = Completions.__dict__["create"], AsyncCompletions.__dict__["create"]
    ll.instrument_langchain()
    yield
    Completions.create, AsyncCompletions.create = saved  # type: ignore[method-assign]


def _chat(server: FakeLLM, **kwargs: Any) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-4o-mini", base_url=server.openai_url, api_key="sk-test", max_retries=0,
        **kwargs,
    )  # fmt: skip


def _by_kind(records: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in records if r["kind"] == kind]


def _steps(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every step of the log by its id: its start record, closing record and name."""
    steps: dict[str, dict[str, Any]] = {}
    for record in records:
        if record["kind"] in ("step_start", "step_ok", "step_error"):
            step = steps.setdefault(record["step_id"], {"name": record["name"]})
            step["start" if record["kind"] == "step_start" else "end"] = record
    return steps


def _ancestors(records: list[dict[str, Any]], record: dict[str, Any]) -> list[str]:
    """The names of the steps above a record, innermost first, by `parent_id`."""
    steps = _steps(records)
    names = []
    parent = record.get("parent_id")
    while parent is not None:
        names.append(steps[parent]["name"])
        parent = steps[parent]["start"].get("parent_id")
    return names


def _assert_one_tree(records: list[dict[str, Any]]) -> None:
    """Every step opened is closed once, every parent is a step of the same run."""
    steps = _steps(records)
    for step in steps.values():
        assert "start" in step and "end" in step, step
        assert step["end"]["run_id"] == step["start"]["run_id"]
        assert step["end"]["duration_s"] >= 0
    for record in records:
        assert_contract(record)
        parent = record.get("parent_id")
        if parent is not None:
            assert parent in steps, record
            assert steps[parent]["start"]["run_id"] == record["run_id"]


# -- a LangGraph agent over ChatOpenAI -------------------------------------------------------


def test_a_langgraph_agent_is_one_run_of_node_steps_tool_calls_and_model_calls(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    result = _agent(_chat(server), [lookup_order]).invoke({"messages": [("user", QUESTION)]})
    assert result["messages"][-1].content == REPLY

    records = read_records(tmp_path)
    _assert_one_tree(records)
    (start,) = _by_kind(records, "run_start")
    (end,) = _by_kind(records, "run_ok")
    assert start["name"] == end["name"] == "support_agent"
    assert {r["run_id"] for r in records} == {start["run_id"]}
    nodes = [s["name"] for s in _steps(records).values() if "parent_id" not in s["start"]]
    assert nodes == ["agent", "tools", "agent"]

    (tool_call,) = _by_kind(records, "tool_call")
    assert tool_call["event"] == "execute_tool lookup_order"
    assert tool_call["gen_ai"]["operation"]["name"] == "execute_tool"
    assert tool_call["gen_ai"]["tool"]["name"] == "lookup_order"
    assert tool_call["gen_ai"]["tool"]["description"] == "Look up where an order is."
    assert tool_call["gen_ai"]["tool"]["call"] == {
        "id": "call_1",
        "arguments": {"order_id": "A-1001"},
        "result": "order A-1001 left the depot",
    }
    assert tool_call["duration_s"] >= 0
    assert _ancestors(records, tool_call) == ["tools"]

    calls = _by_kind(records, "llm_call")
    assert len(calls) == len(server.requests(CHAT_PATH)) == 2
    for call in calls:
        assert _ancestors(records, call) == ["agent"]
        assert call["gen_ai"]["provider"]["name"] == "openai"
        assert call["gen_ai"]["request"]["model"] == "gpt-4o-mini"
        assert call["gen_ai"]["response"]["model"] == "gpt-4o-mini-2024-07-18"
        assert call["gen_ai"]["response"]["id"] == "chatcmpl-fake1"
        assert call["duration_s"] >= 0
    first, second = calls
    assert first["gen_ai"]["response"]["finish_reasons"] == ["tool_calls"]
    assert first["gen_ai"]["input"]["messages"] == [
        {"role": "user", "parts": [{"type": "text", "content": QUESTION}]}
    ]
    assert first["gen_ai"]["output"]["messages"] == [
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "call_1", "name": "lookup_order",
                 "arguments": {"order_id": "A-1001"}},
            ],
            "finish_reason": "tool_calls",
        }
    ]  # fmt: skip
    assert second["gen_ai"]["input"]["messages"][-1] == {
        "role": "tool",
        "parts": [
            {"type": "tool_call_response", "id": "call_1",
             "response": "order A-1001 left the depot"},
        ],
    }  # fmt: skip
    assert second["gen_ai"]["output"]["messages"][0]["parts"] == [
        {"type": "text", "content": REPLY}
    ]
    assert end["usage"]["llm_calls"] == 2
    assert end["usage"]["input_tokens"] == sum(c["gen_ai"]["usage"]["input_tokens"] for c in calls)
    assert end["usage"]["output_tokens"] == sum(
        c["gen_ai"]["usage"]["output_tokens"] for c in calls
    )

    thinking = [r for r in records if r["event"] == "thinking"]
    node_ids = [i for i, s in _steps(records).items() if s["name"] == "agent"]
    assert [r["step_id"] for r in thinking] == node_ids  # a node's own lines are its step's


def test_a_streamed_agent_and_a_streaming_model_write_the_same_tree(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    agent = _agent(_chat(server, streaming=True), [lookup_order])
    chunks = list(agent.stream({"messages": [("user", QUESTION)]}, stream_mode="updates"))
    assert [next(iter(c)) for c in chunks] == ["agent", "tools", "agent"]

    records = read_records(tmp_path)
    _assert_one_tree(records)
    assert [r["name"] for r in _by_kind(records, "run_ok")] == ["support_agent"]
    (tool_call,) = _by_kind(records, "tool_call")
    assert tool_call["gen_ai"]["tool"]["call"]["arguments"] == {"order_id": "A-1001"}
    assert _ancestors(records, tool_call) == ["tools"]
    calls = _by_kind(records, "llm_call")
    assert len(calls) == len(server.requests(CHAT_PATH)) == 2
    for call in calls:
        assert call["ttft_s"] <= call["duration_s"]
        assert _ancestors(records, call) == ["agent"]
    assert calls[1]["gen_ai"]["output"]["messages"][0]["parts"] == [
        {"type": "text", "content": REPLY}
    ]


def test_a_failing_tool_writes_an_error_tool_call_and_the_agent_goes_on(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    agent = _agent(_fake_model("broken_lookup"), [broken_lookup])
    result = agent.invoke({"messages": [("user", QUESTION)]})
    assert result["messages"][-1].content == REPLY  # ToolNode turned the error into a message

    records = read_records(tmp_path)
    _assert_one_tree(records)
    (tool_call,) = _by_kind(records, "tool_call")
    assert tool_call["level"] == "error"
    assert tool_call["error"]["type"] == "ConnectionError"
    assert "backend down for A-1001" in tool_call["error"]["message"]
    assert "result" not in tool_call["gen_ai"]["tool"]["call"]
    assert tool_call["gen_ai"]["tool"]["call"]["arguments"] == {"order_id": "A-1001"}
    assert [r["kind"] for r in records][-1] == "run_ok"


def test_a_node_that_raises_closes_its_steps_and_the_run_with_an_error(tmp_path: Path) -> None:
    ll.configure(tmp_path)

    def fail(state: MessagesState) -> dict[str, Any]:
        raise ValueError("no route")

    graph = StateGraph(MessagesState)
    graph.add_node("route", fail)
    graph.add_edge(START, "route")
    with pytest.raises(ValueError, match="no route"):
        graph.compile(name="router").invoke({"messages": [("user", QUESTION)]})

    records = read_records(tmp_path)
    _assert_one_tree(records)
    (step_error,) = _by_kind(records, "step_error")
    assert step_error["name"] == "route"
    assert step_error["error"]["type"] == "ValueError"
    (run_error,) = _by_kind(records, "run_error")
    assert run_error["name"] == "router"


def test_a_subgraph_node_nests_the_inner_graphs_steps_and_tools(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    inner = _agent(_fake_model("lookup_order"), [lookup_order], name="inner")
    graph = StateGraph(MessagesState)
    graph.add_node("research", inner)
    graph.add_edge(START, "research")
    graph.add_edge("research", END)
    graph.compile(name="outer").invoke({"messages": [("user", QUESTION)]})

    records = read_records(tmp_path)
    _assert_one_tree(records)
    assert [r["name"] for r in _by_kind(records, "run_ok")] == ["outer"]
    (tool_call,) = _by_kind(records, "tool_call")
    assert _ancestors(records, tool_call) == ["tools", "inner", "research"]
    for call in _by_kind(records, "llm_call"):
        assert _ancestors(records, call) == ["agent", "inner", "research"]


def test_inside_a_run_and_step_of_the_caller_the_graph_is_a_step(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("ticket"), ll.step("triage"):
        _agent(_fake_model("lookup_order"), [lookup_order]).invoke(
            {"messages": [("user", QUESTION)]}
        )

    records = read_records(tmp_path)
    _assert_one_tree(records)
    assert [r["name"] for r in _by_kind(records, "run_start")] == ["ticket"]
    (tool_call,) = _by_kind(records, "tool_call")
    assert _ancestors(records, tool_call) == ["tools", "support_agent", "triage"]
    (run_ok,) = _by_kind(records, "run_ok")
    assert run_ok["usage"]["llm_calls"] == 2
    assert run_ok["counts"]["tool_call"] == 1


def test_a_thread_id_is_the_runs_conversation(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    agent = _agent(_fake_model("lookup_order"), [lookup_order])
    agent.invoke(
        {"messages": [("user", QUESTION)]}, config={"configurable": {"thread_id": "chat-7"}}
    )
    records = read_records(tmp_path)
    assert {r["gen_ai"]["conversation"]["id"] for r in records} == {"chat-7"}


# -- threads and tasks -----------------------------------------------------------------------


def test_agents_in_threads_each_write_their_own_run(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    agent = _agent(_chat(server), [lookup_order])

    def ask(i: int) -> str:
        out = agent.invoke({"messages": [("user", f"{QUESTION} ({i})")]})
        return str(out["messages"][-1].content)

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(ask, range(6))) == [REPLY] * 6

    records = read_records(tmp_path)
    _assert_one_tree(records)
    runs = _by_kind(records, "run_ok")
    assert len(runs) == 6
    for run in runs:
        mine = [r for r in records if r["run_id"] == run["run_id"]]
        assert len(_by_kind(mine, "tool_call")) == 1
        asked = [
            c["gen_ai"]["input"]["messages"][0]["parts"][0]["content"]
            for c in _by_kind(mine, "llm_call")
        ]
        assert len(asked) == 2 and asked[0] == asked[1]  # both calls of one question
        assert run["usage"]["llm_calls"] == 2


def test_async_agents_in_tasks_keep_their_steps_and_runs(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    agent = _async_agent(_chat(server), [lookup_order])

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(agent.ainvoke({"messages": [("user", f"{QUESTION} ({i})")]}) for i in range(5))
        )

    assert [out["messages"][-1].content for out in asyncio.run(main())] == [REPLY] * 5

    records = read_records(tmp_path)
    _assert_one_tree(records)
    assert len(_by_kind(records, "run_ok")) == 5
    steps = _steps(records)
    thinking = [r for r in records if r["event"] == "thinking"]
    assert len(thinking) == 10
    for line in thinking:  # the node's own line, in the node's task: the node's step
        assert steps[line["step_id"]]["name"] == "agent"
        assert steps[line["step_id"]]["start"]["run_id"] == line["run_id"]
    for call in _by_kind(records, "llm_call"):
        assert _ancestors(records, call) == ["agent"]


def test_a_tool_run_from_a_plain_thread_of_a_node_hangs_below_the_node(tmp_path: Path) -> None:
    """With threads left to start in an empty context, only LangChain's parent run id places
    what the thread runs."""
    ll.configure(tmp_path, thread_inherit_context=False)

    def node(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
        worker = threading.Thread(
            target=lambda: lookup_order.invoke({"order_id": "A-7"}, config=config)
        )
        worker.start()
        worker.join()
        return {"messages": []}

    graph = StateGraph(MessagesState)
    graph.add_node("fan_out", node)
    graph.add_edge(START, "fan_out")
    graph.compile(name="g").invoke({"messages": []})

    records = read_records(tmp_path)
    _assert_one_tree(records)
    (tool_call,) = _by_kind(records, "tool_call")
    (run_start,) = _by_kind(records, "run_start")
    assert tool_call["run_id"] == run_start["run_id"]
    assert _ancestors(records, tool_call) == ["fan_out"]


# -- one call, one record --------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streamed"])
def test_over_the_instrumented_openai_sdk_each_call_is_one_record(
    tmp_path: Path, server: FakeLLM, streaming: bool
) -> None:
    ll.configure(tmp_path)
    ll.instrument_openai()
    agent = _agent(_chat(server, streaming=streaming, stream_usage=True), [lookup_order])
    agent.invoke({"messages": [("user", QUESTION)]})

    records = read_records(tmp_path)
    calls = _by_kind(records, "llm_call")
    assert len(calls) == len(server.requests(CHAT_PATH)) == 2
    for call in calls:
        assert call["logger"] == "llmops_logging.llm"
        assert call["attempts"] == 1  # the SDK's own record: only it counts requests
        assert _ancestors(records, call) == ["agent"]
    (run_ok,) = _by_kind(records, "run_ok")
    assert run_ok["usage"]["llm_calls"] == 2
    assert run_ok["usage"]["input_tokens"] == sum(
        c["gen_ai"]["usage"]["input_tokens"] for c in calls
    )


def test_async_calls_over_the_instrumented_sdk_are_each_one_record(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    ll.instrument_openai()
    agent = _async_agent(_chat(server), [lookup_order])

    async def main() -> None:
        await asyncio.gather(*(agent.ainvoke({"messages": [("user", QUESTION)]}) for _ in range(3)))

    asyncio.run(main())
    records = read_records(tmp_path)
    calls = _by_kind(records, "llm_call")
    assert len(calls) == len(server.requests(CHAT_PATH)) == 6
    assert all(c.get("attempts") == 1 for c in calls)
    assert sum(r["usage"]["llm_calls"] for r in _by_kind(records, "run_ok")) == 6


# -- content, models of other providers, retrievers ------------------------------------------


def test_with_content_off_no_argument_result_or_message_reaches_the_file(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path, capture_content=False)
    _agent(_chat(server), [lookup_order]).invoke({"messages": [("user", QUESTION)]})

    text = (tmp_path / "events.jsonl").read_text()
    for content in ("A-1001", "left the depot", REPLY, "Where is my order"):
        assert content not in text
    records = read_records(tmp_path)
    (tool_call,) = _by_kind(records, "tool_call")
    assert tool_call["gen_ai"]["tool"]["call"] == {"id": "call_1"}
    calls = _by_kind(records, "llm_call")
    assert len(calls) == 2
    for call in calls:
        assert "input" not in call["gen_ai"] and "output" not in call["gen_ai"]
        assert call["gen_ai"]["usage"]["input_tokens"] > 0


def test_a_model_no_sdk_instrumentation_sees_is_recorded_by_the_handler(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    model = _ToolCallingFake(
        responses=[
            AIMessage(
                content="hi",
                usage_metadata={"input_tokens": 7, "output_tokens": 2, "total_tokens": 9},
                response_metadata={"model_name": "house-model-1", "finish_reason": "stop"},
            )
        ]
    )
    with ll.run("chat"):
        assert model.invoke("hello").content == "hi"

    records = read_records(tmp_path)
    (call,) = _by_kind(records, "llm_call")
    assert call["gen_ai"]["provider"]["name"] == "_toolcallingfake"  # LangChain's ls_provider
    assert call["gen_ai"]["response"] == {"model": "house-model-1", "finish_reasons": ["stop"]}
    assert call["gen_ai"]["usage"] == {"input_tokens": 7, "output_tokens": 2}
    (run_ok,) = _by_kind(records, "run_ok")
    assert run_ok["usage"]["llm_calls"] == 1
    assert run_ok["usage"]["input_tokens"] == 7


class _Shelf(BaseRetriever):
    def _get_relevant_documents(self, query: str, *, run_manager: Any) -> list[Document]:
        return [Document(page_content=f"{query} {i}") for i in range(3)]


def test_a_retriever_is_a_step_that_counts_its_documents(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("search"):
        assert len(_Shelf().invoke("refund policy")) == 3
    records = read_records(tmp_path)
    _assert_one_tree(records)
    (step_ok,) = _by_kind(records, "step_ok")
    assert step_ok["name"] == "_Shelf"
    assert step_ok["documents"] == 3


def test_a_run_marked_hidden_is_left_out_with_what_runs_inside_it(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    inner = RunnableLambda(lambda x: x + 1, name="inner_of_hidden")
    hidden = RunnableLambda(lambda x: inner.invoke(x), name="plumbing").with_config(
        tags=["langsmith:hidden"]
    )
    visible = RunnableLambda(lambda x: x * 10, name="visible")
    outer = RunnableLambda(lambda x: visible.invoke(hidden.invoke(x)), name="outer")
    with ll.run("job"):
        assert outer.invoke(1) == 20

    records = read_records(tmp_path)
    _assert_one_tree(records)
    steps = _steps(records)
    assert sorted(s["name"] for s in steps.values()) == ["outer", "visible"]
    (after,) = [s for s in steps.values() if s["name"] == "visible"]
    assert _ancestors(records, after["start"]) == ["outer"]


# -- the hook itself -------------------------------------------------------------------------


def test_instrumenting_twice_records_each_run_once_beside_the_callers_handlers(
    tmp_path: Path,
) -> None:
    ll.configure(tmp_path)
    ll.instrument_langchain()
    seen: list[str] = []

    class Mine(BaseCallbackHandler):
        def on_tool_start(self, serialized: Any, input_str: str, **kwargs: Any) -> None:
            seen.append(serialized["name"])

    _agent(_fake_model("lookup_order"), [lookup_order]).invoke(
        {"messages": [("user", QUESTION)]}, config={"callbacks": [Mine()]}
    )
    records = read_records(tmp_path)
    assert len(_by_kind(records, "tool_call")) == 1
    assert len(_by_kind(records, "run_start")) == 1
    assert seen == ["lookup_order"]


def test_a_failure_inside_the_handler_never_reaches_langchain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmops_logging.llm import _langchain_handler

    def broken(call: Any, response: Any) -> None:
        raise RuntimeError("planted")

    monkeypatch.setattr(_langchain_handler, "_read_result", broken)
    ll.configure(tmp_path)
    before = _call.internal_errors
    result = _agent(_fake_model("lookup_order"), [lookup_order]).invoke(
        {"messages": [("user", QUESTION)]}
    )
    assert result["messages"][-1].content == REPLY
    assert _call.internal_errors == before + 2
    records = read_records(tmp_path)
    assert len(_by_kind(records, "llm_call")) == 2  # written with what was known
    assert len(_by_kind(records, "tool_call")) == 1


def test_without_langchain_core_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "langchain_core.tracers.context", None)
    with pytest.raises(ImportError, match="pip install langchain-core"):
        ll.instrument_langchain()


def test_the_handler_runs_in_the_callers_thread(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    threads: set[str] = set()

    def node(state: MessagesState) -> dict[str, Any]:
        threads.add(threading.current_thread().name)
        ll.get_logger().info("inside")
        return {"messages": [AIMessage(content="done")]}

    graph = StateGraph(MessagesState)
    graph.add_node("only", node)
    graph.add_edge(START, "only")

    async def main() -> None:
        await graph.compile(name="g").ainvoke({"messages": [("user", "x")]})

    asyncio.run(main())
    records = read_records(tmp_path)
    (inside,) = [r for r in records if r["event"] == "inside"]
    (only,) = [s for s in _steps(records).values() if s["name"] == "only"]
    assert inside["step_id"] == only["start"]["step_id"]
    assert inside["run_id"] == only["start"]["run_id"]


def test_runs_never_ended_are_forgotten_past_the_limit_and_later_runs_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_bounded, "LIMIT", 20)
    ll.configure(tmp_path)
    handler = ll_langchain._hook.get() if ll_langchain._hook is not None else None
    assert handler is not None
    for _ in range(60):  # started, never ended, each in a context of its own
        contextvars.Context().run(handler.on_chain_start, {}, {}, run_id=uuid.uuid4())
    assert len(handler._followed) == 20
    _agent(_fake_model("lookup_order"), [lookup_order]).invoke({"messages": [("user", QUESTION)]})
    assert len(handler._followed) <= 20
    records = read_records(tmp_path)
    (run_ok,) = _by_kind(records, "run_ok")
    assert run_ok["usage"]["llm_calls"] == 2 and run_ok["counts"]["tool_call"] == 1
    mine = [r for r in records if r["run_id"] == run_ok["run_id"]]
    _assert_one_tree(mine)
    (tool_call,) = _by_kind(mine, "tool_call")
    assert _ancestors(mine, tool_call) == ["tools"]
    assert run_ok["name"] == "support_agent"
