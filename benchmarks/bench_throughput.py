"""Throughput of llmops_logging against its peers and two fair floors, in CPU time.

    python benchmarks/bench_throughput.py            # 5 interleaved rounds of 100k events
    python benchmarks/bench_throughput.py --quick    # a fast sanity run
    python benchmarks/bench_throughput.py --profile  # where the project's time per event goes

Each contender runs in its own subprocess, in a fresh temp directory, so no library state
(structlog config, logging handlers, loguru sinks) leaks between them; rounds interleave the
contenders (in a rotated order) so drift of the machine hits all of them alike. Each round
measures the process's CPU time (`time.process_time`) and wall time; the table shows medians.
CPU time is the figure to compare: on a shared machine wall time also counts the time other
processes held the core. The workload is `log.info("sample", kind="sample", i=i, ok=True)`
or the peer's equivalent, inside a run.

The floors write the library's own record (the 11 fields `ts`, `run_id`, `event`, `kind`,
`level`, `logger`, `event_id`, `seq`, `pid`, `i`, `ok`: a dict, `orjson.dumps`, one
`os.write`); the second floor also takes a lock, checks the size with `lseek` and rotates by
rename, as any rotating handler must. The structlog peer writes the same stamps.
A multi-process part then has 4 processes share one small-rotating log (project vs
concurrent-log-handler) and audits every file for lost, duplicated and torn records.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _peers
from _peers import CONTENDERS, TEN_MIB, fmt_rate, print_table

PROJECT = "llmops"
OPTIONAL = {"picologging": "picologging", "loguru": "loguru", "clh-pjl": "concurrent_log_handler"}
"""Contenders left out, with a note, where their package is not installed (or does not build)."""
TARGETS = (("structlog-stdlib", 6.0), ("structlog-bytes", 1.0))
MP_TARGET = 3.0


# -- one contender, one round (runs in a subprocess) ----------------------------------------


def worker(key: str, n: int, log_dir: str, max_bytes: int, backup_count: int) -> dict[str, Any]:
    """Set up `key` in `log_dir`, warm up, time n events, tear down; the figures as a dict."""
    session = CONTENDERS[key].setup(log_dir, max_bytes, backup_count, False)
    warmup = max(200, min(2000, n // 20))
    session.run(warmup, None)
    gc.collect()
    cpu_start, start = time.process_time_ns(), time.perf_counter_ns()
    session.run(n, None)
    elapsed = time.perf_counter_ns() - start
    cpu = time.process_time_ns() - cpu_start
    session.close()
    result = {"key": key, "n": n, "elapsed_ns": elapsed, "cpu_ns": cpu}
    return {**result, "line_bytes": _line_bytes(log_dir)}


def _line_bytes(log_dir: str) -> float:
    """Mean length of a line of the live file (rotated files may already be deleted)."""
    path = os.path.join(log_dir, _peers.LIVE_NAME)
    try:
        with open(path, "rb") as f:
            lines = f.read().splitlines()
    except OSError:
        return float("nan")
    return sum(map(len, lines)) / len(lines) + 1 if lines else float("nan")


def run_round(key: str, n: int, max_bytes: int, backup_count: int) -> dict[str, Any]:
    log_dir = tempfile.mkdtemp(prefix=f"bench-{key}-", dir="/tmp")
    try:
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", key, "--n", str(n)]
        cmd += ["--log-dir", log_dir, "--max-bytes", str(max_bytes)]
        cmd += ["--backup-count", str(backup_count)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{key} worker failed:\n{done.stderr}")
        if done.stderr.strip():
            print(f"  [{key} stderr] {done.stderr.strip()[:500]}", file=sys.stderr)
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result
    finally:
        _peers.remove_tree(log_dir)


# -- the single-process comparison ----------------------------------------------------------


def single_process(
    keys: list[str], n: int, rounds: int, max_bytes: int, backup_count: int
) -> dict[str, float]:
    """Median CPU µs per event of each contender (printed as a table with wall rates)."""
    cpu_us: dict[str, list[float]] = {k: [] for k in keys}
    wall: dict[str, list[float]] = {k: [] for k in keys}
    line_bytes: dict[str, float] = {}
    for r in range(rounds):
        order = keys[r % len(keys) :] + keys[: r % len(keys)]
        for key in order:
            result = run_round(key, n, max_bytes, backup_count)
            cpu_us[key].append(result["cpu_ns"] / result["n"] / 1e3)
            wall[key].append(result["n"] / (result["elapsed_ns"] / 1e9))
            line_bytes[key] = result["line_bytes"]
        print(f"  round {r + 1}/{rounds} done", file=sys.stderr)

    medians = {k: statistics.median(v) for k, v in cpu_us.items()}

    def ratio(numerator: float | None, denominator: float) -> str:
        return f"{numerator / denominator:.2f}x" if numerator else "-"

    rows = []
    for key in keys:
        med = medians[key]
        rows.append(
            [
                CONTENDERS[key].label,
                f"{med:.2f}",
                f"{min(cpu_us[key]):.2f}-{max(cpu_us[key]):.2f}",
                fmt_rate(1e6 / med),
                fmt_rate(statistics.median(wall[key])),
                f"{line_bytes[key]:.0f}",
                "yes" if CONTENDERS[key].rotates else "no",
                ratio(medians.get("floor"), med),
                ratio(medians.get("floor-rotating"), med),
                ratio(med, medians[PROJECT]) if PROJECT in medians else "-",
            ]
        )
    print(f"\nSingle process: {n:,} events per round, {rounds} interleaved rounds, medians")
    headers = ["contender", "CPU µs/ev", "range µs", "ev/s (CPU)", "ev/s (wall)", "B/line"]
    headers += ["rotates", "floor/this", "rot.floor/this", "this/project"]
    print_table(headers, rows)
    print(
        "floor/this: the share of the cheapest way to write the same record that a contender "
        "reaches (1.00x = as fast as the floor); this/project: how many times the project's "
        "CPU per event a contender spends. CPU time of the whole process, per event."
    )
    return medians


def report_targets(medians: dict[str, float]) -> None:
    project = medians.get(PROJECT)
    if not project:
        return
    print()
    for key, target in TARGETS:
        if key in medians:
            ratio = medians[key] / project
            verdict = "MET" if ratio >= target else "NOT MET"
            print(f"target: project >= {target:.1f}x {key} (CPU): {ratio:.2f}x -> {verdict}")


# -- the multi-process comparison -----------------------------------------------------------


def multi_process(args: argparse.Namespace) -> None:
    keys = [PROJECT, "clh-pjl"]
    total = args.mp_procs * args.mp_per_proc
    backups = _peers.backups_needed(total, 400, args.mp_max_bytes)
    results: dict[str, list[_peers.MultiResult]] = {k: [] for k in keys}
    for r in range(args.mp_rounds):
        for key in keys if r % 2 == 0 else keys[::-1]:
            results[key].append(
                _peers.run_multiprocess(
                    key,
                    procs=args.mp_procs,
                    per_proc=args.mp_per_proc,
                    max_bytes=args.mp_max_bytes,
                    backup_count=backups,
                    method=args.mp_method,
                )
            )
    print(
        f"\nMulti-process: {args.mp_procs} processes x {args.mp_per_proc:,} events into one "
        f"log, max_bytes={args.mp_max_bytes:,}, backup_count={backups}, "
        f"start={args.mp_method}, {args.mp_rounds} rounds (median rate; audit summed)"
    )
    rows = []
    medians = {}
    for key in keys:
        runs = results[key]
        medians[key] = statistics.median(m.rate for m in runs)
        rows.append(
            [
                CONTENDERS[key].label,
                fmt_rate(medians[key]),
                f"{fmt_rate(min(m.rate for m in runs))}-{fmt_rate(max(m.rate for m in runs))}",
                str(sum(m.total for m in runs)),
                str(sum(m.audit.lost for m in runs)),
                str(sum(m.audit.dup for m in runs)),
                str(sum(m.audit.torn for m in runs)),
                str(max(m.audit.files for m in runs)),
                str(sum(len(m.errors) + m.dropped for m in runs)),
            ]
        )
    headers = ["handler", "total ev/s", "range ev/s", "records", "lost", "dup", "torn"]
    print_table([*headers, "files", "errors"], rows)
    for key in keys:
        for m in results[key]:
            for err in m.errors[:2]:
                print(f"  [{key} error] {err.strip()}")
            for ex in m.audit.torn_examples[:2]:
                print(f"  [{key} torn] {ex!r}")
    ratio = medians[PROJECT] / medians["clh-pjl"]
    clean = all(
        not (m.audit.lost or m.audit.dup or m.audit.torn or m.errors or m.dropped)
        for m in results[PROJECT]
    )
    verdict = "MET" if ratio >= MP_TARGET and clean else "NOT MET"
    print(
        f"\ntarget: multi-process project >= {MP_TARGET:.1f}x concurrent-log-handler with zero "
        f"loss: {ratio:.2f}x, project lost/dup/torn/errors "
        f"{'all zero' if clean else 'NOT zero'} -> {verdict}"
    )


# -- profile ---------------------------------------------------------------------------------


def profile(n: int) -> None:
    """cProfile of the project's workload, then a per-stage cost breakdown (in this process)."""
    import cProfile
    import pstats

    import llmops_logging as ll

    log_dir = tempfile.mkdtemp(prefix="bench-profile-", dir="/tmp")
    try:
        ll.configure(log_dir)
        log = ll.get_logger("bench")
        with ll.run("bench"):
            _kwargs_workload(log, 2000)
            profiler = cProfile.Profile()
            profiler.runcall(_kwargs_workload, log, n)
        ll.reset()
        print(f"\ncProfile of {n:,} project events (top 18 by own time; cProfile inflates calls)")
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.strip_dirs().sort_stats("tottime").print_stats(18)
        breakdown(n, log_dir)
    finally:
        ll.reset()
        _peers.remove_tree(log_dir)


def _kwargs_workload(log: Any, n: int) -> None:
    info = log.info
    for i in range(n):
        info("sample", kind="sample", i=i, ok=True)


Probe = tuple[str, Any]
"""A name and a function `f(count)` that does the measured thing `count` times."""


def _interleaved_best(probes: list[Probe], count: int, passes: int) -> dict[str, float]:
    """Best ns per call of each probe over `passes` passes that each run every probe once.

    Interleaving spreads each probe's samples over the whole run, so a burst of load from
    elsewhere on the machine spoils one sample of many probes instead of all of one.
    """
    best = {name: float("inf") for name, _ in probes}
    for _ in range(passes):
        for name, fn in probes:
            gc.collect()
            start = time.perf_counter_ns()
            fn(count)
            best[name] = min(best[name], (time.perf_counter_ns() - start) / count)
    return best


def _chain_probes(chain: list[Any], sink: Any) -> list[Probe]:
    """Run the first k processors on a fresh event dict, k = 0..len(chain)."""

    def prefix(k: int) -> Any:
        procs = chain[:k]

        def go(count: int) -> None:
            for i in range(count):
                d: Any = {"kind": "sample", "i": i, "ok": True, "event": "sample"}
                for p in procs:
                    d = p(sink, "info", d)

        return go

    return [(f"prefix{k}", prefix(k)) for k in range(len(chain) + 1)]


WRITE_PATH = "handler.write_line (lock + clock check + lseek SEEK_END + os.write)"


def _write_probes(handler: Any, line: bytes, fd: int, counter: Any) -> list[Probe]:
    """The handler's write path, its parts alone, and other ways to learn the same things."""
    path, write, stat, lseek, monotonic = handler.path, os.write, os.stat, os.lseek, time.monotonic

    def write_line(count: int) -> None:
        w = handler.write_line
        for _ in range(count):
            w(line)

    def lseek_only(count: int) -> None:
        for _ in range(count):
            lseek(fd, 0, os.SEEK_END)

    def write_only(count: int) -> None:
        for _ in range(count):
            write(fd, line)

    def lock_only(count: int) -> None:
        lock = handler.lock
        for _ in range(count):
            with lock:
                pass

    def clock_only(count: int) -> None:
        for _ in range(count):
            monotonic()

    def lseek_then_write(count: int) -> None:
        for _ in range(count):
            lseek(fd, 0, os.SEEK_END)
            write(fd, line)

    def stat_then_write(count: int) -> None:
        for _ in range(count):
            stat(path)
            write(fd, line)

    def mmap_then_write(count: int) -> None:
        seen = counter[:8]
        for _ in range(count):
            if counter[:8] != seen:
                raise RuntimeError("counter moved")
            write(fd, line)

    return [
        (WRITE_PATH, write_line),
        ("  os.lseek(fd, 0, SEEK_END) alone", lseek_only),
        ("  os.write(fd, line) alone", write_only),
        ("  os.lseek + os.write, as write_line does", lseek_then_write),
        ("  handler.lock acquire/release", lock_only),
        ("  time.monotonic() (when to check the rotation counter)", clock_only),
        ("alt: os.stat(path) + os.write (a size check by path)", stat_then_write),
        ("alt: mmap'd rotation counter check + os.write", mmap_then_write),
    ]


def _stage_name(processor: Any) -> str:
    """A processor's name: its class for a callable instance, else the function's name."""
    owner = getattr(processor, "__self__", None)
    if owner is not None:
        return type(owner).__name__
    name = getattr(processor, "__name__", None)
    return name if isinstance(name, str) and name != "__call__" else type(processor).__name__


def breakdown(n: int, log_dir: str, passes: int = 7) -> None:
    """Cost per event of each stage: chain prefixes timed alone, differences per processor."""
    import mmap

    import orjson

    import llmops_logging as ll
    from llmops_logging import _config, _logger

    count = max(10_000, n // 4)
    handler = ll.configure(log_dir)
    log = ll.get_logger("bench")
    sink = _logger.Sink("bench")
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT
    fd = os.open(os.path.join(log_dir, "probe.bin"), flags, 0o600)
    counter_fd = os.open(os.path.join(log_dir, ".probe.counter"), flags, 0o600)
    os.write(counter_fd, b"0" * 32)
    counter = mmap.mmap(counter_fd, 32)
    try:
        with ll.run("bench"):
            _kwargs_workload(log, 2000)
            chain = list(_config._processors)
            stamped: Any = {"kind": "sample", "i": 1, "ok": True, "event": "sample"}
            for p in chain[:-1]:
                stamped = p(sink, "info", stamped)
            line = chain[-1](sink, "info", dict(stamped))

            def dumps(c: int) -> None:
                f, opt = orjson.dumps, orjson.OPT_APPEND_NEWLINE
                for _ in range(c):
                    f(stamped, option=opt)

            write_probes = _write_probes(handler, line, fd, counter)
            probes: list[Probe] = [
                ("call", lambda c: _kwargs_workload(log, c)),
                *_chain_probes(chain, sink),
                ("dumps", dumps),
                *write_probes,
            ]
            best = _interleaved_best(probes, count, passes)
    finally:
        counter.close()
        os.close(counter_fd)
        os.close(fd)
        ll.reset()

    total = best["call"]
    costs = [best[f"prefix{k}"] for k in range(len(chain) + 1)]
    rows: list[tuple[str, float]] = [("event dict literal (baseline of the chain rows)", costs[0])]
    for k, proc in enumerate(chain, 1):
        name = _stage_name(proc)
        rows.append((f"processor {name}", costs[k] - costs[k - 1]))
        if name == "LineRenderer":
            rows.append(("  of which orjson.dumps alone", best["dumps"]))
    chain_total = costs[-1] - costs[0]
    write_cost = best[WRITE_PATH]
    rows.append(("= chain total (all processors)", chain_total))
    rows.append((WRITE_PATH, write_cost))
    rows.append(
        ("bound logger + sink glue (call - chain - write_line)", total - chain_total - write_cost)
    )
    rows.append(("= full log.info() call", total))
    print(
        f"\nPer-stage cost, wall ns/event (best of {passes} interleaved passes x {count:,}; "
        f"the line is {len(line)} bytes)"
    )
    print_table(
        ["stage", "ns/event", "% of call"],
        [[name, f"{ns:,.0f}", f"{100 * ns / total:.0f}%"] for name, ns in rows],
    )
    print("\nWrite path, ns/event: its parts alone and cheaper alternatives (same line, same dir)")
    print_table(
        ["write path", "ns/event"], [[name, f"{best[name]:,.0f}"] for name, _ in write_probes]
    )


# -- CLI ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--n", type=int, default=100_000, help="events per contender per round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="10k events, 2 rounds, small mp run")
    p.add_argument(
        "--only", default="", help=f"comma-separated contenders of: {', '.join(CONTENDERS)}"
    )
    p.add_argument("--max-bytes", type=int, default=TEN_MIB, help="rotation size (all rotating)")
    p.add_argument("--backup-count", type=int, default=5)
    p.add_argument("--no-single", action="store_true", help="skip the single-process part")
    p.add_argument("--no-mp", action="store_true", help="skip the multi-process part")
    p.add_argument("--mp-procs", type=int, default=4)
    p.add_argument("--mp-per-proc", type=int, default=25_000)
    p.add_argument("--mp-max-bytes", type=int, default=256 * 1024)
    p.add_argument("--mp-rounds", type=int, default=3)
    p.add_argument("--mp-method", default="fork", choices=["fork", "spawn", "forkserver"])
    p.add_argument("--profile", action="store_true", help="profile the project's hot path only")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--log-dir", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.rounds = 10_000, 2
        args.mp_per_proc, args.mp_rounds = 2_500, 1
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if args.worker:
        result = worker(args.worker, args.n, args.log_dir, args.max_bytes, args.backup_count)
        print(json.dumps(result))
        return
    print("\n".join(_peers.machine_lines()))
    if args.profile:
        profile(args.n)
        return
    keys = [k.strip() for k in args.only.split(",") if k.strip()] or list(CONTENDERS)
    unknown = set(keys) - set(CONTENDERS)
    if unknown:
        raise SystemExit(f"unknown contenders: {', '.join(sorted(unknown))}")
    for key, module in OPTIONAL.items():
        if key in keys and importlib.util.find_spec(module) is None:
            print(f"{key}: not installed here (pip install {module}; no wheel for this Python?)")
            keys.remove(key)
    if not args.no_single:
        medians = single_process(keys, args.n, args.rounds, args.max_bytes, args.backup_count)
        report_targets(medians)
    if not args.no_mp:
        multi_process(args)


if __name__ == "__main__":
    main()
