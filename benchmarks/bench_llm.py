"""What recording one chat completion costs: llmops_logging against Logfire, OpenTelemetry's
openai-v2 instrumentation and OpenInference's, each with its spans kept in memory and written
to a file.

    python benchmarks/bench_llm.py [--calls 400] [--rounds 7]
        [--only llmops,logfire,otel,openinference] [--sinks memory,file]

The real OpenAI SDK calls an in-process `httpx2.MockTransport` (the SDK's `http_client=` takes
an `httpx2.Client`) that answers with canned bytes from `examples/fake_llm.py`, so no network
and no server time is measured. Each contender runs in its own subprocess, which times the
same call through an uninstrumented client and through an instrumented one, alternately,
call by call. Time is the process's CPU time (all its threads), not the wall clock: on a
shared, loaded machine the wall clock mostly measures waiting for a CPU. The table shows the
difference of the medians of the two, in µs per call:

- llmops_logging: `configure()` into a temporary log (redaction on) and `instrument_openai`.
- Logfire: `logfire.configure(send_to_logfire=False, console=False)`, `instrument_openai`.
  It always records the content, so "content off" is not applicable.
- OpenTelemetry: `opentelemetry-instrumentation-openai-v2` with an SDK `TracerProvider`;
  content by `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` (on the span).
- OpenInference: `openinference-instrumentation-openai` with an SDK `TracerProvider`; content
  off by `OPENINFERENCE_HIDE_INPUTS` / `OPENINFERENCE_HIDE_OUTPUTS`.
- Each span-based contender runs twice: spans kept by an in-memory exporter ("memory"), and
  written one JSON document per span to a file by the SDK's `ConsoleSpanExporter` through a
  `SimpleSpanProcessor` ("file"), which is what llmops_logging always does with its record.
  Logfire's "file" adds that processor beside its own pipeline. That
  package imports `httpx` for its `URL` class only; the current SDKs use `httpx2`, so its
  subprocess makes `import httpx` give `httpx2`; and it calls opentelemetry-util-genai by
  names the installed version renamed (`_genai_shim`).

A last subprocess times llmops_logging with an 8 KiB and a 64 KiB prompt (fresh text per
call), content on against content off: the price of copying and redacting the prompt.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

CONTENDERS = ("llmops", "logfire", "otel", "openinference")
SINKS = ("memory", "file")
MODES = ("plain", "plain-nocontent", "stream", "stream-nocontent")
LABELS = {
    "llmops": "llmops_logging instrument_openai",
    "logfire": "logfire.instrument_openai",
    "otel": "opentelemetry-instrumentation-openai-v2",
    "openinference": "openinference-instrumentation-openai",
}
_WORDS = [
    "refund",
    "order",
    "policy",
    "shipping",
    "customer",
    "account",
    "invoice",
    "tracking",
    "parcel",
    "label",
]


# -- the child: one contender, one mode -------------------------------------------------------


def _transport() -> Any:
    import httpx2
    from fake_llm import respond

    cache: dict[bool, tuple[int, bytes, str]] = {}

    def handler(request: Any) -> Any:
        payload = json.loads(request.content)
        stream = bool(payload.get("stream"))
        if stream not in cache:  # canned bytes: the transport costs the same in both clients
            status, body, chunks = respond(request.url.path, payload)
            data = b"".join(chunks) if chunks is not None else json.dumps(body).encode()
            kind = "text/event-stream" if chunks is not None else "application/json"
            cache[stream] = (status, data, kind)
        status, data, kind = cache[stream]
        return httpx2.Response(status, content=data, headers={"content-type": kind})

    return httpx2.MockTransport(handler)


def _client() -> Any:
    import httpx2
    import openai

    http = httpx2.Client(transport=_transport())
    return openai.OpenAI(api_key="fake", base_url="http://fake/v1", http_client=http, max_retries=0)


def _prompts(size: int, count: int) -> list[str]:
    rng = random.Random(size)
    prompts = []
    for _ in range(count):
        words: list[str] = []
        length = 0
        while length < size:
            word = rng.choice(_WORDS) + str(rng.randrange(10_000))
            words.append(word)
            length += len(word) + 1
        prompts.append(" ".join(words)[:size])
    return prompts


def _call(client: Any, stream: bool, prompt: str) -> None:
    messages = [
        {"role": "system", "content": "You are a concise support agent."},
        {"role": "user", "content": prompt},
    ]
    if not stream:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, temperature=0)
        return
    chunks = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
    )
    for _ in chunks:
        pass


def _span_processor(sink: str, log_dir: str) -> tuple[Any, Callable[[], None]]:
    """A span processor for the sink, and what to do between rounds."""
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    if sink == "file":
        out = open(os.path.join(log_dir, "spans.jsonl"), "a", encoding="utf-8")  # noqa: SIM115
        return SimpleSpanProcessor(ConsoleSpanExporter(out=out)), lambda: None
    exporter = InMemorySpanExporter()
    return SimpleSpanProcessor(exporter), exporter.clear


def _instrument(
    contender: str, content: bool, log_dir: str, sink: str
) -> tuple[Any, Any, Callable[[], None]]:
    """The plain client, the instrumented client, and what to do between rounds."""
    plain, traced = _client(), _client()
    between: Callable[[], None] = lambda: None  # noqa: E731
    if contender == "llmops":
        sys.path.insert(0, str(ROOT))
        import llmops_logging as ll

        ll.configure(log_dir, capture_content=content)
        ll.instrument_openai(traced)
    elif contender == "logfire":
        import logfire

        extra = [_span_processor(sink, log_dir)[0]] if sink == "file" else []
        logfire.configure(send_to_logfire=False, console=False, inspect_arguments=False,
                          additional_span_processors=extra)  # fmt: skip
        logfire.instrument_openai(traced)
    elif contender == "otel":
        import httpx2

        sys.modules.setdefault("httpx", httpx2)  # the instrumentation wants httpx.URL only
        _genai_shim()
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = (
            "SPAN_ONLY" if content else "NO_CONTENT"
        )
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        plain, traced, between = _class_patching(OpenAIInstrumentor(), plain, traced, sink, log_dir)
    elif contender == "openinference":
        if not content:
            os.environ["OPENINFERENCE_HIDE_INPUTS"] = os.environ["OPENINFERENCE_HIDE_OUTPUTS"] = "1"
        from openinference.instrumentation.openai import OpenAIInstrumentor as OIInstrumentor

        plain, traced, between = _class_patching(OIInstrumentor(), plain, traced, sink, log_dir)
    return plain, traced, between


def _class_patching(
    instrumentor: Any, plain: Any, traced: Any, sink: str, log_dir: str
) -> tuple[Any, Any, Callable[[], None]]:
    """An instrumentor that patches the SDK's classes traces both clients while it is on: turn
    it off for the plain client's call and on for the traced one's."""
    from opentelemetry.sdk.trace import TracerProvider

    processor, between = _span_processor(sink, log_dir)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    instrumentor.instrument(tracer_provider=provider)
    plain = _Toggled(plain, instrumentor.uninstrument)
    traced = _Toggled(traced, lambda: instrumentor.instrument(tracer_provider=provider))
    return plain, traced, between


def _genai_shim() -> None:
    """Let opentelemetry-instrumentation-openai-v2 2.4b0 run on the opentelemetry-util-genai
    installed beside it (1.3b0), whose API moved on: two histogram factories it imports from a
    module that is gone, and three handler methods by their new names. The work per call is
    the library's own; only names are mapped."""
    import types

    from opentelemetry.util.genai.handler import TelemetryHandler

    try:
        import opentelemetry.util.genai.instruments  # noqa: F401
    except ImportError:
        shim: Any = types.ModuleType("opentelemetry.util.genai.instruments")
        shim.create_duration_histogram = lambda meter: meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s"
        )
        shim.create_token_histogram = lambda meter: meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}"
        )
        sys.modules[shim.__name__] = shim
    handler: Any = TelemetryHandler
    if not hasattr(handler, "start_inference"):
        handler.start_inference = handler.inference
        handler.stop_llm = lambda self, invocation: invocation.stop()
        handler.fail_llm = lambda self, invocation, error: invocation.fail(error)


class _Toggled:
    """A client that turns a class-patching instrumentation off or on before its round."""

    def __init__(self, client: Any, switch: Callable[[], None]) -> None:
        self.client, self.switch = client, switch


def child(
    contender: str, mode: str, calls: int, rounds: int, prompt_size: int, sink: str
) -> dict[str, Any]:
    stream = mode.startswith("stream")
    content = not mode.endswith("nocontent")
    prompts = _prompts(prompt_size, calls) if prompt_size else ["Where is my order A-1001?"]
    with tempfile.TemporaryDirectory() as log_dir:
        plain, traced, between = _instrument(contender, content, log_dir, sink)

        def timed(client: Any, prompt: str) -> int:
            if isinstance(client, _Toggled):
                client.switch()
                client = client.client
            started = time.process_time_ns()
            _call(client, stream, prompt)
            return time.process_time_ns() - started

        for _ in range(3):  # warm-up: imports, caches, the price table
            timed(traced, prompts[0]), timed(plain, prompts[0])
        base: list[int] = []
        inst: list[int] = []
        for _ in range(rounds):
            between()
            for i in range(calls):
                prompt = prompts[i % len(prompts)]
                if i % 2:
                    base.append(timed(plain, prompt))
                    inst.append(timed(traced, prompt))
                else:
                    inst.append(timed(traced, prompt))
                    base.append(timed(plain, prompt))
    quartiles = [statistics.quantiles(x, n=4) for x in (base, inst)]
    return {
        "base_us": statistics.median(base) / 1000,
        "inst_us": statistics.median(inst) / 1000,
        "added_us": (statistics.median(inst) - statistics.median(base)) / 1000,
        "added_q1_q3_us": [(quartiles[1][k] - quartiles[0][k]) / 1000 for k in (0, 2)],
    }


# -- the parent: one subprocess per contender and mode ----------------------------------------


def run_child(
    contender: str, mode: str, args: argparse.Namespace, prompt_size: int = 0, sink: str = "file"
) -> Any:
    command = [sys.executable, __file__, "--child", contender, "--mode", mode,
               "--calls", str(args.calls), "--rounds", str(args.rounds),
               "--prompt-size", str(prompt_size), "--sink", sink]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cell(result: dict[str, Any] | None) -> str:
    if result is None:
        return "n/a"
    if "error" in result:
        return f"error: {result['error'][:40]}"
    return f"{result['added_us']:,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400, help="calls per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", default=",".join(CONTENDERS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="plain", help=argparse.SUPPRESS)
    parser.add_argument("--prompt-size", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--sinks", default=",".join(SINKS), help="for the span-based contenders")
    parser.add_argument("--sink", default="file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = child(args.child, args.mode, args.calls, args.rounds, args.prompt_size, args.sink)
        print(json.dumps(result))
        return 0

    import openai

    print(f"python {sys.version.split()[0]}, openai {openai.__version__}, cpus {os.cpu_count()}")
    print(f"{args.calls * args.rounds} calls each way, alternating; process CPU time\n")
    chosen = [c for c in args.only.split(",") if c in CONTENDERS]
    sinks = [s for s in args.sinks.split(",") if s in SINKS]
    rows_of = [(c, "file") if c == "llmops" else (c, s) for c in chosen for s in sinks]
    rows_of = list(dict.fromkeys(rows_of))  # llmops writes its file whatever the sink
    results: dict[tuple[str, str], dict[str, Any]] = {}
    base: dict[str, float] = {}
    for contender, sink in rows_of:
        for mode in MODES:
            if contender == "logfire" and mode.endswith("nocontent"):
                results.setdefault((contender, sink), {})[mode] = None
                continue
            result = run_child(contender, mode, args, sink=sink)
            results.setdefault((contender, sink), {})[mode] = result
            if result and "base_us" in result:
                base.setdefault(mode, result["base_us"])
            print(f"  {contender} {sink} {mode}: {result}", file=sys.stderr)
    header = ["CPU µs added per call", "plain", "plain, no content", "stream", "stream, no content"]
    rows = [
        [f"{LABELS[c]} ({'its file' if c == 'llmops' else s})",
         *(_cell(results[(c, s)][m]) for m in MODES)]
        for c, s in rows_of
    ]  # fmt: skip
    rows.append(["(the uninstrumented call)", *(f"{base[m]:,.0f}" if m in base else "-"
                                                for m in MODES)])  # fmt: skip
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w)
                        for i, (v, w) in enumerate(zip(row, widths, strict=True))))  # fmt: skip

    if "llmops" in chosen:
        print("\nllmops_logging, one plain call with a prompt of fresh text (µs added):")
        for size in (8 * 1024, 64 * 1024):
            on = run_child("llmops", "plain", args, size)
            off = run_child("llmops", "plain-nocontent", args, size)
            if "error" in on or "error" in off:
                print(f"  {size // 1024} KiB: {on.get('error') or off.get('error')}")
                continue
            print(f"  {size // 1024:>2} KiB prompt: content on {on['added_us']:,.0f}, "
                  f"off {off['added_us']:,.0f}: capturing and redacting it "
                  f"{on['added_us'] - off['added_us']:,.0f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
