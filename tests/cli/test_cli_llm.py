"""llmops-logs on LLM calls: tokens and cost in `runs`, `stats --by` any field, `tail` lines.

The logs are written with the library; expected values come from the records read back raw.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest

import llmops_logging as ll
from llmops_logging import _price_table

from ..conftest import cli, read_records, table

MODELS = ("gpt-4o-mini", "claude-haiku-4-5", "local-llama")  # the last has no known price


def _call(model: str, tokens_in: int, tokens_out: int, *, failed: bool = False) -> None:
    provider = "anthropic" if model.startswith("claude") else "openai"
    call = ll.llm_call(model, provider=provider).start()
    call.response_model = model
    call.finish_reasons = ["stop"]
    call.input_messages = [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
    call.set_usage(tokens_in, tokens_out)
    call.finish(RuntimeError("model timeout") if failed else None)


@pytest.fixture(scope="module")
def agent_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _price_table.preload()  # the table loads in the background: priced calls need it there
    assert _price_table.loaded.wait(120)
    log_dir = tmp_path_factory.mktemp("llm") / "logs"
    ll.configure(log_dir)
    for n in range(3):
        with ll.run("agent", attempt=n):
            with ll.step("plan", tool="search"):
                _call(MODELS[0], 100 + n, 20)
            _call(MODELS[1], 50, 5 + n)
            _call(MODELS[2], 7, 3, failed=n == 2)
    # a run still going when the log is read: its totals are its calls so far
    with ll.run("unfinished") as run:
        run_id = run.run_id
        _call(MODELS[0], 11, 2)
    ll.reset()
    live = log_dir / "events.jsonl"
    lines = live.read_bytes().splitlines(keepends=True)
    assert json.loads(lines[-1])["run_id"] == run_id
    live.write_bytes(b"".join(lines[:-1]))  # as if the process were still in the run
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
        assert row["priced_calls"] == 2  # local-llama has no price
    unfinished = rows[3]
    assert unfinished["status"] == "running"
    assert (unfinished["llm_calls"], unfinished["input_tokens"], unfinished["priced_calls"]) == (
        1,
        11,
        1,
    )
    text = table(cli("runs", agent_log).stdout)
    assert text[0][-4:] == ["llm_calls", "tokens_in", "tokens_out", "cost"]
    usage = ends[0]["usage"]
    assert text[1][-4:-1] == ["3", str(usage["input_tokens"]), str(usage["output_tokens"])]
    assert text[1][-1] == f">=${usage['cost_usd']:.6f}"


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
            assert group["cost_usd"] == math.fsum(priced)  # summed exactly, rounded once
        else:
            assert group["cost_usd"] is None  # an unknown price is no cost, not $0
            assert group["priced_calls"] == 0
    rows = {r[0]: r for r in table(cli("stats", "--by", "gen_ai.request.model", agent_log).stdout)}
    assert rows["gen_ai.request.model"][1:4] == ["count", "errors", "error_rate"]
    assert rows["gen_ai.request.model"][-4:] == ["llm_calls", "tokens_in", "tokens_out", "cost"]
    assert rows["local-llama"][1:4] == ["3", "1", "33.3%"] and rows["local-llama"][-1] == "-"
    assert rows["claude-haiku-4-5"][-3:-1] == ["150", "18"]
    assert rows["claude-haiku-4-5"][-1] == f"${groups['claude-haiku-4-5']['cost_usd']:.6f}"


def test_stats_by_any_field_and_by_name(agent_log: Path) -> None:
    tooled = [r for r in read_records(agent_log) if "tool" in r]
    by_tool = json.loads(cli("stats", "--by", "tool", "--json", agent_log).stdout)["groups"]
    assert [(g["key"], g["records"]) for g in by_tool] == [("search", len(tooled))]
    assert len(tooled) == 6  # step_start and step_ok of three steps
    by_name = json.loads(cli("stats", "--json", agent_log).stdout)["groups"]
    named = {g["key"]: g for g in by_name}
    # groups sum llm_call records only: the usage totals of run and step ends are not added
    assert "llm_calls" not in named["run agent"] and "llm_calls" not in named["step plan"]
    assert named["llm_call chat gpt-4o-mini"]["llm_calls"] == 4
    assert named["llm_call chat gpt-4o-mini"]["input_tokens"] == 100 + 101 + 102 + 11
    by_kind = json.loads(cli("stats", "--by", "kind", "--json", agent_log).stdout)["groups"]
    starts = next(g for g in by_kind if g["key"] == "run_start")
    assert "llm_calls" not in starts and "cost_usd" not in starts  # no calls: no usage
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
    record = next(r for r in read_records(agent_log) if r["kind"] == "llm_call")
    assert " INFO " in first and " llmops_logging.llm chat gpt-4o-mini  " in first
    for part in ("provider=openai", "model=gpt-4o-mini", "tokens=100+20",
                 f"cost=${record['cost_usd']:.6f}", "duration=", 'finish=["stop"]'):  # fmt: skip
        assert part in first, (part, first)
    assert "content" not in first and "messages" not in first
    failed = [line for line in lines if " ERROR " in line]
    assert len(failed) == 1 and "model=local-llama" in failed[0] and "cost=" not in failed[0]
    assert 'error="RuntimeError: model timeout"' in failed[0]


def test_stats_count_each_call_once_through_nested_steps(tmp_path: Path) -> None:
    """One run > step > step > one call: the ends of all three scopes carry that call in
    their usage totals, but every grouping counts it once."""
    log_dir = tmp_path / "logs"
    ll.configure(log_dir)
    with ll.run("agent"), ll.step("outer"), ll.step("inner"):
        _call(MODELS[0], 40, 4)
    ll.reset()
    records = read_records(log_dir)
    assert sum(r.get("usage", {}).get("llm_calls", 0) for r in records) == 3  # run, 2 steps
    for by in ("logger", "kind", "name", "run", "level"):
        groups = json.loads(cli("stats", "--by", by, "--json", log_dir).stdout)["groups"]
        assert sum(g.get("llm_calls", 0) for g in groups) == 1, (by, groups)
        assert sum(g.get("input_tokens") or 0 for g in groups) == 40, (by, groups)
    by_kind = {g["key"]: g for g in json.loads(cli("stats", "--by", "kind", "--json",
                                                   log_dir).stdout)["groups"]}  # fmt: skip
    assert by_kind["llm_call"]["llm_calls"] == 1 and "llm_calls" not in by_kind["step_ok"]
    runs = json.loads(cli("runs", "--json", log_dir).stdout)["runs"]
    assert [(r["llm_calls"], r["input_tokens"]) for r in runs] == [(1, 40)]  # the run's totals


def _forged_call(run_id: str, model: str, usage: dict[str, object], **fields: object) -> bytes:
    record = {"ts": "2026-11-30T12:00:00.000000+00:00", "run_id": run_id, "event": f"chat {model}",
              "kind": "llm_call", "level": "info", "logger": "llmops_logging.llm",
              "event_id": f"forged-{len(usage)}-{len(fields)}", "seq": 1, "pid": 1,
              "duration_s": 0.5, "gen_ai": {"request": {"model": model}, "usage": usage},
              **fields}  # fmt: skip
    return json.dumps(record).encode() + b"\n"


def test_runs_and_stats_do_not_sum_hostile_token_counts_or_costs(tmp_path: Path) -> None:
    """Negative, fractional, boolean, textual or beyond-64-bit counts and negative costs stay
    out of every sum, whether the library flagged them or a record was written by hand."""
    log_dir = tmp_path / "logs"
    ll.configure(log_dir, prices={"m": {"input_per_mtok": 1.0, "output_per_mtok": 1.0}})
    with ll.run("agent"):
        for tokens_in in (10, -5, 2**64, "12", 2.5, True):
            with ll.llm_call("m", provider="local") as call:
                call.set_usage(tokens_in, 2)  # type: ignore[arg-type]
    ll.reset()
    forged = "f" * 32
    with (log_dir / "events.jsonl").open("ab") as live:  # a run still going, by another writer
        start = json.loads(_forged_call(forged, "m", {}))
        start.update(kind="run_start", event="run_start", name="forged", event_id="forged-start")
        del start["gen_ai"], start["duration_s"]
        live.write(json.dumps(start).encode() + b"\n")
        live.write(_forged_call(forged, "m", {"input_tokens": 7, "output_tokens": 1}))
        live.write(_forged_call(forged, "m", {"input_tokens": 4, "output_tokens": 1},
                                cost_usd=-1.0))  # fmt: skip
        live.write(_forged_call(forged, "m", {"input_tokens": -100, "output_tokens": 2**70}))
    runs = {r["run_id"]: r for r in json.loads(cli("runs", "--json", log_dir).stdout)["runs"]}
    mine = next(r for key, r in runs.items() if key != forged)
    assert (mine["llm_calls"], mine["input_tokens"], mine["output_tokens"]) == (6, 10, 12)
    assert mine["priced_calls"] == 1 and mine["cost_usd"] == pytest.approx(1.2e-05)
    theirs = runs[forged]
    assert (theirs["llm_calls"], theirs["input_tokens"], theirs["output_tokens"]) == (3, 11, 2)
    assert theirs["cost_usd"] is None and theirs["priced_calls"] == 0
    got = json.loads(cli("stats", "--by", "gen_ai.request.model", "--json", log_dir).stdout)
    (group,) = got["groups"]
    assert (group["llm_calls"], group["input_tokens"], group["output_tokens"]) == (9, 21, 14)
    assert group["cost_usd"] == pytest.approx(1.2e-05) and group["priced_calls"] == 1


def test_runs_show_each_runs_own_usage_in_every_row(tmp_path: Path) -> None:
    """Runs with different usage, one without LLM calls between them and one still going:
    every row, in the table as in JSON, holds its own run's figures, never a neighbour's."""
    _price_table.preload()
    assert _price_table.loaded.wait(120)
    log_dir = tmp_path / "logs"
    ll.configure(log_dir)
    for n, tokens in enumerate([(100, 10), None, (7, 3), (300, 30)]):
        with ll.run("agent", attempt=n):
            if tokens is not None:
                _call(MODELS[0], *tokens)
    with ll.run("unfinished"):
        _call(MODELS[0], 11, 2)
    ll.reset()
    live = log_dir / "events.jsonl"
    live.write_bytes(b"".join(live.read_bytes().splitlines(keepends=True)[:-1]))  # still going
    records = read_records(log_dir)
    expected: dict[str, tuple[int, int | None, int | None, float | None]] = {}
    for record in records:
        run_id = record["run_id"]
        if record["kind"] == "run_start":
            expected[run_id] = (0, None, None, None)
        elif record["kind"] == "run_ok" and "usage" in record:
            u = record["usage"]
            expected[run_id] = (u["llm_calls"], u["input_tokens"], u["output_tokens"],
                                u["cost_usd"])  # fmt: skip
        elif record["kind"] == "llm_call" and not any(
            r["run_id"] == run_id and r["kind"] == "run_ok" for r in records
        ):  # the run still going: its calls so far
            calls, tokens_in, tokens_out, cost = expected[run_id]
            usage = record["gen_ai"]["usage"]
            expected[run_id] = (calls + 1, (tokens_in or 0) + usage["input_tokens"],
                                (tokens_out or 0) + usage["output_tokens"],
                                (cost or 0.0) + record["cost_usd"])  # fmt: skip
    assert len({v[1] for v in expected.values()}) == 5  # every run's figures differ
    rows = json.loads(cli("runs", "--json", log_dir).stdout)["runs"]
    assert [r["run_id"] for r in rows] == list(expected)
    for row in rows:
        calls, tokens_in, tokens_out, cost = expected[row["run_id"]]
        assert row.get("llm_calls", 0) == calls, row
        assert (row.get("input_tokens"), row.get("output_tokens")) == (tokens_in, tokens_out)
        assert row.get("cost_usd") == pytest.approx(cost), row
    text = table(cli("runs", log_dir).stdout)
    assert text[0][-4:] == ["llm_calls", "tokens_in", "tokens_out", "cost"]
    for cells, run_id in zip(text[1:], expected, strict=True):
        calls, tokens_in, tokens_out, cost = expected[run_id]
        assert cells[0] == run_id[:8]
        assert cells[-4:] == [
            str(calls),
            "-" if tokens_in is None else f"{tokens_in:,}",
            "-" if tokens_out is None else f"{tokens_out:,}",
            "-" if cost is None else f"${cost:.6f}",
        ], (cells, run_id)


def test_tail_shows_a_call_or_tool_whose_figures_are_not_numbers_as_logged(
    tmp_path: Path,
) -> None:
    """A foreign writer's `llm_call` or `tool_call` with a duration, first-chunk delay or cost
    that is text, a list or a boolean: `tail` shows each as it was logged, not a traceback,
    and a true number still reads as a duration."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir(mode=0o700)
    odd: list[object] = ["NaN", "", [1], {"s": 2}, True]
    with (log_dir / "events.jsonl").open("wb") as live:
        for value in odd:
            live.write(_forged_call("r" * 32, "m", {}, duration_s=value, ttft_s=value,
                                    cost_usd=value))  # fmt: skip
            tool = json.loads(_forged_call("r" * 32, "m", {}, duration_s=value))
            tool.update(kind="tool_call", event="execute_tool search")
            live.write(json.dumps(tool).encode() + b"\n")
        live.write(_forged_call("r" * 32, "m", {}, duration_s=2.5))
    done = cli("tail", "-n", "20", log_dir, status=None)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 * len(odd) + 1
    for value, call, tool in zip(odd, lines[0::2], lines[1::2], strict=False):
        shown = value if value and isinstance(value, str) else json.dumps(value).replace(" ", "")
        for name in ("duration", "ttft", "cost"):
            assert f"{name}={shown} " in f"{call} ", (name, value, call)
        assert f"duration={shown} " in f"{tool} ", (value, tool)
    assert "duration=2.500s" in lines[-1]
