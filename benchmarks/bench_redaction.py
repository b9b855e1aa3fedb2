"""What redaction costs per event, on the record an agent logs most: an LLM call.

Times the `Redactor` alone on a typical record (about ten short fields, a URL, an id, a short
message and usage numbers, no secret), in three cases: the same string values every time
(recurring values are remembered as clean), fresh string values every event (ids and messages
never seen before: the honest worst common case), and a secret in the message (the slow path).
For context it also times the whole processor chain (stamps to rendered bytes, no I/O) with
and without redaction, and a full `log.info` into a real file. Plain `time.perf_counter`
loops; each figure is the median of several rounds, in nanoseconds per event.

Then the worst cases: one string of `--kib` KiB made of benign prose, or of one hostile unit
repeated (many `password=` or `token:` separators, unclosed quotes, URL and token prefixes),
redacted whole, in microseconds per KiB (best of the rounds). Redaction is linear, so these
figures do not grow with `--kib`; before it was, the first ones grew with it.

Last, hostile calls: one `log.info` whose arguments are small in the caller's memory but huge
when walked (`[row] * 10_000` of a 1,000-key dict, 2**20 shared references made by `x = [x, x]`
twenty times, a 10-million-number numpy array, 300 wide fields), through `configure()` into a
real file, each in a fresh process: the call's wall and CPU time and the peak resident memory it
added (the kernel's high-water mark, reset just before the call), redaction on and off. On a
loaded machine the CPU time is the steadier figure.

    python benchmarks/bench_redaction.py [--events 20000] [--rounds 7] [--kib 256]
    python benchmarks/bench_redaction.py --hostile-only --kib 32
    python benchmarks/bench_redaction.py --calls-only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
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
BENIGN = "The model answered in 812 ms; the weather in Paris is mild today, 14 degrees. "
HOSTILE = ["password=", "token:", "password=x ", "token: x ", "cookie: ", "cookie:'x ",
           'pwd="x ', "api_key=;", "Authorization: Bearer ", "://a:", "://:p@", "eyJ",
           "-----BEGIN RSA PRIVATE KEY-----", "('set-cookie', '", "token%3D", "a=",
           "AKIAABCDEFGHIJKLMNOP "]  # fmt: skip
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


def us_per_kib(unit: str, kib: int, rounds: int) -> float:
    """Best time over `rounds` to redact one record whose value is `unit` repeated to `kib`."""
    size = kib * 1024
    text = (unit * (size // len(unit) + 1))[:size]
    redactor = Redactor()
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        redactor(LOGGER, "info", {**STAMPS, "value": text})
        best = min(best, time.perf_counter() - started)
    return best * 1e6 / kib


def worst_cases(kib: int, rounds: int) -> None:
    print(f"\none {kib} KiB string, redacted whole (best of {rounds}):")
    print(f"{'benign prose':<44}{us_per_kib(BENIGN, kib, rounds):10.1f} us/KiB")
    for unit in HOSTILE:
        print(f"{'hostile ' + repr(unit):<44}{us_per_kib(unit, kib, rounds):10.1f} us/KiB")


HOSTILE_CALLS = ("rows", "shared", "shared_text", "numpy", "wide")


def hostile_fields(case: str) -> dict[str, Any]:
    """The arguments of one hostile call, beside the small fields every case carries."""
    if case == "rows":
        row = {f"field_{j}": f"value {j}" for j in range(1000)}
        return {"rows": [row] * 10_000}
    if case in ("shared", "shared_text"):
        tree: Any = "leaf" if case == "shared" else "t" * 1000
        for _ in range(20):
            tree = [tree, tree]
        return {"tree": tree}
    if case == "numpy":
        import numpy

        return {"matrix": numpy.arange(10_000_000, dtype=numpy.float64).reshape(10_000, 1_000)}
    return {f"k{n}": "v" * 20_000 for n in range(300)}


def _kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def hostile_call(case: str, redact: bool) -> dict[str, Any]:
    """Runs in a fresh process: one hostile call, its wall time and added peak memory."""
    with tempfile.TemporaryDirectory() as log_dir:
        ll.configure(log_dir, redact=redact, capture_stdlib=False)
        log = ll.get_logger("bench")
        log.info("warm up", i=0)
        fields = hostile_fields(case)
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # resets the peak resident size (VmHWM) to the current one
        before = _kib("VmRSS:")
        started, cpu = time.perf_counter(), time.process_time()
        log.info("batch", **fields, user_id="u-42", doc_id="d-7", i=3)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak = _kib("VmHWM:")
        with open(os.path.join(log_dir, "events.jsonl"), "rb") as f:
            line = f.read().splitlines()[-1]
        ll.reset()
    record = json.loads(line)
    kept = all(k in record for k in ("user_id", "doc_id", "i"))
    return {"ms": elapsed * 1e3, "cpu_ms": cpu * 1e3, "mib": (peak - before) / 1024,
            "bytes": len(line), "kept": kept}  # fmt: skip


def hostile_calls() -> None:
    print("\nhostile calls, one log.info each in a fresh process:")
    print(f"{'case':<14}{'redact':>7}{'time':>11}{'cpu':>11}{'peak added':>13}{'line':>10}"
          "  small fields")  # fmt: skip
    for case in HOSTILE_CALLS:
        for redact in (True, False):
            done = subprocess.run(
                [sys.executable, __file__, "--call", case, "--redact", str(int(redact))],
                capture_output=True, text=True, check=False, timeout=900,
            )  # fmt: skip
            if done.returncode != 0:
                print(f"{case:<14}{redact!s:>7}  failed: {done.stderr.strip()[-300:]}")
                continue
            got = json.loads(done.stdout.splitlines()[-1])
            print(f"{case:<14}{redact!s:>7}{got['ms']:>8.1f} ms{got['cpu_ms']:>8.1f} ms"
                  f"{got['mib']:>9.1f} MiB"
                  f"{got['bytes']:>10,}  {'kept' if got['kept'] else 'LOST'}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--kib", type=int, default=256, help="size of the worst-case strings")
    parser.add_argument("--hostile-only", action="store_true", help="only the worst cases")
    parser.add_argument("--calls-only", action="store_true", help="only the hostile calls")
    parser.add_argument("--call", choices=HOSTILE_CALLS, help=argparse.SUPPRESS)
    parser.add_argument("--redact", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    n, rounds = args.events, args.rounds
    if args.call:
        print(json.dumps(hostile_call(args.call, bool(args.redact))))
        return
    if args.calls_only:
        hostile_calls()
        return
    if args.hostile_only:
        worst_cases(args.kib, min(rounds, 3))
        return

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
    worst_cases(args.kib, min(rounds, 3))
    hostile_calls()


if __name__ == "__main__":
    main()
