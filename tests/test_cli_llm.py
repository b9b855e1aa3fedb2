"""llmops-logs on LLM calls: tokens and cost in `runs`, `stats --by` any field, `tail` lines.

The logs are written with the library; expected values come from the records read back raw.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest

import llmops_logging as ll

from .conftest import read_records
from .test_cli import cli, table

MODELS = ("gpt-4o-mini", "claude-haiku-4-5", "local-llama")


def _call(model: str, tokens_in: int, tokens_out: int, duration: float, *, cost: float | None,
          failed: bool = False, **fields: Any) -> None:  # fmt: skip
    gen_ai = {
        "provider": {"name": "anthropic" if model.startswith("claude") else "openai"},
        "operation": {"name": "chat"},
        "request": {"model": model},
        "response": {"model": f"{model}-2025", "finish_reasons": ["stop"]},
        "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
        "input": {"messages": [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]},
    }
    priced = {} if cost is None else {"cost_usd": cost, "cost_source": "test"}
    log = ll.get_logger("llm")
    (log.error if failed else log.info)(
        f"chat {model}", kind="llm_call", gen_ai=gen_ai, duration_s=duration, **priced, **fields
    )


@pytest.fixture(scope="module")
def agent_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log_dir = tmp_path_factory.mktemp("llm") / "logs"
    ll.configure(log_dir)
    for n in range(3):
        with ll.run("agent", attempt=n) as run:
            with ll.step("plan", tool="search"):
                _call(MODELS[0], 100 + n, 20, 0.2 + n / 10, cost=0.00003 + n / 1e5)
            _call(MODELS[1], 50, 5 + n, 1.0 + n, cost=0.0001)
            _call(MODELS[2], 7, 3, 0.05, cost=None, failed=n == 2)
            run.set(usage={"llm_calls": 3, "input_tokens": 157 + n, "output_tokens": 28 + 2 * n,
                           "cost_usd": 0.00013 + n / 1e5})  # fmt: skip
    # a run still going when the log was read: its totals are its calls so far
    ll.get_logger("llmops_logging").info(
        "run_start", kind="run_start", name="unfinished", run_id="0000unfinished"
    )
    _call(MODELS[0], 11, 2, 0.3, cost=0.00001, run_id="0000unfinished")
    ll.reset()
    return log_dir


def test_runs_show_llm_calls_tokens_and_cost(agent_log: Path) -> None:
    records = read_records(agent_log)
    ends = [r for r in records if r["kind"] == "run_ok"]
    rows = json.loads(cli("runs", "--json", agent_log).stdout)["runs"]
    assert len(rows) == 4
    for row, end in zip(rows[:3], ends, strict=True):
        assert row["run_id"] == end["run_id"]
        assert row["llm_calls"] == end["usage"]["llm_calls"] == 3
        assert row["input_tokens"] == end["usage"]["input_tokens"]
        assert row["output_tokens"] == end["usage"]["output_tokens"]
        assert row["cost_usd"] == pytest.approx(end["usage"]["cost_usd"])
    unfinished = rows[3]
    assert (unfinished["status"], unfinished["llm_calls"], unfinished["input_tokens"]) == (
        "running",
        1,
        11,
    )
    text = table(cli("runs", agent_log).stdout)
    assert text[0][-4:] == ["llm_calls", "tokens_in", "tokens_out", "cost"]
    assert text[1][-4:] == ["3", "157", "28", "$0.000130"]


def test_stats_by_model_sums_tokens_and_cost_per_model(agent_log: Path) -> None:
    calls = [r for r in read_records(agent_log) if r["kind"] == "llm_call"]
    got = json.loads(cli("stats", "--by", "gen_ai.request.model", "--json", agent_log).stdout)
    groups = {g["key"]: g for g in got["groups"]}
    assert set(groups) == set(MODELS)  # records without the field are left out
    for model in MODELS:
        mine = [c for c in calls if c["gen_ai"]["request"]["model"] == model]
        group = groups[model]
        assert group["records"] == group["llm_calls"] == len(mine)
        assert group["errors"] == sum(c["level"] == "error" for c in mine)
        durations = [c["duration_s"] for c in mine]
        assert group["p50_s"] == pytest.approx(statistics.median(durations))
        assert group["input_tokens"] == sum(c["gen_ai"]["usage"]["input_tokens"] for c in mine)
        assert group["output_tokens"] == sum(c["gen_ai"]["usage"]["output_tokens"] for c in mine)
        priced = [c["cost_usd"] for c in mine if "cost_usd" in c]
        if priced:
            assert group["cost_usd"] == pytest.approx(sum(priced))
        else:
            assert group["cost_usd"] is None  # an unknown price is no cost, not $0
            assert group["priced_calls"] == 0
    rows = {r[0]: r for r in table(cli("stats", "--by", "gen_ai.request.model", agent_log).stdout)}
    assert rows["gen_ai.request.model"][1:4] == ["count", "errors", "error_rate"]
    assert rows["gen_ai.request.model"][-4:] == ["llm_calls", "tokens_in", "tokens_out", "cost"]
    assert rows["local-llama"][1:4] == ["3", "1", "33.3%"] and rows["local-llama"][-1] == "-"
    assert rows["claude-haiku-4-5"][-3:] == ["150", "18", "$0.000300"]


def test_stats_by_any_field_and_by_name(agent_log: Path) -> None:
    tooled = [r for r in read_records(agent_log) if "tool" in r]
    by_tool = json.loads(cli("stats", "--by", "tool", "--json", agent_log).stdout)["groups"]
    assert [(g["key"], g["records"]) for g in by_tool] == [("search", len(tooled))]
    assert len(tooled) == 6  # step_start and step_ok of three steps
    by_name = json.loads(cli("stats", "--json", agent_log).stdout)["groups"]
    named = {g["key"]: g for g in by_name}
    assert named["run agent"]["llm_calls"] == 9  # from the runs' usage totals
    assert named["run agent"]["input_tokens"] == 157 + 158 + 159
    assert "llm_calls" not in named["step plan"] and "cost_usd" not in named["step plan"]
    assert named["llm_call chat gpt-4o-mini"]["records"] == 4
    by_run = json.loads(cli("stats", "--by", "run", "--json", agent_log).stdout)["groups"]
    for group in by_run:  # a run's calls and its closing totals are not counted twice
        assert group["llm_calls"] in (1, 3), group
    finish = cli("stats", "--by", "gen_ai.response.finish_reasons", "--json", agent_log)
    assert [g["key"] for g in json.loads(finish.stdout)["groups"]] == ['["stop"]']
    partial = table(cli("stats", "--by", "kind", "--kind", "llm_call", agent_log).stdout)
    assert partial[1][0] == "llm_call" and partial[1][-1].startswith(">=$")


def test_tail_shows_an_llm_call_as_one_readable_line(agent_log: Path) -> None:
    lines = cli("tail", "-n", "12", "--kind", "llm_call", agent_log).stdout.splitlines()
    assert len(lines) == 10
    first = lines[0]
    assert " INFO " in first and " llm chat gpt-4o-mini  " in first
    for part in ("provider=openai", "model=gpt-4o-mini-2025", "tokens=100+20",
                 "cost=$0.000030", "duration=0.200s", 'finish=["stop"]'):  # fmt: skip
        assert part in first, (part, first)
    assert "content" not in first and "messages" not in first
    failed = [line for line in lines if " ERROR " in line]
    assert len(failed) == 1 and "model=local-llama-2025" in failed[0] and "cost=" not in failed[0]
