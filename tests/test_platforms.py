"""Platforms without fork hooks, `fcntl` and `O_NOFOLLOW` (Windows), simulated on this one.

Each test runs a subprocess that removes those from `os` (and `os.fork` and `os.pread`, which
Windows lacks too), blocks `import fcntl`, and makes `os.rename` refuse a file this process
holds open, as Windows does, before it imports the package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import assert_contract, log_files, read_records

ROOT = Path(__file__).resolve().parent.parent

WINDOWS_LIKE = """
import os, sys
for name in ("register_at_fork", "fork", "O_NOFOLLOW", "pread"):
    delattr(os, name)
sys.modules["fcntl"] = None
_rename = os.rename

def _refuse_open_files(src, dst, *args, **kwargs):
    target = os.path.realpath(src)
    for fd in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        try:
            held = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if held == target:
            raise PermissionError(13, "the file is open (Windows refuses the rename)", src)
    return _rename(src, dst, *args, **kwargs)

os.rename = _refuse_open_files
"""


def _run_windows_like(code: str, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", WINDOWS_LIKE + code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_smoke_run_works_and_warns_once_without_fork_and_flock(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code = f"""
import runpy
sys.argv = ["smoke.py", "--data-dir", {str(data)!r}, "--sleep", "0"]
try:
    runpy.run_path({str(ROOT / "examples" / "smoke.py")!r}, run_name="__main__")
except SystemExit as exc:
    assert not exc.code, exc.code
import llmops_logging as ll
assert sys.modules["fcntl"] is None and not hasattr(os, "register_at_fork")
ll.configure({str(data / "raw_events")!r})
ll.get_logger("again").info("after a second configure")
ll.reset()
"""
    _run_windows_like(code, tmp_path)
    records = read_records(data / "raw_events")
    for record in records:
        assert_contract(record)
    warnings = [r for r in records if r["event"] == "single_process_log"]
    assert len(warnings) == 1 and warnings[0]["level"] == "warning"
    assert "only one process" in warnings[0]["reason"]
    kinds = [r["kind"] for r in records if r["event"] != "single_process_log"]
    assert kinds == ["run_start"] + ["sample"] * 10 + ["run_ok", "log"]
    (summary,) = [json.loads(line) for line in (data / "raw_events" / "00_smoke.jsonl").open()]
    assert summary["run_id"] == records[-2]["run_id"]
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))


def test_rotation_compression_and_retention_without_flock(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    code = f"""
import logging
import llmops_logging as ll
handler = ll.configure({str(log_dir)!r}, max_bytes=2000, backup_count=3, compress=True)
log = ll.get_logger("sim")
for i in range(300):
    log.info("tick", i=i, pad="x" * 60)
logging.getLogger("lib").warning("stdlib last")
print(handler.dropped)
ll.reset()
"""
    dropped = _run_windows_like(code, tmp_path)
    assert dropped.strip() == "0"
    files = log_files(log_dir)
    assert [f.name.endswith(".gz") for f in files] == [True, True, True, False]
    records = read_records(log_dir)
    for record in records:
        assert_contract(record)
    ticks = [r["i"] for r in records if r["event"] == "tick"]
    assert len(ticks) > 20 and ticks == list(range(300 - len(ticks), 300))
    seqs = [r["seq"] for r in records]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert records[-1]["event"] == "stdlib last" and records[-1]["logger"] == "lib"
