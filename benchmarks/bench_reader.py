"""Reader throughput and `stats` memory on a large log written by the library itself.

    python benchmarks/bench_reader.py [--records 1000000] [--compress] [--repeat 3]
                                      [--part all|read|export] [--log DIR]

1. Writes a log of N records (runs of steps and samples, rotated at the default 10 MiB) into a
   temporary directory through `ll.configure()`.
2. Times a bare loop (`for line in file: orjson.loads(line)`, default buffering and again
   with the reader's 1 MiB buffer) and `ll.read_events()` over the same files, alternating,
   best of --repeat; prints events/s and the ratios (target >= 0.70).
3. Runs `llmops-logs stats --json` on the log in a fresh process: wall time and peak RSS; then
   `stats` in-process under tracemalloc for the peak Python heap, beside what holding the
   records as dicts would cost (measured on a slice, scaled up).
4. Times `export --format parquet` against DuckDB's own `COPY (SELECT * FROM read_json_auto(...))
   TO ... (FORMAT parquet)` on the same files, then `export --format otlp` and `report`, each in a
   fresh process (wall time and peak RSS), alternating, best of --repeat.
Not run by the tests; the log is deleted afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import functools
import gc
import gzip
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from itertools import islice

import orjson

import llmops_logging as ll
from llmops_logging._logset import log_files
from llmops_logging.cli import stats as cli_stats


def write_log(log_dir: str, records: int, compress: bool) -> float:
    """Runs of 10 steps, each with an LLM call and 7 samples: an agent's evaluation log."""
    started = time.perf_counter()
    ll.configure(log_dir, backup_count=100_000, compress=compress)
    log = ll.get_logger("bench")
    per_run = 2 + 10 * (2 + 8)  # run_start/run_ok, 10 steps of start/ok and 8 samples
    for run_number in range(-(-records // per_run)):
        with ll.run("eval", model="gpt-x", run_number=run_number) as run:
            for step in range(10):
                with ll.step("call_llm", step=step) as scope:
                    log.info(  # one of the 8 events is an LLM call (DESIGN.md's llm_call record)
                        "chat gpt-4o-mini",
                        kind="llm_call",
                        step_id=f"{scope.step_id}-llm",
                        parent_id=scope.step_id,
                        gen_ai={
                            "operation": {"name": "chat"},
                            "request": {"model": ("gpt-4o-mini", "gpt-4o")[step % 2]},
                            "usage": {"input_tokens": 412 + step, "output_tokens": 37},
                        },
                        duration_s=0.1 + step / 100,
                        cost_usd=0.00008,
                    )
                    for i in range(1, 8):
                        log.info(
                            "sample",
                            kind="sample",
                            i=i,
                            ok=(i + step) % 4 != 0,
                            prompt="Summarise the ticket in one line.",
                            tokens=17 + i,
                        )
            run.set(ok_rate=0.75)
    ll.reset()
    return time.perf_counter() - started


def bare_loop(files: list[str], buffering: int = -1) -> int:
    count = 0
    for name in files:
        opener = gzip.open if name.endswith(".gz") else functools.partial(open, buffering=buffering)
        with opener(name, "rb") as stream:
            for line in stream:
                orjson.loads(line)
                count += 1
    return count


def bare_loop_big_buffer(files: list[str]) -> int:
    """The bare loop with the reader's 1 MiB buffer, so only the per-record work differs."""
    return bare_loop(files, 1 << 20)


def reader_loop(log_dir: str) -> int:
    count = 0
    for _ in ll.read_events(log_dir):
        count += 1
    return count


def best(func: object, arg: object, repeat: int) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        count = func(arg)  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times), count


def stats_in_fresh_process(log_dir: str) -> tuple[float, float, int]:
    """(seconds, peak RSS in MiB, groups) of `llmops-logs stats --json` as its own process."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "llmops_logging.cli", "stats", "--json", log_dir],
        capture_output=True, check=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, peak_kib / 1024, len(orjson.loads(done.stdout)["groups"])


def baseline_rss() -> float:
    """Peak RSS (MiB) of a process that only imports the CLI: what stats adds is above it."""
    code = ("import resource, llmops_logging.cli; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    return int(out.stdout) / 1024


def _child(code: str) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of `code` run in a fresh interpreter, which reports both."""
    wrapped = (
        "import resource, sys, time\n"
        "started = time.perf_counter()\n"
        f"{code}\n"
        "print(time.perf_counter() - started, "
        "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", wrapped], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr)
    seconds, mib = done.stderr.strip().splitlines()[-1].split()
    return float(seconds), float(mib)


def export_side_by_side(log_dir: str, repeat: int) -> None:
    """`export --format parquet` against DuckDB's own COPY of the same files, alternating."""
    out = os.path.join(log_dir, "..", "bench_export")
    os.makedirs(out, exist_ok=True)
    glob = os.path.join(log_dir, "events.jsonl*")
    contenders = {
        "llmops-logs export --format parquet": (
            "from llmops_logging.cli import main\n"
            f"main(['export', '--format', 'parquet', '--out', {out + '/ours.parquet'!r}, "
            f"{log_dir!r}])"
        ),
        "DuckDB COPY (SELECT * FROM read_json_auto(...)) TO ... (FORMAT parquet)": (
            "import duckdb\n"
            f"duckdb.sql(\"COPY (SELECT * FROM read_json_auto('{glob}')) "
            f"TO '{out}/duckdb.parquet' (FORMAT parquet)\")"
        ),
        "llmops-logs export --format otlp": (
            "from llmops_logging.cli import main\n"
            f"main(['export', '--format', 'otlp', '--out', {out + '/ours.otlp.jsonl'!r}, "
            f"{log_dir!r}])"
        ),
        "llmops-logs report": (
            "from llmops_logging.cli import main\n"
            f"main(['report', '--out', {out + '/report.html'!r}, {log_dir!r}])"
        ),
    }
    best: dict[str, tuple[float, float]] = {}
    for _ in range(repeat):
        for name, code in contenders.items():
            seconds, mib = _child(code)
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, max(mib, best.get(name, (0, 0))[1]))
    duck = next(v for k, v in best.items() if k.startswith("DuckDB"))[0]
    print(f"| command (best of {repeat}) | seconds | peak RSS | / DuckDB COPY |")
    print("|---|---:|---:|---:|")
    for name, (seconds, mib) in best.items():
        print(f"| {name} | {seconds:.1f} | {mib:.0f} MiB | {seconds / duck:.2f}x |")
    shutil.rmtree(out, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--compress", action="store_true", help="gzip the rotated files")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the log and print its path")
    parser.add_argument(
        "--part",
        choices=("all", "read", "export"),
        default="all",
        help="read: the reader and stats; export: parquet/otlp export against DuckDB, report",
    )
    parser.add_argument("--log", help="an existing log directory to use instead of writing one")
    args = parser.parse_args()

    log_dir = args.log or tempfile.mkdtemp(prefix="bench_reader_")
    try:
        seconds = 0.0 if args.log else write_log(log_dir, args.records, args.compress)
        files = log_files(log_dir)
        size = sum(os.path.getsize(f) for f in files)
        print(
            f"log: {len(files)} files, {size / 2**20:.1f} MiB on disk"
            f"{' (rotated files gzipped)' if args.compress else ''}, written in {seconds:.1f} s"
        )
        if args.part in ("all", "export"):
            export_side_by_side(log_dir, args.repeat)
        if args.part == "export":
            return 0

        bare_s = big_s = ours_s = float("inf")
        bare_n = big_n = ours_n = 0
        for _ in range(args.repeat):  # alternate, so all see the same cache and clock state
            t, bare_n = best(bare_loop, files, 1)
            bare_s = min(bare_s, t)
            t, big_n = best(bare_loop_big_buffer, files, 1)
            big_s = min(big_s, t)
            t, ours_n = best(reader_loop, log_dir, 1)
            ours_s = min(ours_s, t)
        assert bare_n == big_n == ours_n, (bare_n, big_n, ours_n)
        print(f"records: {ours_n:,}")
        print(f"bare orjson loop:             {bare_s:.3f} s  {bare_n / bare_s:,.0f} events/s")
        print(f"bare loop, 1 MiB read buffer: {big_s:.3f} s  {big_n / big_s:,.0f} events/s")
        print(f"ll.read_events:               {ours_s:.3f} s  {ours_n / ours_s:,.0f} events/s")
        print(
            f"ratio read_events / bare loop (speed): {bare_s / ours_s:.2f}, "
            f"/ bare loop with the same buffer: {big_s / ours_s:.2f}  (target >= 0.70)"
        )

        elapsed, peak_mib, groups = stats_in_fresh_process(log_dir)
        base = baseline_rss()
        print(
            f"llmops-logs stats over {ours_n:,} records: {elapsed:.2f} s wall, "
            f"{ours_n / elapsed:,.0f} records/s, peak RSS {peak_mib:.1f} MiB "
            f"(an interpreter with the CLI imported: {base:.1f} MiB), {groups} groups"
        )

        tracemalloc.start()
        started = time.perf_counter()
        cli_stats.stats(ll.read_events(log_dir))
        traced_s = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        sample = 50_000
        before = tracemalloc.get_traced_memory()[0]
        held = list(islice(ll.read_events(log_dir), sample))
        per_record = (tracemalloc.get_traced_memory()[0] - before) / len(held)
        tracemalloc.stop()
        del held
        print(
            f"stats in-process under tracemalloc: peak Python heap {peak / 2**20:.2f} MiB "
            f"({traced_s:.1f} s, slowed by tracing); holding the {ours_n:,} records as dicts "
            f"would take ~{per_record * ours_n / 2**20:,.0f} MiB ({per_record:.0f} B each)"
        )
    finally:
        if args.keep or args.log:
            print(f"kept: {log_dir}")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
