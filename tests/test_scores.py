"""score(): the record's fields, where it attaches (run, step, tool, another run from another
process, threads, tasks), and values that are no number."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import llmops_logging as ll

from .conftest import ENV, ROOT, assert_contract, raw_lines, read_records


def _scores(log_dir: Path) -> list[dict[str, Any]]:
    return [r for r in read_records(log_dir) if r["kind"] == "score"]


def _evaluation(record: dict[str, Any]) -> dict[str, Any]:
    evaluation: dict[str, Any] = record["gen_ai"]["evaluation"]
    return evaluation


def test_a_score_carries_the_evaluation_attributes_on_its_run_and_step(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("task") as run, ll.step("answer") as step:
        ll.score("relevance", 0.75, label="good", explanation="cites the doc", judge="m-1")
    (record,) = _scores(tmp_path)
    assert_contract(record)
    assert record["run_id"] == run.run_id and record["step_id"] == step.step_id
    assert record["event"] == "gen_ai.evaluation.result" and record["level"] == "info"
    assert _evaluation(record) == {
        "name": "relevance",
        "score": {"value": 0.75, "label": "good"},
        "explanation": "cites the doc",
    }
    assert record["source"] == "code" and record["judge"] == "m-1"
    assert "passed" not in record and "scorer_run_id" not in record


def test_a_boolean_is_pass_or_fail_and_numbers_keep_their_type(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("task"):
        ll.score("correct", True)
        ll.score("correct", False, source="human")
        ll.score("steps", 3)
        ll.score("similarity", 1.0)
    ok, bad, steps, similarity = _scores(tmp_path)
    assert _evaluation(similarity)["score"] == {"value": 1.0}
    assert _evaluation(ok)["score"] == {"value": 1.0, "label": "pass"} and ok["passed"] is True
    assert _evaluation(bad)["score"] == {"value": 0.0, "label": "fail"}
    assert bad["passed"] is False and bad["source"] == "human"
    assert _evaluation(steps)["score"]["value"] == 3
    assert isinstance(_evaluation(steps)["score"]["value"], int)
    line = next(raw for raw in raw_lines(tmp_path / "events.jsonl") if b'"similarity"' in raw)
    assert b'"value":1.0' in line  # a float stays a JSON float


def test_a_value_that_is_no_finite_number_is_flagged_not_raised(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("task"):
        ll.score("a", float("nan"))
        ll.score("b", float("inf"))
        ll.score("c", "yes")
        ll.score("d", None)
    records = _scores(tmp_path)  # read_records rejects NaN tokens: the output is strict JSON
    assert [r["score_invalid"] for r in records] == ["nan", "inf", "'yes'", "None"]
    for record in records:
        assert "value" not in _evaluation(record).get("score", {})


def test_fields_named_like_the_libraries_are_kept_as_user_fields(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("task"):
        ll.score("x", True, passed="mine", scorer_run_id="theirs", step_id_extra=1)
    (record,) = _scores(tmp_path)
    assert record["passed"] is True and record["user_passed"] == "mine"
    assert record["user_scorer_run_id"] == "theirs" and "scorer_run_id" not in record


def test_a_score_inside_a_tool_call_lands_on_the_tool_step(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("task"), ll.step("plan") as step:

        @ll.tool
        def lookup(q: str) -> str:
            ll.score("tool_ok", True)
            return q

        lookup("x")
    records = read_records(tmp_path)
    (tool,) = [r for r in records if r["kind"] == "tool_call"]
    (score,) = [r for r in records if r["kind"] == "score"]
    assert score["step_id"] == tool["step_id"] != step.step_id


def test_a_score_attaches_to_an_earlier_run_by_id(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("task") as task, ll.step("answer") as step:
        pass
    with ll.run("review") as review:
        ll.score("helpful", False, run_id=task.run_id, step_id=step.step_id, source="human")
    (record,) = _scores(tmp_path)
    assert record["run_id"] == task.run_id and record["step_id"] == step.step_id
    assert record["scorer_run_id"] == review.run_id


def test_scores_from_threads_and_tasks_stay_on_their_runs(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    ids: dict[str, str] = {}

    def work(n: int) -> None:
        with ll.run(f"thread-{n}") as run:
            ids[f"thread-{n}"] = run.run_id
            ll.score("n", n)

    async def task(n: int) -> None:
        with ll.run(f"task-{n}") as run:
            ids[f"task-{n}"] = run.run_id
            await asyncio.sleep(0)
            ll.score("n", 100 + n)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    async def main() -> None:
        await asyncio.gather(*(task(n) for n in range(4)))

    asyncio.run(main())
    by_run = {r["run_id"]: _evaluation(r)["score"]["value"] for r in _scores(tmp_path)}
    assert by_run == {ids[f"thread-{n}"]: n for n in range(4)} | {
        ids[f"task-{n}"]: 100 + n for n in range(4)
    }


SCORER = """
import sys
import llmops_logging as ll
ll.configure(sys.argv[1])
ll.score("user_rating", 4, run_id=sys.argv[2], source="human")
"""


def test_a_score_from_another_process_lands_on_the_earlier_run(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("task", model="m-1") as task:
        pass
    ll.reset()
    done = subprocess.run(
        [sys.executable, "-c", SCORER, str(tmp_path), task.run_id],
        capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (record,) = _scores(tmp_path)
    assert record["run_id"] == task.run_id and record["source"] == "human"
    assert record["scorer_run_id"] != task.run_id and "step_id" not in record
    assert _evaluation(record)["score"]["value"] == 4


class _Hostile:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_hostile_arguments_never_raise_and_still_write_a_record(tmp_path: Path) -> None:
    ll.score("before configure", True)  # nowhere to write yet: no exception either
    ll.configure(tmp_path)
    with ll.run("task"):
        ll.score(_Hostile(), _Hostile(), label=_Hostile(), explanation=_Hostile(),  # type: ignore[arg-type]
                 source=_Hostile(), run_id=_Hostile(), extra=_Hostile())  # fmt: skip
    (record,) = _scores(tmp_path)
    assert_contract(record)
    assert isinstance(_evaluation(record)["name"], str) and record["score_invalid"]
    assert isinstance(record["run_id"], str) and isinstance(record["source"], str)
