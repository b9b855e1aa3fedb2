"""Reader throughput and `stats` memory on a large log written by the library itself.

    python benchmarks/bench_reader.py [--records 1000000] [--compress] [--repeat 3]
                                      [--part all|read|export|stats] [--log DIR]

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
5. `--part stats`: `llmops-logs stats --json` and `runs --json` against polars and DuckDB
   answering the same questions on the same files (per name: records, errors, duration
   percentiles, LLM tokens and cost; per run: start, end, status, events, samples, usage), each
   in a fresh process: wall and CPU seconds, peak RSS, best of --repeat, and the ratios;
   the commands again with `LLMOPS_LOGS_WORKERS=1`, in one process; and the floor of any
   reader that keeps orjson's reading of each line (`_FLOOR`: each line parsed, nothing else,
   a forked process per core), which no command can beat. CPU seconds add up the
   workers (waited for, so counted in the command's rusage); peak RSS is the largest one
   process reached, not the sum over the workers.
The package is compiled to bytecode before anything is timed (`_peers.compile_project`), as
an install leaves it. Not run by the tests; the log is deleted afterwards unless --keep.
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
from _peers import compile_project

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


_POLARS_HEAD = """
import polars as pl
frame = pl.scan_ndjson(FILES, infer_schema_length=None)
names = set(frame.collect_schema().names())
def col(name):
    return pl.col(name) if name in names else pl.lit(None)
def totals(name):
    return pl.col("usage").struct.field(name) if "usage" in names else pl.lit(None)
"""
_POLARS_STATS = (
    _POLARS_HEAD
    + """
kind, level = pl.col("kind"), pl.col("level")
name = pl.col("name").fill_null("-")
key = (
    pl.when(kind == "llm_call").then(pl.lit("llm_call ") + pl.col("event").fill_null("-"))
    .when(kind.is_in(["run_ok", "run_error"])).then(pl.lit("run ") + name)
    .when(kind.is_in(["step_ok", "step_error"])).then(pl.lit("step ") + name)
)
failed = (level.is_in(["error", "critical"]) | col("error").is_not_null()
          | kind.str.ends_with("_error"))
usage = pl.col("gen_ai").struct.field("usage")
is_call = kind == "llm_call"
out = (
    frame
    .select(key=key, failed=failed, d=pl.col("duration_s"), is_call=is_call,
            i=pl.when(is_call).then(usage.struct.field("input_tokens")),
            o=pl.when(is_call).then(usage.struct.field("output_tokens")),
            c=pl.when(is_call).then(pl.col("cost_usd")))
    .filter(pl.col("key").is_not_null())
    .group_by("key")
    .agg(records=pl.len(), errors=pl.col("failed").sum(), durations=pl.col("d").count(),
         p50=pl.col("d").quantile(0.5), p95=pl.col("d").quantile(0.95),
         p99=pl.col("d").quantile(0.99), max=pl.col("d").max(), calls=pl.col("is_call").sum(),
         input_tokens=pl.col("i").sum(), output_tokens=pl.col("o").sum(), cost=pl.col("c").sum(),
         priced=pl.col("c").count())
    .sort(["records", "key"], descending=[True, False])
    .collect()
)
print(out.write_json(), file=open(os.devnull, "w"))
"""
)

_POLARS_RUNS = (
    _POLARS_HEAD
    + """
kind, ts = pl.col("kind"), pl.col("ts")
end = kind.is_in(["run_ok", "run_error"])
g = pl.col("gen_ai").struct.field("usage")
out = (
    frame
    .filter(pl.col("run_id").is_not_null())
    .group_by("run_id")
    .agg(
        name=pl.col("name").filter(kind == "run_start").last(),
        start=ts.filter(kind == "run_start").last(), first_ts=ts.first(),
        end=ts.filter(end).last(), ends=kind.filter(end).last(),
        started=(kind == "run_start").any(),
        duration_s=pl.col("duration_s").filter(end).last(), events=pl.len(),
        samples=(kind == "sample").sum(), samples_ok=((kind == "sample") & pl.col("ok")).sum(),
        ok_rate=pl.col("ok_rate").filter(end).last(),
        error=col("error").filter(end).last(),
        llm_calls=totals("llm_calls").filter(end).last(),
        input_tokens=totals("input_tokens").filter(end).last(),
        output_tokens=totals("output_tokens").filter(end).last(),
        cost=totals("cost_usd").filter(end).last(),
        calls=(kind == "llm_call").sum(),
        call_in=g.struct.field("input_tokens").filter(kind == "llm_call").sum(),
        call_out=g.struct.field("output_tokens").filter(kind == "llm_call").sum(),
        call_cost=pl.col("cost_usd").filter(kind == "llm_call").sum(),
    )
    .filter(pl.col("started") | pl.col("ends").is_not_null())
    .sort(pl.coalesce("start", "first_ts"))
    .collect()
)
print(out.write_json(), file=open(os.devnull, "w"))
"""
)

_DUCK_KEY = (
    "CASE WHEN kind = 'llm_call' THEN 'llm_call ' || coalesce(event, '-') "
    "WHEN kind IN ('run_ok', 'run_error') THEN 'run ' || coalesce(name, '-') "
    "WHEN kind IN ('step_ok', 'step_error') THEN 'step ' || coalesce(name, '-') END"
)
_DUCK_STATS = f"""
SELECT key, count(*) AS records,
  sum(CASE WHEN level IN ('error', 'critical') OR error IS NOT NULL OR kind LIKE '%_error'
      THEN 1 ELSE 0 END) AS errors,
  count(duration_s) AS durations, quantile_cont(duration_s, 0.5) AS p50,
  quantile_cont(duration_s, 0.95) AS p95, quantile_cont(duration_s, 0.99) AS p99,
  max(duration_s) AS max, sum(CASE WHEN kind = 'llm_call' THEN 1 ELSE 0 END) AS calls,
  sum(CASE WHEN kind = 'llm_call' THEN gen_ai.usage.input_tokens END) AS input_tokens,
  sum(CASE WHEN kind = 'llm_call' THEN gen_ai.usage.output_tokens END) AS output_tokens,
  sum(CASE WHEN kind = 'llm_call' THEN cost_usd END) AS cost
FROM (SELECT *, {_DUCK_KEY} AS key FROM read_json_auto(GLOB, ignore_errors=true))
WHERE key IS NOT NULL GROUP BY key ORDER BY records DESC, key
"""
_DUCK_RUNS = """
SELECT run_id,
  last(name ORDER BY seq) FILTER (WHERE kind = 'run_start') AS name,
  min(ts) AS first_ts, max(ts) FILTER (WHERE kind = 'run_start') AS start,
  max(ts) FILTER (WHERE kind IN ('run_ok', 'run_error')) AS "end",
  max(kind) FILTER (WHERE kind IN ('run_ok', 'run_error')) AS status,
  max(duration_s) FILTER (WHERE kind IN ('run_ok', 'run_error')) AS duration_s,
  count(*) AS events, count(*) FILTER (WHERE kind = 'sample') AS samples,
  count(*) FILTER (WHERE kind = 'sample' AND ok) AS samples_ok,
  max(ok_rate) FILTER (WHERE kind IN ('run_ok', 'run_error')) AS ok_rate,
  count(error) FILTER (WHERE kind IN ('run_ok', 'run_error')) AS failures,
  max(usage.llm_calls) FILTER (WHERE kind IN ('run_ok', 'run_error')) AS llm_calls,
  max(usage.input_tokens) FILTER (WHERE kind IN ('run_ok', 'run_error')) AS input_tokens,
  max(usage.output_tokens) FILTER (WHERE kind IN ('run_ok', 'run_error')) AS output_tokens,
  max(usage.cost_usd) FILTER (WHERE kind IN ('run_ok', 'run_error')) AS cost,
  count(*) FILTER (WHERE kind = 'llm_call') AS calls
FROM read_json_auto(GLOB, ignore_errors=true)
WHERE run_id IS NOT NULL GROUP BY run_id
HAVING count(*) FILTER (WHERE kind IN ('run_start', 'run_ok', 'run_error')) > 0
ORDER BY coalesce(start, first_ts)
"""


_CLI_SPLIT = (
    "import resource, sys\n"
    "from llmops_logging.cli import main\n"
    "status = main(sys.argv[1:])\n"
    "sys.stdout.flush()\n"
    "own, workers = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,\n"
    "                                                    resource.RUSAGE_CHILDREN))\n"
    "print('cpu-split', own.ru_utime + own.ru_stime, workers.ru_utime + workers.ru_stime,\n"
    "      file=sys.stderr)\n"
    "sys.exit(status)\n"
)
"""`llmops-logs ARGS` that says on stderr the CPU seconds of its own process and of the workers
it forked: the longer of the two bounds its wall time on idle cores, whatever the load."""


def _measured(argv: list[str]) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MiB, the split of CPU seconds or "-") of `argv` as a fresh
    process, from its own rusage."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    stderr = child.stderr.read() if child.stderr else b""
    if status:
        raise RuntimeError(f"{argv[:4]} failed: {stderr.decode(errors='replace')[-2000:]}")
    split = "-"
    for line in stderr.decode(errors="replace").splitlines():
        if line.startswith("cpu-split "):
            own, workers = map(float, line.split()[1:])
            split = f"{own:.2f} / {workers:.2f}"
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, split


_FLOOR = """
import gzip, os, sys, orjson
cores = os.cpu_count() or 1
sizes = [os.path.getsize(f) for f in FILES]
shares, share, filled = [], [], 0
for name, size in zip(FILES, sizes):
    share.append(name)
    filled += size
    if filled >= sum(sizes) * (len(shares) + 1) / cores and len(shares) < cores - 1:
        shares.append(share)
        share = []
shares.append(share)
children = []
for share in shares:
    pid = os.fork()
    if pid == 0:
        loads, bad = orjson.loads, orjson.JSONDecodeError
        for name in share:
            with (gzip.open if name.endswith(".gz") else open)(name, "rb") as stream:
                for line in stream:
                    try:
                        loads(line)
                    except bad:
                        pass
        os._exit(0)
    children.append(pid)
failed = [pid for pid in children if os.waitpid(pid, 0)[1]]
sys.exit(1 if failed else 0)
"""
"""The floor of any reader that gives what orjson reads of each line: every line parsed (a
torn one skipped) and nothing else done, by one forked process per core over a contiguous
share of the files (as the commands fan out); it fails if any of them does."""


def questions_side_by_side(log_dir: str, repeat: int) -> None:
    """`stats --json` and `runs --json` against polars and DuckDB on the same files, each in a
    fresh process, alternating, best wall time of --repeat (its CPU and peak RSS beside)."""
    files = sorted(log_files(log_dir))
    glob = os.path.join(log_dir, "events.jsonl*")

    def duck(query: str) -> str:  # a log with no error has no `error` column: NULL there
        query = query.replace("GLOB", repr(glob))
        return (
            "import duckdb\n"
            f"describe = {f'DESCRIBE SELECT * FROM read_json_auto({glob!r})'!r}\n"
            "names = {r[0] for r in duckdb.sql(describe).fetchall()}\n"
            f"query = {query!r}\n"
            "if 'error' not in names:\n"
            "    query = query.replace('error IS', 'NULL IS').replace('(error)', '(NULL)')\n"
            "if 'usage' not in names:\n"
            "    for field in ('llm_calls', 'input_tokens', 'output_tokens', 'cost_usd'):\n"
            "        query = query.replace('(usage.' + field + ')', '(NULL)')\n"
            "duckdb.sql(query).fetchall()\n"
        )

    python = [sys.executable, "-c"]
    one_process = ["env", "LLMOPS_LOGS_WORKERS=1"]  # the fan-out off (`cli._fanout`)
    cli = [sys.executable, "-c", _CLI_SPLIT]
    floor = [*python, f"FILES = {files!r}\n{_FLOOR}"]
    questions = {
        "stats": {
            "llmops-logs stats --json": [*cli, "stats", "--json", log_dir],
            "llmops-logs stats --json, one process": [*one_process, *cli, "stats", "--json",
                                                      log_dir],
            "polars": [*python, f"import os\nFILES = {files!r}\n{_POLARS_STATS}"],
            "DuckDB": [*python, duck(_DUCK_STATS)],
            "floor: orjson.loads of each line, a process per core": floor,
        },
        "runs": {
            "llmops-logs runs --json": [*cli, "runs", "--json", log_dir],
            "llmops-logs runs --json, one process": [*one_process, *cli, "runs", "--json",
                                                     log_dir],
            "polars": [*python, f"import os\nFILES = {files!r}\n{_POLARS_RUNS}"],
            "DuckDB": [*python, duck(_DUCK_RUNS)],
            "floor: orjson.loads of each line, a process per core": floor,
        },
    }  # fmt: skip
    env_note = f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start"
    print(f"| question | contender (best of {repeat}; {env_note}) | wall s | CPU s "
          "| CPU s: own / workers' | peak RSS | wall / polars | wall / DuckDB |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for question, contenders in questions.items():
        best: dict[str, tuple[float, float, float, str]] = {}
        for _ in range(repeat):
            for name, argv in contenders.items():
                got = _measured(argv)
                if name not in best or got[0] < best[name][0]:
                    best[name] = got
        polars_s, duck_s = best["polars"][0], best["DuckDB"][0]
        for name, (wall, cpu, mib, split) in best.items():
            print(f"| {question} | {name} | {wall:.2f} | {cpu:.2f} | {split} | {mib:.0f} MiB "
                  f"| {wall / polars_s:.2f}x | {wall / duck_s:.2f}x |")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--compress", action="store_true", help="gzip the rotated files")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the log and print its path")
    parser.add_argument(
        "--part",
        choices=("all", "read", "export", "stats"),
        default="all",
        help="read: the reader and stats; export: parquet/otlp export against DuckDB, report; "
        "stats: stats and runs against polars and DuckDB",
    )
    parser.add_argument("--log", help="an existing log directory to use instead of writing one")
    args = parser.parse_args()

    compile_project()
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
        if args.part in ("all", "stats"):
            questions_side_by_side(log_dir, args.repeat)
        if args.part in ("export", "stats"):
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
