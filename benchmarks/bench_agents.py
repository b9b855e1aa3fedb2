"""What recording an agent costs: CPU time added per tool call and per agent run.

    python benchmarks/bench_agents.py [--runs 20] [--rounds 5] [--tools 20]

Two frameworks, each with the tracers that can follow it; every (framework, tracer) pair runs
in a subprocess of its own, since instrumentation is process-wide. No network and no model:
the OpenAI Agents SDK gets a `Model` of this file's that answers at once (first a call of
each tool, then text), Pydantic AI its own `TestModel`, which does the same. Two workloads:

- `agent`: an agent run with no tool (for the Agents SDK: trace, task, agent and turn spans;
  for Pydantic AI: the agent's span and its model request's);
- `tools`: the same agent with `--tools` tools, each called once.

Each of `--rounds` rounds times `--runs` pairs of runs, one without the tracer and one with
it, right after each other, in process CPU time (all threads: an exporter's thread counts).
The table shows medians of the pairs' differences: µs added per agent run, and per tool
call (`(tools - agent) / --tools`), with the ratio to llmops_logging's.

- Agents SDK, `llmops`: `configure()` into a temporary log and `instrument_openai_agents()`;
  `openinference`: `OpenAIAgentsInstrumentor` on an SDK `TracerProvider` with an in-memory
  exporter; `own`: the SDK's own `BatchTraceProcessor` with an exporter that drops the batch
  (its default exporter would send it to OpenAI). Without a tracer: no processor at all.
- Pydantic AI, `llmops`: its spans (the `Instrumentation` capability) on a `TracerProvider`
  with `instrument_opentelemetry()`; `own`: its spans with an in-memory exporter. Without a
  tracer: the agent without the capability. Pydantic AI records through spans only, so
  `llmops` here is its spans' cost plus ours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PAIRS = (
    ("openai-agents", "llmops"),
    ("openai-agents", "openinference"),
    ("openai-agents", "own"),
    ("pydantic-ai", "llmops"),
    ("pydantic-ai", "own"),
)
LABELS = {
    ("openai-agents", "llmops"): "llmops_logging instrument_openai_agents",
    ("openai-agents", "openinference"): "OpenInference OpenAIAgentsInstrumentor (in memory)",
    ("openai-agents", "own"): "Agents SDK BatchTraceProcessor (export dropped)",
    ("pydantic-ai", "llmops"): "Pydantic AI spans + llmops_logging instrument_opentelemetry",
    ("pydantic-ai", "own"): "Pydantic AI spans, in-memory exporter",
}


# -- the OpenAI Agents SDK ---------------------------------------------------------------------


def _agents_runner(tools: int) -> Callable[[bool], Callable[[], None]]:
    """A function of `with_tools` giving one agent run."""
    import agents
    from agents.models.interface import Model
    from openai.types.responses import (
        ResponseFunctionToolCall,
        ResponseOutputMessage,
        ResponseOutputText,
    )

    class Instant(Model):
        """Calls each tool once, then answers: no network, no model."""

        async def get_response(self, system_instructions: Any, input: Any, *args: Any,
                               **kwargs: Any) -> Any:  # fmt: skip
            offered = args[2] if len(args) > 2 else kwargs.get("tools", [])
            answered = isinstance(input, list) and any(
                isinstance(item, dict) and item.get("type") == "function_call_output"
                for item in input
            )
            if offered and not answered:
                output: list[Any] = [
                    ResponseFunctionToolCall(
                        type="function_call",
                        call_id=f"call_{i}",
                        name=tool.name,
                        arguments='{"order_id": "A-1"}',
                    )
                    for i, tool in enumerate(offered)
                ]
            else:
                text = ResponseOutputText(type="output_text", text="done", annotations=[])
                output = [
                    ResponseOutputMessage(
                        type="message",
                        id="msg",
                        role="assistant",
                        status="completed",
                        content=[text],
                    )
                ]
            return agents.ModelResponse(output=output, usage=agents.Usage(), response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    def make_tool(index: int) -> Any:
        def lookup(order_id: str) -> str:
            return f"order {order_id} shipped"

        return agents.function_tool(lookup, name_override=f"lookup_{index}")

    tool_list = [make_tool(i) for i in range(tools)]
    loop = asyncio.new_event_loop()

    def runner(with_tools: bool) -> Callable[[], None]:
        agent = agents.Agent(
            name="bench", instructions="-", model=Instant(), tools=tool_list if with_tools else []
        )
        return lambda: loop.run_until_complete(agents.Runner.run(agent, "go"))

    return runner


def _agents_tracer(tracer: str, log_dir: str) -> tuple[list[Any], list[Any]]:
    """The processors without and with the tracer."""
    import agents
    from agents.tracing.processor_interface import TracingExporter
    from agents.tracing.processors import BatchTraceProcessor

    provider = agents.tracing.get_trace_provider()
    agents.set_trace_processors([])
    if tracer == "llmops":
        import llmops_logging as ll

        ll.configure(log_dir)
        ll.instrument_openai_agents()
    elif tracer == "openinference":
        from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        tracer_provider = TracerProvider()
        exporter = InMemorySpanExporter()
        tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        OpenAIAgentsInstrumentor().instrument(tracer_provider=tracer_provider)
        _clear_regularly(exporter.clear)
    else:

        class Drop(TracingExporter):
            def export(self, items: list[Any]) -> None:
                pass

        agents.set_trace_processors([BatchTraceProcessor(Drop())])
    traced = list(provider._multi_processor._processors)
    return [], traced


def _agents_toggle(processors: list[Any]) -> None:
    import agents

    agents.set_trace_processors(processors)


# -- Pydantic AI ---------------------------------------------------------------------------------


def _pydantic_runner(tools: int, tracer: str, log_dir: str) -> Callable[[bool, bool], Any]:
    """A function of `(with_tools, traced)` giving one agent run."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from pydantic_ai import Agent
    from pydantic_ai.capabilities import Instrumentation
    from pydantic_ai.models.instrumented import InstrumentationSettings
    from pydantic_ai.models.test import TestModel

    tracer_provider = TracerProvider()
    if tracer == "llmops":
        import llmops_logging as ll

        ll.configure(log_dir)
        ll.instrument_opentelemetry(tracer_provider)
    else:
        exporter = InMemorySpanExporter()
        tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        _clear_regularly(exporter.clear)
    settings = InstrumentationSettings(tracer_provider=tracer_provider)

    def make_tool(index: int) -> Any:
        def lookup(order_id: str) -> str:
            return f"order {order_id} shipped"

        lookup.__name__ = f"lookup_{index}"
        return lookup

    agents: dict[tuple[bool, bool], Any] = {}
    for with_tools in (False, True):
        for traced in (False, True):
            agent = Agent(
                TestModel(), name="bench", instructions="-",
                capabilities=[Instrumentation(settings)] if traced else [],
            )  # fmt: skip
            if with_tools:
                for index in range(tools):
                    agent.tool_plain(make_tool(index))
            agents[with_tools, traced] = agent

    def runner(with_tools: bool, traced: bool) -> Callable[[], None]:
        agent = agents[with_tools, traced]
        return lambda: agent.run_sync("go")

    return runner


# -- measuring -----------------------------------------------------------------------------------

_clearers: list[Callable[[], None]] = []


def _clear_regularly(clear: Callable[[], None]) -> None:
    """An in-memory exporter grows; it is emptied between timed batches."""
    _clearers.append(clear)


def _one(run: Callable[[], None]) -> float:
    start = time.process_time()
    run()
    return time.process_time() - start


def child(framework: str, tracer: str, runs: int, rounds: int, tools: int) -> dict[str, Any]:
    """The median of (traced - plain) over `runs * rounds` pairs of runs, one right after
    the other: a machine's load drifts over seconds, and a pair sees about the same load."""
    log_dir = tempfile.mkdtemp(prefix="bench-agents-")
    deltas: dict[str, list[float]] = {"agent": [], "tools": []}
    if framework == "openai-agents":
        runner = _agents_runner(tools)
        plain, traced = _agents_tracer(tracer, log_dir)
        work = {"agent": runner(False), "tools": runner(True)}

        def pair(name: str) -> float:
            _agents_toggle(plain)
            base = _one(work[name])
            _agents_toggle(traced)
            return _one(work[name]) - base

    else:
        pydantic_runner = _pydantic_runner(tools, tracer, log_dir)
        pydantic_work = {
            (name, traced_run): pydantic_runner(with_tools, traced_run)
            for name, with_tools in (("agent", False), ("tools", True))
            for traced_run in (False, True)
        }

        def pair(name: str) -> float:
            base = _one(pydantic_work[name, False])
            return _one(pydantic_work[name, True]) - base

    for name in deltas:  # warm up both paths
        pair(name)
    for _ in range(rounds):
        for clear in _clearers:
            clear()
        for name in deltas:
            deltas[name].extend(pair(name) for _ in range(runs))
    agent = statistics.median(deltas["agent"])
    per_tool = (statistics.median(deltas["tools"]) - agent) / tools
    return {"agent_us": agent * 1e6, "tool_us": per_tool * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tools", type=int, default=20)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, args.runs, args.rounds, args.tools)))
        return
    results: dict[tuple[str, str], dict[str, Any] | str] = {}
    for framework, tracer in PAIRS:
        done = subprocess.run(
            [sys.executable, __file__, "--child", framework, tracer, "--runs", str(args.runs),
             "--rounds", str(args.rounds), "--tools", str(args.tools)],
            capture_output=True, text=True, cwd=ROOT, timeout=1800,
        )  # fmt: skip
        if done.returncode != 0:
            results[framework, tracer] = done.stderr.strip().splitlines()[-1]
        else:
            results[framework, tracer] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"CPU µs added (median of {args.rounds * args.runs} pairs of runs, "
          f"{args.tools} tools per run)\n")  # fmt: skip
    print(f"{'tracer':<62} {'per agent run':>14} {'ratio':>6} {'per tool call':>14} {'ratio':>6}")
    for framework in dict.fromkeys(f for f, _ in PAIRS):
        ours = results.get((framework, "llmops"))
        for (fw, tracer), result in results.items():
            if fw != framework:
                continue
            label = LABELS[fw, tracer]
            if isinstance(result, str):
                print(f"{label:<62} failed: {result}")
                continue
            cells = []
            for key in ("agent_us", "tool_us"):
                ratio = (
                    result[key] / ours[key]
                    if isinstance(ours, dict) and ours[key] > 0
                    else float("nan")
                )
                cells.append(f"{result[key]:>14.0f} {ratio:>5.1f}x")
            print(f"{label:<62} {' '.join(cells)}")


if __name__ == "__main__":
    main()
