"""Memory per record: logging a million records must not grow the process.

    python benchmarks/bench_memory.py [--records 1000000] [--workloads sample,varied]

Each workload runs in a fresh process through the default `configure()` chain inside a run,
rotating at 1 MiB with 3 backups (so the files stay small), in two phases:

1. RSS: logs --records records after a warm-up of 10% of them and prints the resident set
   size after the warm-up and at the end, and the growth per record.
2. Python heap: the same workload under tracemalloc for a tenth of the records after its own
   warm-up, and the heap still allocated at the end, per record.

Workloads: `sample` is the throughput benchmark's record; `varied` gives every record fresh
strings long enough to be scanned for secrets, a new key out of 100,000 and a nested dict, so
the caches of redaction (clean strings, key classes) fill up and must stay bounded.
Not run by the tests.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from typing import Any

import _peers

import llmops_logging as ll


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def workload(name: str) -> Callable[[Any, int, int], None]:
    def sample(log: Any, start: int, count: int) -> None:
        info = log.info
        for i in range(start, start + count):
            info("sample", kind="sample", i=i, ok=True)

    def varied(log: Any, start: int, count: int) -> None:
        info = log.info
        for i in range(start, start + count):
            fields = {f"field_{i % 100_000}": i, "prompt": f"question number {i}: why is it so?"}
            info(f"call {i}", kind="llm_call", usage={"prompt_tokens": i, "note": f"n={i}"},
                 **fields)  # fmt: skip

    return {"sample": sample, "varied": varied}[name]


def measure(name: str, records: int) -> dict[str, float]:
    """In this process: the RSS phase, then the tracemalloc phase."""
    run = workload(name)
    log_dir = tempfile.mkdtemp(prefix="llmops-mem-")
    ll.configure(log_dir, max_bytes=2**20, backup_count=3)
    log = ll.get_logger("bench")
    warm = records // 10
    with ll.run("memory"):
        run(log, 0, warm)
        gc.collect()
        rss_warm = rss_bytes()
        run(log, warm, records)
        gc.collect()
        rss_end = rss_bytes()
        traced = records // 10
        run(log, 0, traced)  # its own warm-up, outside tracing
        gc.collect()
        tracemalloc.start()
        heap_start = tracemalloc.get_traced_memory()[0]
        run(log, records, traced)
        gc.collect()
        heap_end, heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    ll.reset()
    shutil.rmtree(log_dir, ignore_errors=True)
    return {
        "records": records,
        "rss_warm": rss_warm,
        "rss_end": rss_end,
        "rss_per_record": (rss_end - rss_warm) / records,
        "traced": traced,
        "heap_growth": heap_end - heap_start,
        "heap_peak": heap_peak - heap_start,
        "heap_per_record": (heap_end - heap_start) / traced,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--workloads", default="sample,varied")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.records)))
        return
    print("\n".join(_peers.machine_lines()))
    print(f"\n{args.records:,} records per workload after a warm-up of {args.records // 10:,}; "
          f"heap traced over {args.records // 10:,}")  # fmt: skip
    headers = ["workload", "RSS warm MiB", "RSS end MiB", "RSS B/record", "heap growth B",
               "heap peak KiB", "heap B/record"]  # fmt: skip
    rows = []
    for name in args.workloads.split(","):
        done = subprocess.run(
            [sys.executable, __file__, "--child", name, "--records", str(args.records)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        m = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append([
            name, f"{m['rss_warm'] / 2**20:.1f}", f"{m['rss_end'] / 2**20:.1f}",
            f"{m['rss_per_record']:.3f}", f"{m['heap_growth']:,.0f}",
            f"{m['heap_peak'] / 1024:,.1f}", f"{m['heap_per_record']:.3f}",
        ])  # fmt: skip
    _peers.print_table(headers, rows)


if __name__ == "__main__":
    main()
