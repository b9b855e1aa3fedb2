"""Exports of a log whose records hold dicts keyed by data (`scores={doc_id: score}`).

    python benchmarks/bench_export_keys.py [--records 5000,10000,20000] [--repeat 1]
        [--shape scores|paths]

Writes, through `ll.configure()`, a log of N `retrieval` records, each with a few scores
keyed by document ids drawn from a space much larger than N (so nearly every id is new: about
one new key per record, the shape of a retrieval evaluation), then exports it in fresh
processes: `llmops-logs export --format parquet`, `--format csv`, and DuckDB's own
`COPY (SELECT * FROM read_json_auto(...)) TO ... (FORMAT PARQUET)`, which reads such a dict
as a MAP. `--shape paths` writes instead one new top-level key per record holding
`{"a": 1}` (more distinct object paths than the export tracks past 20,000 records). Prints
seconds, peak RSS (the child's max RSS), the output's size and columns, and the ratios: ours
against DuckDB, and each size against the smallest (linear scaling keeps seconds per record
flat). Not run by the tests.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile

import llmops_logging as ll


def write_log(log_dir: str, records: int, seed: int = 7, shape: str = "scores") -> int:
    """N records of 1 to 3 id-keyed scores each (or, for `paths`, of one new key each);
    returns the log's size in bytes."""
    rng = random.Random(seed)
    ll.configure(log_dir, max_bytes=1 << 30, capture_stdlib=False)
    log = ll.get_logger("bench")
    with ll.run("retrieval-eval"):
        for i in range(records):
            if shape == "paths":
                log.info("retrieval", **{f"u{i}": {"a": 1}})
                continue
            ids = [f"doc-{rng.randrange(10**9):09d}" for _ in range(rng.randint(1, 3))]
            log.info(
                "retrieval",
                query=f"question {i}",
                scores={doc: round(rng.random(), 4) for doc in ids},
            )
    ll.reset()
    return sum(e.stat().st_size for e in os.scandir(log_dir))


def _child(code: str) -> tuple[float, float, float]:
    """(seconds, CPU seconds, peak RSS in MiB) of `code` run in a fresh interpreter, which
    reports them (imports included, as a user running the command pays them)."""
    wrapped = (
        "import resource, sys, time\n"
        "started = time.perf_counter()\n"
        f"{code}\n"
        "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
        "print(time.perf_counter() - started, usage.ru_utime + usage.ru_stime, "
        "usage.ru_maxrss / 1024, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", wrapped], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr)
    seconds, cpu, mib = done.stderr.strip().splitlines()[-1].split()
    return float(seconds), float(cpu), float(mib)


def _columns(path: str, fmt: str) -> int:
    """The output's columns, counted in a child: the parent stays small, because a child's
    peak RSS starts from its parent's (Linux keeps it across exec)."""
    code = (
        f"import csv; print(len(next(csv.reader(open({path!r}, encoding='utf-8')))))"
        if fmt == "csv"
        else f"import pyarrow.parquet as pq; print(len(pq.read_schema({path!r}).names))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return int(done.stdout)


def contenders(log_dir: str, out: str) -> dict[str, tuple[str, str, str]]:
    """name -> (code, output path, format)."""
    glob = os.path.join(log_dir, "events.jsonl*")
    ours = "from llmops_logging.cli import main\nmain(['export', '--format', {fmt!r}, " + (
        "'--out', {out!r}, " + f"{log_dir!r}])"
    )
    return {
        "export --format parquet": (
            ours.format(fmt="parquet", out=f"{out}/ours.parquet"),
            f"{out}/ours.parquet",
            "parquet",
        ),
        "export --format csv": (
            ours.format(fmt="csv", out=f"{out}/ours.csv"),
            f"{out}/ours.csv",
            "csv",
        ),
        "DuckDB COPY ... (FORMAT PARQUET)": (
            "import duckdb\n"
            f"duckdb.sql(\"COPY (SELECT * FROM read_json_auto('{glob}')) "
            f"TO '{out}/duckdb.parquet' (FORMAT PARQUET)\")",
            f"{out}/duckdb.parquet",
            "parquet",
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", default="5000,10000,20000", help="comma-separated sizes")
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs")
    parser.add_argument("--shape", choices=("scores", "paths"), default="scores")
    parser.add_argument("--write", nargs=2, metavar=("DIR", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:  # the child that writes a log
        print(write_log(args.write[0], int(args.write[1]), shape=args.shape))
        return 0
    sizes = [int(n) for n in args.records.split(",")]
    results: dict[tuple[int, str], tuple[float, float, float, int, int]] = {}
    work = tempfile.mkdtemp(prefix="bench_export_keys.")
    try:
        for records in sizes:
            log_dir, out = os.path.join(work, f"log{records}"), os.path.join(work, f"out{records}")
            os.makedirs(out)
            written = subprocess.run(
                [sys.executable, __file__, "--shape", args.shape, "--write", log_dir, str(records)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            log_bytes = int(written.stdout)
            print(f"{records:,} records, {log_bytes / 2**20:.1f} MiB of log", file=sys.stderr)
            for _ in range(args.repeat):
                for name, (code, path, fmt) in contenders(log_dir, out).items():
                    seconds, cpu, mib = _child(code)
                    best = results.get((records, name))
                    if best is None or seconds < best[0]:
                        size = os.path.getsize(path)
                        results[records, name] = (seconds, cpu, mib, size, _columns(path, fmt))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"| records | command (best of {args.repeat}) | seconds | CPU s | peak RSS | output "
          "| columns | / DuckDB (s) | / DuckDB (CPU) | s per 1k records |")  # fmt: skip
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for records in sizes:
        duck, duck_cpu = results[records, "DuckDB COPY ... (FORMAT PARQUET)"][:2]
        for name in contenders("", ""):
            seconds, cpu, mib, size, columns = results[records, name]
            print(
                f"| {records:,} | {name} | {seconds:.2f} | {cpu:.2f} | {mib:.0f} MiB | "
                f"{size / 2**20:.1f} MiB | {columns:,} | {seconds / duck:.2f}x | "
                f"{cpu / duck_cpu:.2f}x | {seconds / records * 1000:.3f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
