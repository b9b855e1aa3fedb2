"""ship sends scores as OpenTelemetry evaluation events (`gen_ai.evaluation.result`) on the
span of the run or step they judge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import llmops_logging as ll

from ._otlp_receiver import Receiver
from .test_ship import _value, receiver, ship

__all__ = ["receiver"]  # the fixture, shared with test_ship


def _attributes(event: dict[str, Any]) -> dict[str, Any]:
    return {a["key"]: _value(a["value"]) for a in event.get("attributes", [])}


def test_scores_are_evaluation_events_on_the_spans_they_judge(
    tmp_path: Path, receiver: Receiver
) -> None:
    log_dir = tmp_path / "logs"
    ll.configure(log_dir)
    with ll.run("graded"):
        with ll.tool_call("search", arguments={"q": "x"}) as call:
            call.result = "found"
            ll.score("relevant", True, explanation="the result names the order")
        ll.score("correct", 0.75, label="mostly")
    ll.reset()
    done = ship(log_dir, receiver, "--protocol", "http/protobuf")
    assert done.returncode == 0, done.stderr
    spans = list(receiver.spans.values())
    (root,) = [s for s in spans if not s.get("parentSpanId")]
    (tool,) = [s for s in spans if s["name"].startswith("execute_tool")]
    evaluations = {
        span["name"]: [
            _attributes(e)
            for e in span.get("events", [])
            if e["name"] == "gen_ai.evaluation.result"
        ]
        for span in (root, tool)
    }
    (on_tool,) = evaluations[tool["name"]]
    assert on_tool["gen_ai.evaluation.name"] == "relevant"
    assert on_tool["gen_ai.evaluation.score.value"] == 1.0
    assert on_tool["gen_ai.evaluation.score.label"] == "pass"
    assert on_tool["gen_ai.evaluation.explanation"] == "the result names the order"
    (on_run,) = evaluations[root["name"]]
    assert on_run["gen_ai.evaluation.name"] == "correct"
    assert on_run["gen_ai.evaluation.score.value"] == 0.75
    assert on_run["gen_ai.evaluation.score.label"] == "mostly"
