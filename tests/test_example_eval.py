"""examples/eval.py: seeded runs scored by code, summarised by `scores`, gated, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from .conftest import assert_contract, cli, read_records

ROOT = Path(__file__).resolve().parent.parent
SEEDS = 4


def test_the_eval_example_scores_every_repetition_and_its_gate_fails(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.pop("LLMOPS_LOG_DIR", None)
    done = subprocess.run(
        [sys.executable, "examples/eval.py", "--data-dir", str(tmp_path), "--seeds", str(SEEDS)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    log_dir = tmp_path / "eval_events"
    records = read_records(log_dir)
    for record in records:
        assert_contract(record)
    starts = {r["run_id"]: r for r in records if r["kind"] == "run_start"}
    assert len(starts) == 2 * 5 * SEEDS
    assert {(r["version"], r["item"], r["seed"]) for r in starts.values()} == {
        (v, i, s)
        for v in ("v1", "v2")
        for i in ("A-1001", "A-1002", "B-2001", "B-2002", "C-3001")
        for s in range(SEEDS)
    }
    answers = {
        r["run_id"]: r["gen_ai"]["output"]["messages"][0]["parts"][0]["content"]
        for r in records
        if r["kind"] == "llm_call"
    }
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for score in (r for r in records if r["kind"] == "score"):
        if score["gen_ai"]["evaluation"]["name"] != "correct":
            continue
        assert score["passed"] is ("shipped" in answers[score["run_id"]])
        version = starts[score["run_id"]]["version"]
        tally[version][0] += score["passed"]
        tally[version][1] += 1
    assert {v: n for v, (_, n) in tally.items()} == {"v1": 5 * SEEDS, "v2": 5 * SEEDS}

    summary = json.loads(cli("scores", log_dir, "--by", "version", "--json").stdout)
    rates = {
        g["group"]["version"]: g["pass_rate"] for g in summary["groups"] if g["score"] == "correct"
    }
    assert rates == {v: passed / n for v, (passed, n) in tally.items()}
    gate_fails = any(rate < 0.8 for rate in rates.values())
    gate = done.stdout.split("--fail-under correct=0.8\n", 1)[1]
    assert ("(exit status 1)" in gate) is gate_fails
    assert "pass rate" in done.stderr or not gate_fails
