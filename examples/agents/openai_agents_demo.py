"""An OpenAI Agents SDK agent with a tool and a hand-off, logged: no API key, no network.

    python examples/agents/openai_agents_demo.py [LOG_DIR]

LOG_DIR defaults to `$LLMOPS_LOG_DIR`, else `data/raw_events`. The agents talk to the local
fake OpenAI server (`examples/fake_llm.py`); the SDK's own trace exporter is left out, so the
traces stay in the log. Each conversation turn is a trace, so a run: the `triage` agent calls
`lookup_order`, hands off to `billing`, and every model call is one `llm_call` record (the
OpenAI SDK's instrumentation and the Agents SDK's generation span see the same call).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # examples/: the fake server
from fake_llm import FakeLLM

try:
    import agents
    from openai import AsyncOpenAI
except ImportError as missing:
    sys.exit(f"this example needs {missing.name}: pip install -e '.[openai-agents]'")

import llmops_logging as ll


@agents.function_tool
def lookup_order(order_id: str) -> str:
    """The shipping status of an order."""
    ll.get_logger().info("order found", order_id=order_id, status="shipped")
    return f"order {order_id}: shipped Monday, arrives tomorrow"


async def main(log_dir: str | None) -> None:
    handler = ll.configure(log_dir)
    agents.set_trace_processors([])  # the SDK's exporter would send traces to OpenAI
    ll.instrument_openai_agents()
    ll.instrument_openai()
    with FakeLLM.start() as fake:
        client = AsyncOpenAI(base_url=fake.openai_url, api_key="fake")
        model = agents.OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client)
        billing = agents.Agent(name="billing", instructions="Answer billing.", model=model)
        triage = agents.Agent(
            name="triage",
            instructions="Look orders up; hand billing questions to billing.",
            model=model,
            tools=[lookup_order],
            handoffs=[billing],
        )
        for turn, question in enumerate(["Where is order A-1001?", "Why was I charged twice?"]):
            with agents.trace("order support", group_id="conversation-42"):
                result = await agents.Runner.run(triage, question)
            print(f"turn {turn + 1}: {result.final_output}")
    print(f"log: {handler.path}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
