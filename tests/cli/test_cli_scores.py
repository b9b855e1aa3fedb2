"""`llmops-logs scores`: counts, Wilson intervals, pass@k and pass^k, comparisons and their
tests (against `scipy.stats`, computed here), group fields joined from runs, and the gates'
exit statuses through the real CLI."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

import llmops_logging as ll
from llmops_logging.cli import main

from ..conftest import ENV, ROOT, cli

ITEMS = ["q1", "q2", "q3"]
RATES = {"q1": 0.9, "q2": 0.5, "q3": 0.2}


def _outcome(item: str, seed: int) -> bool:
    return random.Random(f"{item}-{seed}").random() < RATES[item]


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three items x 7 seeds (one run raises), then two versions of 30 runs each with a
    pass/fail and a numeric score."""
    log_dir = tmp_path_factory.mktemp("scores") / "logs"
    ll.configure(log_dir)

    def task(item: str, seed: int) -> None:
        if item == "q3" and seed == 6:
            raise RuntimeError("crashed before scoring")
        ll.score("correct", _outcome(item, seed))

    ll.repeat(task, n=7, items=ITEMS, name="qa")
    for version, rate, shift in (("v1", 0.8, 0.0), ("v2", 0.45, 0.3)):
        for seed in range(30):
            with ll.run("eval", version=version, seed=seed):
                rng = random.Random(f"{version}-{seed}")
                ll.score("correct", rng.random() < rate)
                ll.score("quality", round(rng.gauss(3.0 - shift, 0.5), 3))
    ll.score("quality", float("nan"))
    ll.reset()
    return log_dir


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    status = main(["scores", "--json", *args])
    return status, json.loads(capsys.readouterr().out)


def _brute(samples: list[bool], k: int, every: bool) -> float:
    """The share of all k-subsets of the samples in which any (or every) sample passes."""
    subsets = list(itertools.combinations(samples, k))
    return sum((all if every else any)(s) for s in subsets) / len(subsets)


def test_counts_intervals_and_pass_at_k_per_item(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = _json(capsys, str(log), "--by", "name", "--k", "1,2,3,6")
    assert status == 0
    (qa,) = [g for g in out["groups"] if g["group"] == {"name": "qa"}]
    samples = {i: [_outcome(i, s) for s in range(7) if (i, s) != ("q3", 6)] for i in ITEMS}
    everything = [x for xs in samples.values() for x in xs]
    assert (qa["count"], qa["passes"], qa["items"]) == (20, sum(everything), 3)
    assert qa["samples_per_item"] == 6
    ci = stats.binomtest(sum(everything), 20).proportion_ci(method="wilson")
    assert qa["ci95"] == pytest.approx([ci.low, ci.high], abs=1e-12)
    for k in (1, 2, 3, 6):
        assert qa["pass_at_k"][str(k)] == pytest.approx(
            sum(_brute(s, k, every=False) for s in samples.values()) / 3, abs=1e-12
        )
        assert qa["pass_all_k"][str(k)] == pytest.approx(
            sum(_brute(s, k, every=True) for s in samples.values()) / 3, abs=1e-12
        )


def test_groups_by_a_field_of_the_run_and_counts_invalid_values(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = _json(capsys, str(log), "--by", "version")
    assert status == 0
    rows = {(g["score"], g["group"]["version"]): g for g in out["groups"]}
    assert set(rows) == {
        ("correct", "-"), ("correct", "v1"), ("correct", "v2"),
        ("quality", "-"), ("quality", "v1"), ("quality", "v2"),
    }  # fmt: skip
    assert rows["correct", "v1"]["count"] == rows["quality", "v2"]["count"] == 30
    assert rows["quality", "-"]["invalid"] == 1 and rows["quality", "-"]["mean"] is None
    assert rows["quality", "v1"]["pass_fail"] is False and rows["quality", "v1"]["ci95"] is None


def _values(log: Path, name: str, version: str) -> list[Any]:
    records = list(ll.read_events(log))
    starts = [r for r in records if r["kind"] == "run_start"]
    runs = {r["run_id"] for r in starts if r.get("version") == version}
    scores = [r for r in records if r["kind"] == "score" and r["run_id"] in runs]
    return [
        r["gen_ai"]["evaluation"]["score"]["value"]
        for r in scores
        if r["gen_ai"]["evaluation"]["name"] == name
    ]


def test_a_comparison_tests_pass_fail_exactly_and_numbers_by_welch_and_mann_whitney(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = _json(capsys, str(log), "--compare", "version", "v1", "v2")
    assert status == 0
    by_name = {c["score"]: c for c in out["comparisons"]}
    v1, v2 = _values(log, "correct", "v1"), _values(log, "correct", "v2")
    table = [[sum(v1), 30 - sum(v1)], [sum(v2), 30 - sum(v2)]]
    correct = by_name["correct"]
    assert correct["test"] == "fisher_exact"
    assert correct["p"] == pytest.approx(stats.fisher_exact(table).pvalue, rel=1e-9)
    assert correct["difference"] == pytest.approx((sum(v2) - sum(v1)) / 30)
    q1, q2 = _values(log, "quality", "v1"), _values(log, "quality", "v2")
    quality = by_name["quality"]
    assert quality["test"] == "welch_t"
    assert quality["p"] == pytest.approx(stats.ttest_ind(q1, q2, equal_var=False).pvalue, rel=1e-9)
    assert quality["mann_whitney_p"] == pytest.approx(
        stats.mannwhitneyu(q1, q2, method="asymptotic").pvalue, rel=1e-9
    )


@pytest.mark.parametrize(
    ("table", "values"),
    [
        ([[3, 0], [0, 3]], ([1.0, 2.0], [2.0, 2.5, 9.0])),
        ([[10, 40], [1, 49]], ([0.1, 0.2, 0.2, 0.3], [0.25, 0.3, 0.3, 0.5, 0.7])),
        ([[0, 5], [2, 3]], ([5.0, 5.0, 6.0], [5.0, 7.0, 7.0, 8.0])),
    ],
)
def test_the_tests_agree_with_scipy_on_small_and_tied_samples(
    table: list[list[int]], values: tuple[list[float], list[float]]
) -> None:
    from llmops_logging.cli import _significance as sig

    (a, b), (c, d) = table
    assert sig.fisher_exact(a, b, c, d) == pytest.approx(stats.fisher_exact(table).pvalue)
    welch = sig.welch(*values)
    assert welch is not None
    assert welch[2] == pytest.approx(stats.ttest_ind(*values, equal_var=False).pvalue, rel=1e-9)
    ranked = sig.mann_whitney(*values)
    assert ranked is not None
    assert ranked[1] == pytest.approx(
        stats.mannwhitneyu(*values, method="asymptotic").pvalue, rel=1e-9
    )
    for successes, n in ((0, 7), (7, 7), (a, a + b)):
        low, high = stats.binomtest(successes, n).proportion_ci(method="wilson")
        assert sig.wilson(successes, n) == pytest.approx((low, high), abs=1e-12)


def test_the_gates_exit_statuses(log: Path) -> None:
    v1, v2 = sum(_values(log, "correct", "v1")) / 30, sum(_values(log, "correct", "v2")) / 30
    assert v1 - v2 > 0.2  # the fixture's drop, which the p below finds significant
    path = str(log)
    qa = [_outcome(i, s) for i in ITEMS for s in range(7) if (i, s) != ("q3", 6)]
    lowest = min(v1, v2, sum(qa) / len(qa))
    cli("scores", path, "--by", "version", "--fail-under", f"correct={lowest - 0.01}")
    done = cli("scores", path, "--by", "version", "--fail-under", f"correct={v2 + 0.01}",
               status=1)  # fmt: skip
    assert "--fail-under correct: pass rate" in done.stderr and "(version=v2)" in done.stderr
    done = cli("scores", path, "--run", "zzz", "--fail-under", "correct=0.1", status=1)
    assert "no run id starts with 'zzz'" in done.stderr
    assert "no score named 'correct'" in done.stderr
    compare = ("--compare", "version", "v1", "v2")
    done = cli("scores", path, *compare, "--fail-drop", "correct=0.05", status=1)
    assert "--fail-drop correct: v2 is" in done.stderr
    cli("scores", path, *compare, "--fail-drop", f"correct={v1 - v2 + 0.01}")
    cli("scores", path, "--compare", "version", "v2", "v1", "--fail-drop", "correct=0.05")
    q1 = [_outcome("q1", s) for s in range(7)]
    q2 = [_outcome("q2", s) for s in range(7)]
    small = [[sum(q1), 7 - sum(q1)], [sum(q2), 7 - sum(q2)]]
    assert sum(q1) - sum(q2) > 1 and stats.fisher_exact(small).pvalue >= 0.05
    done = cli("scores", path, "--compare", "item", "q1", "q2", "--fail-drop", "correct=0.1")
    assert "fail" not in done.stderr  # a drop that chance explains at 7 runs a side
    cli("scores", path, "--fail-drop", "correct=0.05", status=2)
    cli("scores", path, "--fail-under", "correct", status=2)


SCORER = """
import sys
import llmops_logging as ll
ll.configure(sys.argv[1])
ll.score("rating", 2, run_id=sys.argv[2], source="human")
"""


def test_a_score_from_another_process_is_grouped_by_its_runs_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ll.configure(tmp_path)
    with ll.run("chat", model="m-a") as first:
        ll.score("rating", 4)
    with ll.run("chat", model="m-b") as second:
        pass
    ll.reset()
    done = subprocess.run(
        [sys.executable, "-c", SCORER, str(tmp_path), second.run_id],
        capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    status, out = _json(capsys, str(tmp_path), "--by", "model")
    assert status == 0 and first.run_id != second.run_id
    means = {g["group"]["model"]: g["mean"] for g in out["groups"]}
    assert means == {"m-a": 4, "m-b": 2}


def test_a_log_without_scores_says_so(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("plain"):
        pass
    ll.reset()
    done = cli("scores", tmp_path)
    assert "no score record matched" in done.stderr


def test_the_help_lists_scores_and_its_options() -> None:
    listed = cli("--help").stdout
    assert "scores " in listed and "a scores gate failed" in listed
    helped = cli("scores", "--help").stdout
    for option in ("--by", "--k", "--compare", "--fail-under", "--fail-drop"):
        assert option in helped
    assert "%%" not in helped


def test_scores_whose_sum_or_squares_pass_the_float_range_have_a_mean_and_a_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Finite scores near the largest float, as `ll.score` writes them: the mean is that of the
    values (their sum overflows) and Welch's test is the one of the same values in a smaller
    unit (its t and p do not depend on the unit; the squares here overflow)."""
    log_dir = tmp_path / "logs"
    ll.configure(log_dir)
    values = {"v1": [1.7e308, 1.6e308, 1.5e308], "v2": [-1.7e308, 1.0e308, 1.1e308]}
    for version, scores in values.items():
        for value in scores:
            with ll.run("eval", version=version):
                ll.score("quality", value)
    ll.reset()
    status, got = _json(capsys, str(log_dir), "--by", "version", "--compare", "version", "v1", "v2")
    assert status == 0
    means = {g["group"]["version"]: g["mean"] for g in got["groups"]}
    for version, scores in values.items():
        exact = sum(Fraction(v) for v in scores) / len(scores)
        assert means[version] == pytest.approx(float(exact), rel=1e-15)
    (compared,) = got["comparisons"]
    scaled = [[v / 1e300 for v in values["v1"]], [v / 1e300 for v in values["v2"]]]
    expected = stats.ttest_ind(*scaled, equal_var=False).pvalue
    assert compared["p"] == pytest.approx(expected, rel=1e-9), compared
