"""A LangGraph support agent with a tool, logged by `ll.instrument_langchain()`: no API key.

    python examples/agents/langgraph_demo.py [--log-dir DIR]

The log goes to DIR, else `$LLMOPS_LOG_DIR`, else `data/raw_events`. `ChatOpenAI` talks to
the local fake server (`examples/fake_llm.py`), which asks for the tool once and then answers.
Nothing is passed to LangChain: `instrument_langchain()` alone makes each invocation of the
graph a run, each node a step, the tool a `tool_call` record and each model call an
`llm_call` record (written once, by the OpenAI SDK's instrumentation underneath).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # examples/: the fake server
from fake_llm import FakeLLM

try:
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI
    from langgraph.graph import START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode, tools_condition
except ImportError as missing:
    sys.exit(f"this example needs {missing.name}: pip install langchain-openai langgraph")

import llmops_logging as ll


@tool
def get_order_status(order_id: str) -> dict[str, Any]:
    """The shipping status of an order."""
    return {"order_id": order_id, "status": "shipped", "eta_days": 1}


def build_agent(model: ChatOpenAI) -> Any:
    """A model node and a tool node, looping until the model answers without a tool."""
    tools = [get_order_status]
    bound = model.bind_tools(tools)

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [bound.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(tools))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile(name="support_agent")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log-dir", type=Path, default=None)
    args = parser.parse_args()

    handler = ll.configure(args.log_dir)
    ll.instrument_openai()
    ll.instrument_langchain()
    with FakeLLM.start() as server:
        model = ChatOpenAI(
            model="gpt-4o-mini", base_url=server.openai_url, api_key="sk-fake", max_retries=0
        )
        agent = build_agent(model)
        result = agent.invoke(
            {"messages": [("user", "Where is my order A-1001?")]},
            config={"configurable": {"thread_id": "ticket-42"}},
        )
    print(f"answer: {result['messages'][-1].content}")
    print(f"log: {handler.path}")
    print("look at it with:")
    for command in ("runs", "tail"):
        print(f"  llmops-logs {command} {handler.directory}")


if __name__ == "__main__":
    main()
