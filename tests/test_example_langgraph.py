"""examples/agents/langgraph_demo.py: a LangGraph agent with a tool, run as a new user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import assert_contract, cli, framework, read_records

ROOT = Path(__file__).resolve().parent.parent

for _module in ("langchain_openai", "langgraph"):
    framework(_module, "test-frameworks")


def test_the_langgraph_example_logs_a_run_of_nodes_a_tool_and_model_calls(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["LLMOPS_LOG_DIR"] = str(tmp_path)  # the log directory from the environment
    done = subprocess.run(
        [sys.executable, "examples/agents/langgraph_demo.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"log: {tmp_path / 'events.jsonl'}" in done.stdout
    assert f"llmops-logs runs {tmp_path}" in done.stdout

    records = read_records(tmp_path)
    for record in records:
        assert_contract(record)
    assert {r["run_id"] for r in records} == {records[0]["run_id"]}
    assert [r["kind"] for r in records][0 :: len(records) - 1] == ["run_start", "run_ok"]
    assert {r["gen_ai"]["conversation"]["id"] for r in records} == {"ticket-42"}
    nodes = [r["name"] for r in records if r["kind"] == "step_start" and "parent_id" not in r]
    assert nodes == ["agent", "tools", "agent"]
    (tool_call,) = [r for r in records if r["kind"] == "tool_call"]
    assert tool_call["gen_ai"]["tool"]["name"] == "get_order_status"
    assert tool_call["gen_ai"]["tool"]["call"]["arguments"] == {"order_id": "A-1001"}
    result = tool_call["gen_ai"]["tool"]["call"]["result"]  # as the model is shown it
    assert json.loads(result) == {"order_id": "A-1001", "status": "shipped", "eta_days": 1}
    tools_step = next(r for r in records if r["kind"] == "step_start" and r["name"] == "tools")
    assert tool_call["parent_id"] == tools_step["step_id"]
    calls = [r for r in records if r["kind"] == "llm_call"]
    assert len(calls) == 2 and all(c["attempts"] == 1 for c in calls)  # the SDK's records
    (run_ok,) = [r for r in records if r["kind"] == "run_ok"]
    assert run_ok["usage"]["llm_calls"] == 2

    runs = cli("runs", tmp_path).stdout
    assert "support_agent" in runs and "ticket-42" in runs


def test_the_langgraph_example_writes_where_the_command_line_says(tmp_path: Path) -> None:
    env = {**os.environ, "LLMOPS_LOG_DIR": str(tmp_path / "from-env")}
    done = subprocess.run(
        [sys.executable, "examples/agents/langgraph_demo.py", "--log-dir", str(tmp_path / "cli")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "from-env").exists()
    kinds = [r["kind"] for r in read_records(tmp_path / "cli")]
    assert kinds.count("tool_call") == 1 and kinds.count("llm_call") == 2
