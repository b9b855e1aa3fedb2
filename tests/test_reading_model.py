"""The reading model: one rule per question, so that every command reads a log alike.

Logs are written with the library (and, for a record only a user writes, with its logger);
the commands are run as users run them and their outputs compared with each other.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import llmops_logging as ll
from llmops_logging.cli.report.data import ReportData, gather
from llmops_logging.reader import EventStream
from llmops_logging.readmodel.spans import SpanTree

from .conftest import ENV, cli, read_records, table


def _report(log_dir: Path) -> ReportData:
    """What the report gathers from the log (its cards, its per-model table)."""
    return gather(EventStream([str(log_dir)]))


def test_stats_and_the_report_count_the_same_failed_records(tmp_path: Path) -> None:
    """A user's `tool_error` at info, and a record carrying an `error` at info, fail by the one
    rule: `stats` and the report used to count them differently (the report left out the
    first, `stats` the second)."""
    log_dir = tmp_path / "logs"
    ll.configure(log_dir)
    log = ll.get_logger("agent")
    with ll.run("job"):
        log.info("lookup failed", kind="tool_error", tool="search")
        log.info("fallback used", error={"type": "Timeout", "message": "slow"})
        log.info("fine")
        log.error("broken")
    ll.reset()
    records = read_records(log_dir)
    failed = [r for r in records if r["event"] in ("lookup failed", "fallback used", "broken")]
    assert len(failed) == 3
    groups = json.loads(cli("stats", "--by", "run", "--json", log_dir).stdout)["groups"]
    assert sum(g["errors"] for g in groups) == 3
    assert _report(log_dir).errors == 3


def test_tail_and_the_report_name_a_call_by_the_model_that_answered(tmp_path: Path) -> None:
    """A request for `gpt-4o` answered by `gpt-4o-2024-08-06`: `tail` named the call by the
    response's model and the report by the request's; both now say the response's."""
    log_dir = tmp_path / "logs"
    ll.configure(log_dir)
    with ll.run("job"):
        call = ll.llm_call("gpt-4o", provider="openai").start()
        call.response_model = "gpt-4o-2024-08-06"
        call.set_usage(10, 2)
        call.finish()
    ll.reset()
    [record] = [r for r in read_records(log_dir) if r["kind"] == "llm_call"]
    assert record["gen_ai"]["response"]["model"] == "gpt-4o-2024-08-06"
    out = cli("tail", "--kind", "llm_call", "--color", "never", log_dir).stdout
    assert "model=gpt-4o-2024-08-06" in out
    assert list(_report(log_dir).models) == ["gpt-4o-2024-08-06"]


# -- scores in `runs` ---------------------------------------------------------------------------


LATE_SCORE = """
import sys
import llmops_logging as ll
ll.configure(sys.argv[1])
ll.score("helpful", True, run_id=sys.argv[2], source="human")
ll.reset()
"""


def test_runs_show_each_runs_scores_and_one_given_later_from_another_process(
    tmp_path: Path,
) -> None:
    log_dir = tmp_path / "logs"
    ll.configure(log_dir)
    with ll.run("answer") as first:
        ll.score("correct", 1.0)
        ll.score("tone", 0.25, label="curt\x1b[31m")
        ll.score("a_rather_long_score_name", 3)
    with ll.run("answer"):
        ll.score("correct", 0)
    with ll.run("unscored"):
        pass
    ll.reset()
    subprocess.run(
        [sys.executable, "-c", LATE_SCORE, str(log_dir), first.run_id],
        check=True, env=ENV, timeout=120,
    )  # fmt: skip
    scores = [r for r in read_records(log_dir) if r["kind"] == "score"]
    late = next(r for r in scores if r["gen_ai"]["evaluation"]["name"] == "helpful")
    assert late["run_id"] == first.run_id and late.get("scorer_run_id") != first.run_id
    rows = json.loads(cli("runs", "--json", log_dir).stdout)["runs"]
    by_id: dict[str, Any] = {row["run_id"]: row for row in rows}
    assert by_id[first.run_id]["scores"] == [
        {"name": "correct", "value": 1.0, "label": None, "passed": None, "source": "code"},
        {"name": "tone", "value": 0.25, "label": "curt\x1b[31m", "passed": None, "source": "code"},
        {"name": "a_rather_long_score_name", "value": 3.0, "label": None, "passed": None,
         "source": "code"},
        {"name": "helpful", "value": 1.0, "label": "pass", "passed": True, "source": "human"},
    ]  # fmt: skip
    second, unscored = rows[1], rows[2]
    assert second["scores"] == [
        {"name": "correct", "value": 0.0, "label": None, "passed": None, "source": "code"}
    ]
    assert "scores" not in unscored
    out = cli("runs", "--color", "never", log_dir).stdout
    assert "\x1b" not in out  # the label's escape is shown, not obeyed
    rows_shown = table(out)
    assert rows_shown[0][-1] == "scores"
    assert rows_shown[1][-1].startswith("correct=1 tone=curt\\x1b[31m a_rather_")
    assert len(rows_shown[1][-1]) <= 40 and rows_shown[1][-1].endswith("...")
    assert rows_shown[2][-1] == "correct=0"
    assert rows_shown[3][-1] == "-"


# -- the span tree, record by record -------------------------------------------------------------


def _rec(kind: str, step: str | None = None, parent: str | None = None, **f: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"ts": "2026-12-01T10:00:00.000000+00:00", "run_id": "r",
                              "event": kind, "kind": kind, "level": "info", **f}  # fmt: skip
    if step is not None:
        record["step_id"] = step
    if parent is not None:
        record["parent_id"] = parent
    return record


def test_the_span_tree_gives_finished_nodes_as_they_end_with_their_parents() -> None:
    tree = SpanTree()
    tree.add(_rec("run_start", name="job"))
    tree.add(_rec("step_start", "a", name="plan"))
    tree.add(_rec("log", "t"))  # logged inside a tool call not written yet: it waits
    tree.add(_rec("tool_call", "t", "a", error={"type": "E", "message": "m"}))
    tree.add(_rec("llm_call", "c", "a"))
    done = {node.step_id: parent for node, parent in tree.take(finished_only=True)}
    assert set(done) == {"t", "c"}
    assert all(parent is not None and parent.step_id == "a" for parent in done.values())
    tree.add(_rec("log", "a", level="error"))
    tree.add(_rec("step_ok", "a", name="plan"))
    tree.add(_rec("run_ok", name="job"))
    rest = {node.key: (node, parent) for node, parent in tree.take()}
    step, parent = rest["sa"]
    assert parent is not None and parent.is_root and parent.name == "job"
    assert step.status == "ok" and [r["level"] for _, r in step.events] == ["error"]
    assert rest[""][0].status == "ok" and not tree.nodes


def test_the_span_tree_cuts_a_cycle_and_hangs_a_missing_parent_on_the_root() -> None:
    tree = SpanTree()
    tree.add(_rec("run_start"))
    tree.add(_rec("step_ok", "x", "y"))
    tree.add(_rec("step_ok", "y", "x"))
    tree.add(_rec("step_ok", "z", "gone"))
    parents = tree.parents()
    assert parents["sx"] == "" and parents["sy"] == "sx" and parents["sz"] == ""
    failed = SpanTree()
    failed.add(_rec("step_ok", "s", kind_note="ok", error="lost"))
    [(node, parent)] = failed.take()
    assert node.status == "error" and parent is None


def test_the_span_tree_takes_a_kind_that_is_a_list_as_an_event() -> None:
    """A foreign record whose `kind` is a list (unhashable) stopped the report and the OTLP
    export with a TypeError; it is an event of its step like any record of a foreign kind."""
    tree = SpanTree()
    tree.add({"kind": "run_start", "ts": "t0", "name": "job"})
    tree.add({"kind": "step_start", "ts": "t1", "step_id": "a"})
    owner = tree.add({"kind": ["run_ok"], "ts": "t2", "step_id": "a"})
    assert owner is not None and owner.step_id == "a"
    assert [record["kind"] for _, record in owner.events] == [["run_ok"]]
    assert not tree.nodes[""].ended
