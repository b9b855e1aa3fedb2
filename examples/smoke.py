"""Setup and smoke test: make the data folders and log one seeded run of Bernoulli samples.

    python examples/smoke.py [--seed 123] [--n 10] [--p 0.7] [--sleep 0.01] [--data-dir data]

Logs `run_start`, one `sample` event per sample and `run_ok` to data/raw_events/events.jsonl,
and appends one summary line to data/raw_events/00_smoke.jsonl.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import llmops_logging as ll


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--n", type=int, default=10, help="number of samples")
    parser.add_argument("--p", type=float, default=0.7, help="probability of ok")
    parser.add_argument("--sleep", type=float, default=0.01, help="seconds per sample")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="folder of raw_events/ and derived/ (default: data, or the parent of "
        "$LLMOPS_LOG_DIR when that is set, as configure() reads it)",
    )
    args = parser.parse_args(argv)
    if args.n < 0 or not 0.0 <= args.p <= 1.0 or args.sleep < 0:
        parser.error("--n and --sleep must be >= 0 and --p between 0 and 1")
    return args


def make_dirs(data_dir: Path, raw: Path | None = None) -> tuple[Path, Path]:
    raw, derived = raw or data_dir / "raw_events", data_dir / "derived"
    for folder in (data_dir, raw, derived):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SystemExit(f"smoke: cannot create {folder}: {exc.strerror or exc}") from None
    return raw, derived


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.data_dir is not None:
        raw, derived = make_dirs(args.data_dir)
    try:  # without --data-dir, configure() picks the folder: $LLMOPS_LOG_DIR or data/raw_events
        handler = ll.configure(None if args.data_dir is None else raw)
    except OSError as exc:
        raise SystemExit(f"smoke: cannot write the log: {exc.strerror or exc}") from None
    if args.data_dir is None:
        raw = Path(os.path.relpath(handler.path)).parent
        raw, derived = make_dirs(raw.parent, raw=raw)
    summary_path = raw / "00_smoke.jsonl"
    log = ll.get_logger("smoke")

    ll.random_seed(args.seed)
    samples: list[dict[str, object]] = []
    with ll.Timer() as timer, ll.run("smoke", seed=args.seed, n=args.n, p=args.p) as run:
        for i in range(args.n):
            ok = ll.jitter(args.p)
            samples.append({"i": i, "ok": ok})
            log.info("sample", kind="sample", i=i, ok=ok)
            time.sleep(args.sleep)
        ok_rate = sum(bool(s["ok"]) for s in samples) / len(samples) if samples else 0.0
        run.set(ok_rate=ok_rate)

    summary = {"run_id": run.run_id, "ts": ll.now_iso(), "elapsed_s": timer.elapsed}
    summary["samples"] = samples
    try:
        ll.write_jsonl(summary_path, [summary])
    except OSError as exc:
        raise SystemExit(f"smoke: cannot write {summary_path}: {exc.strerror or exc}") from None
    if handler.dropped:
        raise SystemExit(f"smoke: {handler.dropped} records could not be written to {handler.path}")

    print(f"events:  {raw / handler.live_name}")
    print(f"summary: {summary_path}")
    print(f"derived: {derived}")
    print(f"run_id:  {run.run_id}")
    print(f"elapsed_s: {timer.elapsed:.3f}")
    print(f"ok_rate: {ok_rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
