"""A Pydantic AI agent with a tool, logged through OpenTelemetry: no API key, no network.

    python examples/agents/pydantic_ai_demo.py [LOG_DIR]

LOG_DIR defaults to `$LLMOPS_LOG_DIR`, else `data/raw_events`. Pydantic AI emits OpenTelemetry
GenAI spans itself (`Agent.instrument_all()`); `ll.instrument_opentelemetry()` writes them as
records: each agent run a run, the agent a step, each model request an `llm_call`, each tool
execution a `tool_call`. The model is Pydantic AI's `TestModel`, which calls every tool once
and then answers, with made-up token counts.
"""

from __future__ import annotations

import sys

try:
    from pydantic_ai import Agent
    from pydantic_ai.models.test import TestModel
except ImportError as missing:
    sys.exit(f"this example needs {missing.name}: pip install -e '.[pydantic-ai]'")

import llmops_logging as ll

agent = Agent(TestModel(), name="concierge", instructions="Answer with the order's status.")


@agent.tool_plain
def lookup_order(order_id: str) -> str:
    """The shipping status of an order."""
    ll.get_logger().info("order found", order_id=order_id, status="shipped")
    return f"order {order_id}: shipped Monday"


def main(log_dir: str | None) -> None:
    handler = ll.configure(log_dir)
    ll.instrument_opentelemetry()  # the global tracer provider (made if none is set)
    Agent.instrument_all()
    for question in ("Where is order A-1001?", "And order B-2002?"):
        result = agent.run_sync(question)
        print(f"{question} -> {result.output}")
    print(f"log: {handler.path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
