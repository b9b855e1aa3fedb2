"""CPU instructions per record, for this tree and an earlier commit, counted by callgrind.

    python benchmarks/bench_instructions.py [--base 6285afe] [--routes structlog,stdlib,...]

Wall-clock rates on a shared 2-core machine drift by a third between rounds, too much to settle
a budget of a few percent. `valgrind --tool=callgrind` counts the instructions the process
executes instead, which repeat to within a few per record whatever else the machine does. A
process logs N records of the throughput benchmark's shape (inside `ll.run`, the default chain,
`max_bytes` 50 MiB so that no rotation happens) for N = 2,000 and N = 8,000; the
difference over 6,000 is the cost of one record, start-up and imports cancelled out.
`PYTHONHASHSEED=0` keeps the dict and set layouts the same in every run.

`--base` names a commit: its tree is exported with `git archive` into a temporary directory
and measured beside this one, with the same interpreter and dependencies, and the table gives
the ratio. Routes: `structlog` (the default chain), `noredact` (`redact=False`) and `stdlib`
(`logging.getLogger(...).info` through the formatter). Needs valgrind (Debian's package).
Not run by the tests.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL, LARGE = 2_000, 8_000

WORKLOAD = """
import logging, sys, tempfile
import llmops_logging as ll
route, n = sys.argv[1], int(sys.argv[2])
ll.configure(tempfile.mkdtemp(), max_bytes=50 << 20, redact=route != "noredact")
log = ll.get_logger("bench")
stdlib = logging.getLogger("bench")
with ll.run("bench"):
    if route == "stdlib":
        for i in range(n):
            stdlib.info("sample %d", i, extra={"ok": True, "p": 0.7})
    else:
        for i in range(n):
            log.info("sample", kind="sample", i=i, ok=True, p=0.7)
"""


def instructions(tree: str, route: str, records: int) -> int:
    """Instructions of one whole process that logs `records` records."""
    env = {**os.environ, "PYTHONPATH": os.path.abspath(tree), "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         "-c", WORKLOAD, route, str(records)],
        env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True, check=True,
    )  # fmt: skip  # cwd: `-c` puts the working directory ahead of PYTHONPATH
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from callgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_record(tree: str, route: str) -> float:
    with ThreadPoolExecutor(max_workers=2) as pool:
        small, large = pool.map(lambda n: instructions(tree, route, n), (SMALL, LARGE))
    return (large - small) / (LARGE - SMALL)


def export_commit(commit: str, into: str) -> str:
    """The package of `commit`, unpacked under `into`; returns the directory to import from."""
    archive = subprocess.run(
        ["git", "-C", ROOT, "archive", "--format=tar", commit, "llmops_logging"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    tar_path = os.path.join(into, "base.tar")
    with open(tar_path, "wb") as out:
        out.write(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(into, filter="data")
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="6285afe", help="the commit to compare with")
    parser.add_argument("--routes", default="structlog,noredact,stdlib")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install -y valgrind)", file=sys.stderr)
        return 1
    routes = args.routes.split(",")
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as tmp:
        base = export_commit(args.base, tmp)
        print(f"| route | {args.base} | this tree | this tree / {args.base} |")
        print("|---|---:|---:|---:|")
        for route in routes:
            before, after = per_record(base, route), per_record(ROOT, route)
            print(f"| {route} | {before:,.0f} | {after:,.0f} | {after / before:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
