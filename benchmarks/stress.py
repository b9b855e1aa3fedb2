"""Multi-process stress of rotating file handlers (issue 3, item 7).

    python benchmarks/stress.py                          # defaults: a couple of minutes
    python benchmarks/stress.py --procs 8,32 --records 50000 --repeat 3
    python benchmarks/stress.py --compress                # gzip rotated files too

N processes (fork and spawn start methods) each log M records carrying a unique `(proc, i)`
into one log with a tiny `max_bytes`, so rotation happens hundreds of times under contention;
`backup_count` is large enough to keep everything. Then every file is read back raw and each
`(proc, i)` must be there exactly once, in a whole JSON line. Contenders: llmops_logging
(configured in each child, and for fork also configured once in the parent before forking),
the stdlib RotatingFileHandler and concurrent-log-handler (both with python-json-logger).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _peers
from _peers import fmt_rate, print_table

HANDLERS = {"llmops": "llmops", "stdlib": "pjl-rfh", "clh": "clh-pjl"}
LABELS = {
    "llmops": "llmops_logging",
    "llmops-prefork": "llmops_logging (pre-fork)",
    "pjl-rfh": "stdlib RotatingFileHandler",
    "clh-pjl": "concurrent-log-handler",
}
LINE_BYTES = 300
"""A generous guess of a record's size, for sizing `backup_count`."""


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--procs", default="4,16", help="comma-separated process counts")
    p.add_argument("--records", type=int, default=20_000, help="records per process")
    p.add_argument("--max-bytes", type=int, default=64 * 1024)
    p.add_argument("--methods", default="fork,spawn", help="start methods, comma-separated")
    p.add_argument("--handlers", default=",".join(HANDLERS), help=f"of: {', '.join(HANDLERS)}")
    p.add_argument("--no-prefork", action="store_true", help="skip llmops configured pre-fork")
    p.add_argument(
        "--compress",
        action="store_true",
        help="gzip rotated files (llmops compress=True, clh use_gzip=True; stdlib is skipped)",
    )
    p.add_argument("--repeat", type=int, default=1, help="runs of each configuration")
    p.add_argument("--keep", action="store_true", help="keep the log directories in /tmp")
    p.add_argument("--verbose", action="store_true", help="print every error in full")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    print("\n".join(_peers.machine_lines()))
    unknown = set(_csv(args.handlers)) - set(HANDLERS)
    if unknown:
        raise SystemExit(f"unknown handlers: {', '.join(sorted(unknown))}")
    configs: list[tuple[str, str, int, bool]] = []
    for method in _csv(args.methods):
        for procs in map(int, _csv(args.procs)):
            for name in _csv(args.handlers):
                if args.compress and name == "stdlib":
                    continue
                configs.append((HANDLERS[name], method, procs, False))
                if name == "llmops" and method == "fork" and not args.no_prefork:
                    configs.append((HANDLERS[name], method, procs, True))

    rows: list[list[str]] = []
    notes: list[str] = []
    problems = 0
    for key, method, procs, prefork in configs:
        for _ in range(args.repeat):
            total = procs * args.records
            backups = _peers.backups_needed(total, LINE_BYTES, args.max_bytes)
            result = _peers.run_multiprocess(
                key,
                procs=procs,
                per_proc=args.records,
                max_bytes=args.max_bytes,
                backup_count=backups,
                method=method,
                configure_before_fork=prefork,
                compress=args.compress,
                keep=args.keep,
            )
            audit = result.audit
            label = LABELS["llmops-prefork" if prefork else key]
            errors = len(result.errors) + result.dropped
            rows.append(
                [
                    label,
                    method,
                    str(procs),
                    str(total),
                    str(audit.lost),
                    str(audit.dup),
                    str(audit.torn),
                    str(audit.files),
                    fmt_rate(result.rate),
                    str(errors),
                    str(result.fd_delta) if not prefork else "-",
                ]
            )
            print(f"  done: {label}, {method}, {procs} procs", file=sys.stderr)
            if key == "llmops" and (audit.lost or audit.dup or audit.torn or errors):
                problems += 1
            for err in result.errors[: None if args.verbose else 1]:
                notes.append(f"[{label} {method} error] {err.strip()}")
            for ex in audit.torn_examples[:2]:
                notes.append(f"[{label} {method} torn] {ex!r}")

    print(
        f"\nStress: {args.records:,} records per process, max_bytes={args.max_bytes:,}, "
        f"backup_count sized to keep all ({LINE_BYTES} B/record guess)"
        + (", rotated files gzipped" if args.compress else "")
    )
    headers = ["handler", "start", "procs", "records", "lost", "dup", "torn", "files"]
    print_table([*headers, "events/s", "errors", "fd+"], rows)
    print(
        "errors: worker exceptions + records the handler itself reported as dropped or failed "
        "(stdlib handleError calls); fd+: fds left open after close"
    )
    for note in notes:
        print(note)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
