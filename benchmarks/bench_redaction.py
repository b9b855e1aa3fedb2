"""What redaction costs per event, on the record an agent logs most: an LLM call.

Times the `Redactor` alone on a typical record (about ten short fields, a URL, an id, a short
message and usage numbers, no secret), in three cases: the same string values every time
(recurring values are remembered as clean), fresh string values every event (ids and messages
never seen before: the honest worst common case), and a secret in the message (the slow path).
For context it also times the whole processor chain (stamps to rendered bytes, no I/O) with
and without redaction, and a full `log.info` into a real file. Plain `time.perf_counter`
loops; each figure is the median of several rounds, in nanoseconds per event.

    python benchmarks/bench_redaction.py [--events 20000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import llmops_logging as ll
from llmops_logging.processors import build_processors, run_processors
from llmops_logging.redaction import Redactor

STAMPS: dict[str, Any] = {
    "ts": "2026-11-26T13:05:26.123456+00:00",
    "run_id": "0b7e6c2e-8f7a-4c9e-9d51-3c1b2a4f5e6d",
    "event": "llm_call",
    "kind": "llm_call",
    "level": "info",
    "logger": "agent",
    "event_id": "a1b2c3d4e5f60718-1f",
    "seq": 31,
    "pid": 4242,
}
SECRET = "calling with Authorization: Bearer sk-proj-4f9aQ2xL7mN3pR8sT1vW6yZ0bC5dE"
LOGGER = SimpleNamespace(name="agent")


def typical(i: int, fresh: bool) -> dict[str, Any]:
    """The fields of one LLM-call record; with `fresh`, the id and the message are new."""
    step_id = uuid.uuid4().hex if fresh else "3f2a9c1e4b5d6f708192a3b4c5d6e7f8"
    preview = f"Answer {i if fresh else 0}: the weather in Paris is mild today, 14 degrees."
    return {
        "model": "gpt-4o-mini",
        "provider": "openai",
        "step_id": step_id,
        "url": "https://api.openai.com/v1/chat/completions",
        "status": "ok",
        "attempt": 1,
        "temperature": 0.2,
        "latency_ms": 812.4,
        "reply_preview": preview,
        "usage": {"prompt_tokens": 812, "completion_tokens": 64, "total_tokens": 876},
        "cache_hit": False,
    }


def per_event_ns(make_loop: Callable[[int], Callable[[], None]], events: int, rounds: int) -> float:
    """Median over `rounds` of one pass over `events` prepared records, per event."""
    make_loop(min(events, 1000))()  # warm up
    times = []
    for _ in range(rounds):
        loop = make_loop(events)  # inputs are built outside the timed part
        started = time.perf_counter()
        loop()
        times.append((time.perf_counter() - started) / events * 1e9)
    return statistics.median(times)


def records(n: int, fresh: bool, event: str = "llm_call") -> list[dict[str, Any]]:
    return [{**STAMPS, "event": event, **typical(i, fresh)} for i in range(n)]


def redactor_loop(fresh: bool, event: str = "llm_call") -> Callable[[int], Callable[[], None]]:
    redactor = Redactor()  # one per case, as configure() makes one per setup

    def make(n: int) -> Callable[[], None]:
        batch = records(n, fresh, event)

        def loop() -> None:
            for record in batch:
                redactor(LOGGER, "info", record)

        return loop

    return make


def chain_loop(redact: bool, fresh: bool) -> Callable[[int], Callable[[], None]]:
    chain = build_processors(redactor=Redactor() if redact else None)

    def make(n: int) -> Callable[[], None]:
        batch = [{"event": "llm_call", "kind": "llm_call", **typical(i, fresh)} for i in range(n)]

        def loop() -> None:
            for event_dict in batch:
                run_processors(chain, LOGGER, "info", event_dict)

        return loop

    return make


def file_loop(redact: bool, log_dir: str) -> Callable[[int], Callable[[], None]]:
    ll.configure(log_dir, redact=redact, max_bytes=1 << 30, capture_stdlib=False)
    log = ll.get_logger("agent")

    def make(n: int) -> Callable[[], None]:
        batch = [typical(i, True) for i in range(n)]

        def loop() -> None:
            for fields in batch:
                log.info("llm_call", **fields)

        return loop

    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    n, rounds = args.events, args.rounds

    def show(label: str, ns: float, base: float | None = None) -> None:
        extra = "" if base is None else f"  (+{ns - base:.0f} ns, +{100 * (ns - base) / base:.0f}%)"
        print(f"{label:<44}{ns:8.0f} ns/event{extra}")

    show("redaction, recurring values, no secret", per_event_ns(redactor_loop(False), n, rounds))
    show("redaction, fresh values, no secret", per_event_ns(redactor_loop(True), n, rounds))
    show("redaction, secret in the message", per_event_ns(redactor_loop(True, SECRET), n, rounds))
    plain = per_event_ns(chain_loop(False, True), n, rounds)
    show("chain to bytes, fresh values, no redaction", plain)
    show(
        "chain to bytes, fresh values, redaction",
        per_event_ns(chain_loop(True, True), n, rounds),
        plain,
    )
    with tempfile.TemporaryDirectory() as log_dir:
        try:
            to_file = per_event_ns(file_loop(False, log_dir), n, rounds)
            show("log.info to a file, no redaction", to_file)
            show(
                "log.info to a file, redaction",
                per_event_ns(file_loop(True, log_dir), n, rounds),
                to_file,
            )
        finally:
            ll.reset()


if __name__ == "__main__":
    main()
