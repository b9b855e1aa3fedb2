"""The pytest plugin, run through pytester: the records fixture, its assertions, and the
repeat marker's pass rate, interval, gate and score records."""

from __future__ import annotations

import importlib.metadata
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from scipy.stats import binomtest

from .conftest import cli, read_records

PLUGIN = "llmops_logging.pytest_plugin"
Runner = Callable[..., pytest.RunResult]


@pytest.fixture
def run_inner(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., pytest.RunResult]:
    """Run an inner test file with the plugin loaded by name (not through the installed
    entry point, so the tests do not depend on how this tree was installed)."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")

    def run(source: str, *args: str) -> pytest.RunResult:
        pytester.makepyfile(test_inner=source)
        return pytester.runpytest("-p", PLUGIN, "-p", "no:cacheprovider", *args)

    return run


def test_the_plugin_is_a_pytest_entry_point() -> None:
    points = importlib.metadata.entry_points(group="pytest11")
    assert any(p.name == "llmops_logging" and p.value == PLUGIN for p in points)


RECORDS_TESTS = """
import llmops_logging as ll

def _work():
    log = ll.get_logger()
    with ll.run("agent"):
        log.info("hello", kind="note")
        with ll.tool_call("search", arguments={"q": "x"}) as call:
            call.result = "found"
        with ll.llm_call("m", provider="local") as model_call:
            model_call.set_usage(120, 30)

def test_within_limits(llmops_records):
    _work()
    assert [r["event"] for r in llmops_records.of_kind("note")] == ["hello"]
    llmops_records.assert_no_error()
    llmops_records.assert_tools_used("search")
    llmops_records.assert_llm_calls(at_least=1, at_most=1)
    llmops_records.assert_tokens_at_most(150)
    assert llmops_records.tokens() == 150

def test_token_ceiling(llmops_records):
    _work()
    llmops_records.assert_tokens_at_most(149)

def test_missing_tool(llmops_records):
    _work()
    llmops_records.assert_tools_used("search", "calculator")

def test_an_error(llmops_records):
    ll.get_logger().error("boom", kind="tool_error")
    llmops_records.assert_no_error()
"""


def test_the_records_fixture_sees_what_the_test_wrote(run_inner: Runner) -> None:
    result = run_inner(RECORDS_TESTS)
    result.assert_outcomes(passed=1, failed=3)
    text = result.stdout.str()
    assert "150 tokens used, the ceiling is 149" in text
    assert "tools not called: ['calculator']; called: ['search']" in text
    assert "1 error record(s): 'boom' (tool_error)" in text


REPEAT_TESTS = """
import os
import pytest
import llmops_logging as ll

def setup_module():
    if os.environ.get("INNER_LOG_DIR"):
        ll.configure(os.environ["INNER_LOG_DIR"])

@pytest.mark.llmops_repeat(n=10, min_pass_rate={rate})
def test_sometimes(llmops_seed):
    ll.get_logger().info("tried", kind="try", tried_seed=llmops_seed)
    assert llmops_seed % 10 < 7, "unlucky seed"
"""


def _wilson_text(passed: int, n: int) -> str:
    ci = binomtest(passed, n).proportion_ci(confidence_level=0.95, method="wilson")
    return f"{passed}/{n} passed ({passed / n:.0%}, 95% interval {ci.low:.0%} to {ci.high:.0%})"


def test_a_pass_rate_at_the_minimum_passes_and_is_reported(run_inner: Runner) -> None:
    result = run_inner(REPEAT_TESTS.format(rate=0.7))
    result.assert_outcomes(passed=1)
    text = result.stdout.str()
    assert "llmops_logging: repeated tests" in text
    assert f"test_inner.py::test_sometimes: {_wilson_text(7, 10)}; at least 70% needed" in text


def test_a_pass_rate_below_the_minimum_fails(run_inner: Runner) -> None:
    result = run_inner(REPEAT_TESTS.format(rate=0.8))
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert f"{_wilson_text(7, 10)}; at least 80% needed; first failure: AssertionError" in text
    assert "unlucky seed" in text


def test_each_repetition_is_a_run_and_a_score_that_the_gate_reads(
    run_inner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_dir = tmp_path / "inner-logs"
    monkeypatch.setenv("INNER_LOG_DIR", str(log_dir))
    run_inner(REPEAT_TESTS.format(rate=0.5)).assert_outcomes(passed=1)
    records = read_records(log_dir)
    tries = [r for r in records if r["kind"] == "try"]
    assert sorted(r["tried_seed"] for r in tries) == list(range(10))
    assert len({r["run_id"] for r in tries}) == 10
    scores = [r for r in records if r["kind"] == "score"]
    assert len(scores) == 10
    assert {s["gen_ai"]["evaluation"]["name"] for s in scores} == {
        "pytest test_inner.py::test_sometimes"
    }
    seed_of_run = {r["run_id"]: r["tried_seed"] for r in tries}
    for s in scores:
        assert s["passed"] is (seed_of_run[s["run_id"]] % 10 < 7)
    done = cli("scores", log_dir, "--json", "--fail-under",
               "pytest test_inner.py::test_sometimes=0.8", status=None)  # fmt: skip
    assert done.returncode == 1
    answer = json.loads(done.stdout)
    (row,) = answer["groups"]
    assert (row["passes"], row["fails"], row["pass_rate"]) == (7, 3, 0.7)
    assert len(answer["gate_failures"]) == 1


def test_a_skip_in_a_repetition_skips_the_test(run_inner: Runner) -> None:
    source = """
import pytest

@pytest.mark.llmops_repeat(n=3)
def test_skipping(llmops_seed):
    if llmops_seed == 1:
        pytest.skip("no backend")
"""
    run_inner(source).assert_outcomes(skipped=1)


def test_a_marker_without_a_count_is_a_usage_error(run_inner: Runner) -> None:
    source = """
import pytest

@pytest.mark.llmops_repeat(n=0)
def test_nothing():
    pass
"""
    result = run_inner(source)
    assert result.ret != 0
    assert "needs n, a whole number >= 1; got 0" in result.stdout.str() + result.stderr.str()


def test_seeds_given_are_the_seeds_used(
    run_inner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_dir = tmp_path / "seeded"
    monkeypatch.setenv("INNER_LOG_DIR", str(log_dir))
    source = REPEAT_TESTS.replace("n=10, min_pass_rate={rate}", "seeds=[3, 5, 11]")
    run_inner(source).assert_outcomes(passed=1)
    tries = [r for r in read_records(log_dir) if r["kind"] == "try"]
    assert sorted(r["tried_seed"] for r in tries) == [3, 5, 11]
    assert os.environ["INNER_LOG_DIR"] == str(log_dir)
