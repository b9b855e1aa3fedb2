"""The smoke example, run as a user runs it: a subprocess in a fresh directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import assert_contract, read_records

SMOKE = Path(__file__).resolve().parents[1] / "examples" / "smoke.py"


def _smoke(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SMOKE), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_smoke_twice_appends_two_runs(tmp_path: Path) -> None:
    first, second = _smoke(tmp_path), _smoke(tmp_path)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    raw = tmp_path / "data" / "raw_events"
    assert (tmp_path / "data" / "derived").is_dir()

    summaries = [json.loads(line) for line in (raw / "00_smoke.jsonl").read_text().splitlines()]
    assert len(summaries) == 2
    for summary in summaries:
        assert set(summary) == {"run_id", "ts", "elapsed_s", "samples"}
        assert [s["i"] for s in summary["samples"]] == list(range(10))
    assert summaries[0]["samples"] == summaries[1]["samples"]  # same seed, same samples

    records = read_records(raw)
    assert len(records) == 2 * 12
    for summary, output in zip(summaries, (first.stdout, second.stdout), strict=True):
        run = [r for r in records if r["run_id"] == summary["run_id"]]
        assert [r["kind"] for r in run] == ["run_start"] + ["sample"] * 10 + ["run_ok"]
        for record in run:
            assert_contract(record)
        samples = [{"i": r["i"], "ok": r["ok"]} for r in run if r["kind"] == "sample"]
        assert samples == summary["samples"]
        ok_rate = sum(s["ok"] for s in samples) / 10
        assert run[-1]["ok_rate"] == ok_rate and run[-1]["duration_s"] > 0
        assert summary["run_id"] in output and f"ok_rate: {ok_rate:.2f}" in output
        assert "events.jsonl" in output and "00_smoke.jsonl" in output and "elapsed_s" in output


def test_smoke_options_and_recreated_files(tmp_path: Path) -> None:
    done = _smoke(
        tmp_path, "--seed", "5", "--n", "3", "--p", "0.5", "--sleep", "0", "--data-dir", "out"
    )
    assert done.returncode == 0, done.stderr
    raw = tmp_path / "out" / "raw_events"
    for path in raw.iterdir():
        path.unlink()
    again = _smoke(tmp_path, "--seed", "5", "--n", "3", "--sleep", "0", "--data-dir", "out")
    assert again.returncode == 0, again.stderr
    kinds = [r["kind"] for r in read_records(raw)]
    assert kinds == ["run_start", "sample", "sample", "sample", "run_ok"]
    assert len((raw / "00_smoke.jsonl").read_text().splitlines()) == 1


def test_unwritable_data_dir_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    done = _smoke(tmp_path, "--data-dir", str(blocker / "data"))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and str(blocker) in done.stderr


def test_smoke_logs_where_llmops_log_dir_points_like_configure(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "raw"
    done = subprocess.run(
        [sys.executable, str(SMOKE), "--n", "3"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LLMOPS_LOG_DIR": str(target)},
    )
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "data").exists()
    kinds = [r["kind"] for r in read_records(target)]
    assert kinds == ["run_start"] + ["sample"] * 3 + ["run_ok"]
    summary = json.loads((target / "00_smoke.jsonl").read_text())
    assert [s["i"] for s in summary["samples"]] == [0, 1, 2]
    assert (tmp_path / "elsewhere" / "derived").is_dir()
