"""`llmops-logs ship` into a local OTLP/HTTP receiver: throughput, lag and memory, beside
`export --format otlp --protocol http/protobuf` of the same log.

    python benchmarks/bench_ship.py [--records 1000000] [--lag-seconds 20] [--rate 1000]
                                    [--part all|ship|lag] [--log DIR] [--keep]

1. Writes a log of N records through `ll.configure()` (default rotation size): runs of an
   agent step holding three turns of an `llm_call` (GenAI usage, input and output messages),
   a `tool_call` with a record logged inside it and two samples, and a score: 20 records and
   8 spans per run.
2. Starts a receiver in this process that decodes every request body (gunzip, then
   `ExportTraceServiceRequest.ParseFromString` of opentelemetry-proto) and counts its spans,
   acknowledging each with an empty `ExportTraceServiceResponse`.
3. Runs `ship --once` into it in a fresh process, then `export --format otlp --protocol
   http/protobuf` of the same log into a file, each in a fresh process: wall time, CPU time
   (user + system, from `wait4`), peak RSS, records/s and spans/s, and the ratios.
   Beside them, the floor (`floor`): the least a Python shipper does per record, parsed and
   made one span of its flattened leaves through opentelemetry-proto, in a fresh process too.
4. Lag: an app process logs the same runs at --rate records/s for --lag-seconds while a live
   `ship` (not --once) follows the log; for each span received, lag = receive time minus its
   end time (the `ts` of the record that ended it); median and p99.
Not run by the tests; the log is deleted afterwards unless --keep or --log.
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from _peers import compile_project
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

import llmops_logging as ll

RECORDS_PER_RUN = 20
SPANS_PER_RUN = 8
PRICES = {"gpt-4o-mini": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}}
SYSTEM = "You are a support agent. Answer briefly, look facts up with the tools you have."


@ll.tool
def lookup(query: str) -> str:
    """Look a query up in the knowledge base."""
    ll.get_logger("app").info("looking up", query=query, source="kb")
    return f"found {query}: the order ships in 3 days"


def one_run(n: int, log: Any) -> None:
    """One run of RECORDS_PER_RUN records."""
    with ll.run("support", ticket=n, input=f"ticket {n}: where is my order?") as run:
        with ll.agent("helper", id=f"h{n % 8}") as agent:
            for turn in range(3):
                with ll.llm_call("gpt-4o-mini", provider="openai") as call:
                    call.set_request(temperature=0.2, max_tokens=256)
                    call.input_messages = [
                        {"role": "system", "parts": [{"type": "text", "content": SYSTEM}]},
                        {"role": "user", "parts": [{"type": "text", "content": f"q {n}.{turn}"}]},
                    ]
                    call.output_messages = [
                        {
                            "role": "assistant",
                            "parts": [{"type": "text", "content": f"Let me check {n}.{turn}."}],
                        }
                    ]
                    call.response_model = "gpt-4o-mini"
                    call.finish_reasons = ["stop"]
                    call.set_usage(input_tokens=400 + turn, output_tokens=30 + n % 7)
                lookup(f"order {n}.{turn}")
                for i in range(2):
                    log.info("sample", kind="sample", i=i, ok=(n + i) % 4 != 0, tokens=17 + i)
            agent.set(output={"answer": n})
        ll.score("helpfulness", 0.5 + n % 5 / 10, label="ok")
        run.set(output=f"done {n}")


def write_log(log_dir: str, records: int) -> float:
    started = time.perf_counter()
    ll.configure(log_dir, prices=PRICES, backup_count=100_000)
    log = ll.get_logger("bench")
    for n in range(-(-records // RECORDS_PER_RUN)):
        one_run(n, log)
    ll.reset()
    return time.perf_counter() - started


def app(log_dir: str, rate: float, seconds: float) -> None:
    """Log runs at `rate` records per second for `seconds` (the lag part's writer)."""
    ll.configure(log_dir, prices=PRICES, backup_count=100_000)
    log = ll.get_logger("bench")
    started = time.perf_counter()
    n = 0
    while time.perf_counter() - started < seconds:
        one_run(n, log)
        n += 1
        pause = started + n * RECORDS_PER_RUN / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    ll.reset()


class Receiver:
    """OTLP/HTTP protobuf receiver: decodes every body, counts spans; with `lags`, keeps
    receive time minus end time of each span."""

    def __init__(self, lags: bool = False) -> None:
        self.spans = self.requests = self.bytes = 0
        self.keep_lags = lags
        self.lags: list[float] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.time_ns()
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                count = 0
                lags = []
                for resource_spans in request.resource_spans:
                    for scope in resource_spans.scope_spans:
                        count += len(scope.spans)
                        if receiver.keep_lags:
                            lags += [(now - s.end_time_unix_nano) / 1e9 for s in scope.spans]
                with receiver.lock:
                    receiver.spans += count
                    receiver.requests += 1
                    receiver.bytes += len(body)
                    receiver.lags += lags
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


RUN_CLI = """
import os, sys
from llmops_logging.cli import main
try:
    status = main(sys.argv[1:])
finally:
    with open("/proc/self/status") as found, open(os.environ["BENCH_HWM"], "w") as out:
        out.write(next(line for line in found if line.startswith("VmHWM")).split()[1])
sys.exit(status)
"""
"""`llmops-logs ARGS` that writes its peak RSS (`VmHWM`, in KiB) to `$BENCH_HWM` as it ends:
the `ru_maxrss` that `wait4` gives would count the benchmark's own size at the fork."""


def cli(*args: str) -> list[str]:
    return [sys.executable, "-c", RUN_CLI, *args]


def floor(log_dir: str, batch: int = 1000) -> int:
    """The least any Python shipper does per record, as a yardstick for ship: each line read
    and parsed with orjson, made one span (fixed ids, its `event` as name) whose attributes
    are the record's leaves flattened with `.` (objects and lists as JSON text), built as
    opentelemetry-proto messages, serialized and gzipped (level 1, as ship) per `batch`
    spans; nothing sent, no span assembly, no GenAI or OpenInference names, no checkpoint.
    Returns the records."""
    import orjson
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    def leaves(fields: dict[str, Any], prefix: str) -> Any:
        for key, value in fields.items():
            if type(value) is dict:
                yield from leaves(value, f"{prefix}{key}.")
            elif value is not None:
                yield prefix + str(key), value

    def fresh() -> tuple[Any, Any]:
        request = trace_service_pb2.ExportTraceServiceRequest()
        return request, request.resource_spans.add().scope_spans.add()

    records = 0
    request, scope = fresh()
    for name in sorted(os.listdir(log_dir)):
        if not name.startswith("events.jsonl"):
            continue
        with (gzip.open if name.endswith(".gz") else open)(os.path.join(log_dir, name), "rb") as f:
            for line in f:
                record = orjson.loads(line)
                records += 1
                span = scope.spans.add(trace_id=b"\1" * 16, span_id=b"\2" * 8)
                span.name = str(record.get("event"))
                for key, value in leaves(record, ""):
                    kind = type(value)
                    attribute = span.attributes.add(key=key)
                    if kind is str:
                        attribute.value.string_value = value
                    elif kind is bool:
                        attribute.value.bool_value = value
                    elif kind is int and -(2**63) <= value < 2**63:
                        attribute.value.int_value = value
                    elif kind is float:
                        attribute.value.double_value = value
                    else:
                        attribute.value.string_value = orjson.dumps(value).decode()
                if len(scope.spans) >= batch:
                    gzip.compress(request.SerializeToString(), compresslevel=1)
                    request, scope = fresh()
    gzip.compress(request.SerializeToString(), compresslevel=1)
    return records


RUN_FLOOR = RUN_CLI.replace(
    "from llmops_logging.cli import main",
    f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); import bench_ship",
).replace("status = main(sys.argv[1:])", "bench_ship.floor(sys.argv[1]); status = 0")
"""The floor as its own process, measured as the commands are."""


def peak_mib(work: str) -> float:
    with open(os.path.join(work, "hwm")) as found:
        return int(found.read()) / 1024


def reap(child: subprocess.Popen[bytes], work: str) -> dict[str, float]:
    """Wait for `child` (a `cli`) with `wait4`: its CPU time (user + system), peak RSS (MiB)."""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return {"cpu": usage.ru_utime + usage.ru_stime, "rss": peak_mib(work)}


def _env(work: str) -> dict[str, str]:
    """Children run in `work`, not here: `python -c` puts its directory first on sys.path, so
    a checkout as the current directory would be imported in place of `$PYTHONPATH`'s."""
    return {**os.environ, "BENCH_HWM": os.path.join(work, "hwm")}


def measured(argv: list[str], work: str) -> tuple[dict[str, float], str]:
    """Wall time, CPU time and peak RSS of `argv` as its own process; and what it printed."""
    with tempfile.TemporaryFile(dir=work) as out:
        started = time.perf_counter()
        child = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=_env(work), cwd=work
        )
        usage = reap(child, work)
        wall = time.perf_counter() - started
        out.seek(0)
        printed = out.read().decode()
    if child.returncode:
        raise RuntimeError(f"{argv}: status {child.returncode}\n{printed}")
    return {"wall": wall, **usage}, printed


def throughput(log_dir: str, work: str, records: int) -> list[tuple[str, dict[str, float], int]]:
    """ship, export and the floor, each in a fresh process."""
    receiver = Receiver()
    try:
        ship, printed = measured(
            cli("ship", log_dir, "--once", "--to", receiver.url,
                "--checkpoint", os.path.join(work, "ship.json")),
            work,
        )  # fmt: skip
        spans = receiver.spans
        print(f"ship: {printed.strip()}; receiver: {receiver.requests} requests, "
              f"{spans:,} spans, {receiver.bytes / 2**20:.1f} MiB of protobuf")  # fmt: skip
    finally:
        receiver.stop()
    out = os.path.join(work, "export.otlp.pb")
    export, _ = measured(
        cli("export", "--format", "otlp", "--protocol", "http/protobuf", "--out", out, log_dir),
        work,
    )
    exported = ExportTraceServiceRequest()
    with open(out, "rb") as stream:
        exported.ParseFromString(stream.read())
    export_spans = sum(len(s.spans) for r in exported.resource_spans for s in r.scope_spans)
    os.unlink(out)
    least, _ = measured([sys.executable, "-c", RUN_FLOOR, log_dir], work)
    if export_spans != spans:
        print(f"warning: export wrote {export_spans:,} spans, ship sent {spans:,}")
    return [
        ("ship --once (into the receiver)", ship, spans),
        ("export --format otlp --protocol http/protobuf", export, export_spans),
        ("floor: orjson + opentelemetry-proto, a span per record (`floor`)", least, records),
    ]


def lag(work: str, rate: float, seconds: float) -> dict[str, float]:
    log_dir = os.path.join(work, "live")
    os.makedirs(log_dir)
    receiver = Receiver(lags=True)
    code = (
        f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
        f"import bench_ship; bench_ship.app({log_dir!r}, {rate}, {seconds})"
    )
    writer = subprocess.Popen([sys.executable, "-c", code], cwd=work)
    time.sleep(0.5)  # the log exists
    shipper = subprocess.Popen(
        cli("ship", log_dir, "--to", receiver.url,
            "--checkpoint", os.path.join(work, "live.json")),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(work), cwd=work,
    )  # fmt: skip
    try:
        writer.wait()
        seen, still = -1, time.monotonic()
        while time.monotonic() - still < 2.0:  # until nothing more arrives for 2 s
            time.sleep(0.2)
            if receiver.spans != seen:
                seen, still = receiver.spans, time.monotonic()
    finally:
        shipper.send_signal(signal.SIGTERM)
        usage = reap(shipper, work)
        receiver.stop()
    lags = sorted(receiver.lags)
    return {
        "spans": len(lags),
        "median": statistics.median(lags),
        "p99": lags[min(len(lags) - 1, int(len(lags) * 0.99))],
        "max": lags[-1],
        "cpu": usage["cpu"],
        "rss": usage["rss"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=1000.0, help="records/s in the lag part")
    parser.add_argument("--lag-seconds", type=float, default=20.0)
    parser.add_argument("--part", choices=("all", "ship", "lag"), default="all")
    parser.add_argument("--log", help="an existing log directory to ship instead of writing one")
    parser.add_argument("--keep", action="store_true", help="keep the log and print its path")
    args = parser.parse_args()

    compile_project()
    work = tempfile.mkdtemp(prefix="bench_ship_")
    log_dir = args.log or os.path.join(work, "raw_events")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    try:
        if args.part in ("all", "ship"):
            seconds = 0.0 if args.log else write_log(log_dir, args.records)
            files = [os.path.join(log_dir, f) for f in os.listdir(log_dir)]
            size = sum(os.path.getsize(f) for f in files)
            records = args.records if not args.log else 0
            if not records:
                records = sum(
                    (gzip.open if f.endswith(".gz") else open)(f, "rb").read().count(b"\n")
                    for f in files
                )
            print(f"log: {records:,} records in {len(files)} files, {size / 2**20:.0f} MiB, "
                  f"written in {seconds:.1f} s")  # fmt: skip
            rows = throughput(log_dir, work, records)
            print("| command | wall s | CPU s | peak RSS | records/s (wall) | spans/s (wall) |"
                  " records/s (CPU) |")  # fmt: skip
            print("|---|---:|---:|---:|---:|---:|---:|")
            for name, got, spans in rows:
                print(
                    f"| {name} | {got['wall']:.1f} | {got['cpu']:.1f} | {got['rss']:.0f} MiB | "
                    f"{records / got['wall']:,.0f} | {spans / got['wall']:,.0f} | "
                    f"{records / got['cpu']:,.0f} |"
                )
            ship, export, least = (row[1] for row in rows)
            print(
                f"ship / export: wall {ship['wall'] / export['wall']:.2f}x, "
                f"CPU {ship['cpu'] / export['cpu']:.2f}x, peak RSS "
                f"{ship['rss'] / export['rss']:.2f}x; target >= 50,000 records/s: "
                f"{'met' if records / ship['wall'] >= 50_000 else 'not met'} (the floor: "
                f"{records / least['cpu']:,.0f} records/s of CPU; ship at "
                f"{least['cpu'] / ship['cpu']:.2f}x of it)"
            )
        if args.part in ("all", "lag"):
            got = lag(work, args.rate, args.lag_seconds)
            print(
                f"lag at {args.rate:,.0f} records/s for {args.lag_seconds:.0f} s: "
                f"{got['spans']:,.0f} spans, median {got['median']:.3f} s, p99 "
                f"{got['p99']:.3f} s, max {got['max']:.3f} s (target p99 < 2 s); live ship "
                f"used {got['cpu']:.1f} s CPU, peak RSS {got['rss']:.0f} MiB"
            )
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
