"""What tracing LangChain costs per tool call and per graph node: llmops_logging beside
OpenInference's LangChain instrumentor, and beside LangChain with no tracing.

    python benchmarks/bench_agents_langchain.py [--tools 300] [--graphs 30] [--rounds 5]

Two workloads, no model and no network, so that only the tracing is measured: a `@tool`
invoked `--tools` times (each a `tool_call` record, or a TOOL span), and a LangGraph
`StateGraph` of 8 trivial nodes in a line invoked `--graphs` times (each node a step, or a
CHAIN span; the graph itself is one more, a run for llmops_logging, its cost spread over the
nodes). Each contender runs in its own subprocess, which times the same workload with its
tracing off and on, alternately, round by round; the table shows the difference of the
medians in µs of CPU time (the process's, all threads) per tool call and per node:

- llmops_logging: `configure()` into a temporary log (content and redaction on) and
  `instrument_langchain()`; off by setting its configure hook's context variable to None.
- OpenInference: `LangChainInstrumentor` with an SDK `TracerProvider`, a simple span
  processor and an in-memory exporter (cleared between rounds); off by `uninstrument()`.

The "ratio" column is each contender's added time over llmops_logging's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

NODES = 8
CONTENDERS = ("llmops_logging", "openinference")


def _workloads(tools: int, graphs: int) -> dict[str, tuple[Callable[[], None], int]]:
    """Each workload: a function running it once through, and how many units it runs."""
    from langchain_core.tools import tool
    from langgraph.graph import START, StateGraph
    from typing_extensions import TypedDict

    @tool
    def lookup_order(order_id: str) -> str:
        """Look up where an order is."""
        return f"order {order_id} left the depot"

    class State(TypedDict):
        hops: int

    def hop(state: State) -> dict[str, int]:
        return {"hops": state["hops"] + 1}

    builder = StateGraph(State)
    previous = START
    for i in range(NODES):
        builder.add_node(f"node_{i}", hop)
        builder.add_edge(previous, f"node_{i}")
        previous = f"node_{i}"
    graph = builder.compile(name="pipeline")

    def call_tools() -> None:
        for i in range(tools):
            lookup_order.invoke({"order_id": f"A-{i}"})

    def run_graphs() -> None:
        for _ in range(graphs):
            graph.invoke({"hops": 0})

    return {"tool call": (call_tools, tools), "node step": (run_graphs, graphs * NODES)}


def _switches(contender: str, log_dir: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """(on, off) for a contender's tracing."""
    if contender == "llmops_logging":
        import llmops_logging as ll
        from llmops_logging.llm import langchain as instrumentation

        ll.configure(log_dir)
        ll.instrument_langchain()
        hook = instrumentation._hook
        assert hook is not None
        handler = hook.get()
        return (lambda: hook.set(handler)), (lambda: hook.set(None))
    from openinference.instrumentation.langchain import LangChainInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = LangChainInstrumentor()

    def on() -> None:
        exporter.clear()
        instrumentor.instrument(tracer_provider=provider)

    return on, instrumentor.uninstrument


def _child(contender: str, tools: int, graphs: int, rounds: int) -> None:
    """In the contender's subprocess: print `{workload: [base µs, traced µs]}` as JSON."""
    with tempfile.TemporaryDirectory() as log_dir:
        on, off = _switches(contender, log_dir)
        workloads = _workloads(tools, graphs)
        results = {}
        for name, (work, units) in workloads.items():
            off()
            work()  # warm up both paths
            on()
            work()
            base, traced = [], []
            for _ in range(rounds):
                for switch, into in ((off, base), (on, traced)):
                    switch()
                    started = time.process_time()
                    work()
                    into.append((time.process_time() - started) / units * 1e6)
            off()
            results[name] = [statistics.median(base), statistics.median(traced)]
    print(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", type=int, default=300)
    parser.add_argument("--graphs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.tools, args.graphs, args.rounds)
        return

    measured: dict[str, dict[str, list[float]]] = {}
    for contender in CONTENDERS:
        done = subprocess.run(
            [sys.executable, str(Path(__file__)), "--child", contender, "--tools",
             str(args.tools), "--graphs", str(args.graphs), "--rounds", str(args.rounds)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        measured[contender] = json.loads(done.stdout.strip().splitlines()[-1])

    print(f"CPU µs per unit (median of {args.rounds} rounds; added = traced - untraced)")
    header = f"{'workload':<11} {'contender':<15} {'untraced':>9} {'traced':>9} {'added':>9}"
    print(header + f" {'ratio':>6}")
    print("-" * (len(header) + 7))
    for workload in measured[CONTENDERS[0]]:
        ours = measured["llmops_logging"][workload]
        ours_added = ours[1] - ours[0]
        for contender in CONTENDERS:
            base, traced = measured[contender][workload]
            ratio = (traced - base) / ours_added if ours_added > 0 else float("nan")
            print(
                f"{workload:<11} {contender:<15} {base:>9.1f} {traced:>9.1f}"
                f" {traced - base:>9.1f} {ratio:>5.2f}x"
            )


if __name__ == "__main__":
    main()
