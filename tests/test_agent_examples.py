"""examples/agents/: each framework's demo run as a new user would, in a process of its own,
with no API key; the records it leaves are read back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import assert_contract, framework, read_records

ROOT = Path(__file__).resolve().parent.parent


def _demo(name: str, log_dir: Path) -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.pop("LLMOPS_LOG_DIR", None)
    done = subprocess.run(
        [sys.executable, f"examples/agents/{name}", str(log_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"log: {log_dir / 'events.jsonl'}" in done.stdout
    records = read_records(log_dir)
    for record in records:
        assert_contract(record)
    return records


def _runs_of_one_tool_and_two_calls(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    runs = [r for r in records if r["kind"] == "run_ok"]
    for run in runs:
        mine = [r for r in records if r["run_id"] == run["run_id"]]
        (tool,) = [r for r in mine if r["kind"] == "tool_call"]
        assert tool["gen_ai"]["tool"]["name"] == "lookup_order"
        assert tool["gen_ai"]["tool"]["call"]["result"].startswith("order ")
        (found,) = [r for r in mine if r["event"] == "order found"]
        assert found["step_id"] == tool["step_id"]
        calls = [r for r in mine if r["kind"] == "llm_call"]
        assert len(calls) == run["usage"]["llm_calls"] == 2
        assert run["usage"]["input_tokens"] == sum(
            c["gen_ai"]["usage"]["input_tokens"] for c in calls
        )
    return runs


def test_the_openai_agents_demo_logs_two_turns_each_a_run_with_a_tool_and_a_handoff(
    tmp_path: Path,
) -> None:
    framework("agents", "test-frameworks")
    records = _demo("openai_agents_demo.py", tmp_path)
    runs = _runs_of_one_tool_and_two_calls(records)
    assert [r["name"] for r in runs] == ["order support", "order support"]
    assert {r["gen_ai"]["conversation"]["id"] for r in runs} == {"conversation-42"}
    for run in runs:
        mine = [r for r in records if r["run_id"] == run["run_id"]]
        (handoff,) = [r for r in mine if r["kind"] == "handoff"]
        assert (handoff["gen_ai"]["agent"]["name"], handoff["to_agent"]) == ("triage", "billing")
        agents = [r["name"] for r in mine if r["kind"] == "step_start" and "gen_ai" in r
                  and r["gen_ai"].get("operation", {}).get("name") == "invoke_agent"]  # fmt: skip
        assert agents == ["triage", "billing"]
        assert all(c["gen_ai"]["response"]["id"] for c in mine if c["kind"] == "llm_call")


def test_the_pydantic_ai_demo_logs_each_agent_run_as_a_run_with_its_tool_and_calls(
    tmp_path: Path,
) -> None:
    framework("pydantic_ai", "test-frameworks")
    pytest.importorskip("opentelemetry.sdk")
    records = _demo("pydantic_ai_demo.py", tmp_path)
    runs = _runs_of_one_tool_and_two_calls(records)
    assert len(runs) == 2
    for run in runs:
        mine = [r for r in records if r["run_id"] == run["run_id"]]
        (agent,) = [r for r in mine if r["kind"] == "step_start"]
        assert agent["name"] == "concierge"
        assert agent["gen_ai"]["operation"]["name"] == "invoke_agent"
        assert all(len(r["trace_id"]) == 32 for r in mine)
