"""A short support agent against a local fake LLM server: no API key, no network.

    python examples/agent.py [--data-dir data]

Starts `fake_llm` on 127.0.0.1, instruments the real OpenAI and Anthropic SDKs, and runs one
`support-agent` run: a `plan` step whose OpenAI call asks for a tool, the tool in its own step,
an `answer` step streamed from Anthropic, a `review` step with a plain Anthropic call, and a
`translate` step whose call fails (the server does not know the model). Every call is an
`llm_call` record in data/raw_events/events.jsonl; the run's end sums their tokens and cost.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from fake_llm import FAIL_MODEL, FakeLLM

try:
    import anthropic
    import openai
except ImportError as missing:  # `pip install -e .` alone does not bring the SDKs
    sys.exit(f"examples/agent.py needs {missing.name}: pip install -e '.[examples]'")

import llmops_logging as ll

OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5"
ORDER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_order_status",
        "description": "The shipping status of an order.",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    },
}


def get_order_status(order_id: str) -> dict[str, Any]:
    return {"order_id": order_id, "status": "shipped", "eta_days": 1}


def run_agent(server: FakeLLM, question: str) -> str:
    log = ll.get_logger("agent")
    oai = openai.OpenAI(base_url=server.openai_url, api_key="fake-key", max_retries=0)
    claude = anthropic.Anthropic(base_url=server.anthropic_url, api_key="fake-key", max_retries=0)
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]

    with ll.run("support-agent", question=question) as run:
        with ll.step("plan"):
            plan = oai.chat.completions.create(
                model=OPENAI_MODEL, messages=messages, tools=[ORDER_TOOL], temperature=0
            )
            call = plan.choices[0].message.tool_calls[0]  # type: ignore[index]
        with ll.step("tool", tool=call.function.name):  # type: ignore[union-attr]
            arguments = json.loads(call.function.arguments)  # type: ignore[union-attr]
            result = get_order_status(**arguments)
            log.info("tool_result", tool=call.function.name, result=result)  # type: ignore[union-attr]
        with ll.step("answer"):
            parts = []
            stream = claude.messages.create(
                model=ANTHROPIC_MODEL,
                max_tokens=200,
                system="You are a concise support agent.",
                messages=[
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": f"Tool result: {json.dumps(result)}"},
                    {"role": "user", "content": "Answer the customer in one sentence."},
                ],
                stream=True,
            )
            for event in stream:
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    parts.append(event.delta.text)
            answer = "".join(parts)
        with ll.step("review"):
            review = claude.messages.create(
                model=ANTHROPIC_MODEL,
                max_tokens=50,
                messages=[{"role": "user", "content": f"Is this answer polite? {answer}"}],
            )
            log.info("review", verdict=review.content[0].text)  # type: ignore[union-attr]
        try:
            with ll.step("translate", language="de"):
                oai.chat.completions.create(
                    model=FAIL_MODEL, messages=[{"role": "user", "content": answer}]
                )
        except openai.NotFoundError:
            log.warning("translation skipped", reason="model not available")
        run.set(answer=answer)
    return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    args = parser.parse_args(argv)
    raw = args.data_dir / "raw_events"
    ll.configure(raw, levels={"httpx2": "WARNING", "httpcore2": "WARNING"})
    logging.getLogger("agent").info("starting the fake LLM server")
    ll.instrument_openai()
    ll.instrument_anthropic()
    server = FakeLLM.start()
    try:
        answer = run_agent(server, "Where is my order A-1001?")
    finally:
        server.stop()
    print(f"answer: {answer}")
    print(f"log: {raw / 'events.jsonl'}")
    print("look at it with:")
    for command in ("runs", "stats --by gen_ai.request.model", "tail -n 20 --kind llm_call"):
        print(f"  llmops-logs {command} {raw}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
