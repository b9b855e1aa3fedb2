"""`export --format otlp` marks agents and tools: a `tool_call` is a span `execute_tool {name}`
under its agent's span `invoke_agent {name}` under the run's, and every span carries the
OpenInference attributes Phoenix keys on (span kind, input and output, model, tokens, tool,
session, user) and the cost under Langfuse's name, beside the GenAI ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import llmops_logging as ll

from .test_export_otlp import T0, Span, attrs, export, line, validated, write_lines

INPUT = [{"role": "user", "parts": [{"type": "text", "content": "what is 1 + 2?"}]}]
OUTPUT = [{"role": "assistant", "parts": [{"type": "text", "content": "ask the tool"}]}]
CONTENT_KEYS = {"input.value", "input.mime_type", "output.value", "output.mime_type"}


@ll.tool
def add(a: int, b: int = 10) -> int:
    """Add two numbers."""
    ll.get_logger("calc").info("adding", a=a, b=b)
    return a + b


@ll.tool(name="broken")
def fails(reason: str) -> None:
    raise RuntimeError(reason)


def agent_log(tmp_path: Path, capture_content: bool) -> Path:
    """A run of a chat session: an agent that asks a model, calls a tool, calls a failing
    tool and hands off."""
    ll.configure(tmp_path / "logs", capture_content=capture_content)
    with ll.run("chat", conversation_id="conv-1", user_id="u-7", input="1 + 2?") as run:
        with ll.agent("planner", id="a1") as agent:
            with ll.llm_call("gpt-4o-mini", provider="openai") as call:
                call.input_messages = INPUT
                call.output_messages = OUTPUT
                call.response_model = "gpt-4o-mini-2024-07-18"
                call.set_usage(input_tokens=12, output_tokens=5)
            assert add(1, b=2) == 3
            with pytest.raises(RuntimeError):
                fails("no network")
            ll.handoff("writer")
            agent.set(output={"answer": 3})
        run.set(output="3")
    ll.reset()
    return export(tmp_path / "logs", tmp_path)


def by_name(spans: list[Span]) -> dict[str, Span]:
    named = {s["name"]: s for s in spans}
    assert len(named) == len(spans), [s["name"] for s in spans]
    return named


def text(span: Span, key: str) -> Any:
    value = attrs(span)[key]
    return value.get("stringValue", value)


def test_tools_and_agents_are_spans_under_the_run(tmp_path: Path) -> None:
    spans = by_name(validated(agent_log(tmp_path, capture_content=True)))
    assert set(spans) == {
        "run chat", "invoke_agent planner", "chat gpt-4o-mini", "execute_tool add",
        "execute_tool broken",
    }  # fmt: skip
    run, agent = spans["run chat"], spans["invoke_agent planner"]
    llm, tool = spans["chat gpt-4o-mini"], spans["execute_tool add"]
    broken = spans["execute_tool broken"]
    assert "parentSpanId" not in run
    assert agent["parentSpanId"] == run["spanId"]
    for child in (llm, tool, broken):
        assert child["parentSpanId"] == agent["spanId"]
    assert tool["kind"] == agent["kind"] == run["kind"] == 1  # INTERNAL
    assert llm["kind"] == 3  # CLIENT
    # a tool span ends at its record's time and starts its duration earlier
    lines = (tmp_path / "logs" / "events.jsonl").read_text().splitlines()
    record = json.loads(next(r for r in lines if '"execute_tool add"' in r))
    duration = int(tool["endTimeUnixNano"]) - int(tool["startTimeUnixNano"])
    assert abs(duration - record["duration_s"] * 1e9) <= 1
    assert tool["status"] == {"code": 1}
    assert broken["status"]["code"] == 2 and broken["status"]["message"].startswith("RuntimeError")
    assert [e["name"] for e in broken["events"]] == ["exception"]
    # the hand-off is an event of the agent's span, named by both agents
    [handoff] = agent["events"]
    assert handoff["name"] == "handoff planner -> writer"
    # what the tool logged while it ran is an event of the tool's span (its record came later)
    assert [e["name"] for e in tool["events"]] == ["adding"]
    assert "events" not in run
    assert text(agent, "gen_ai.operation.name") == "invoke_agent"
    assert text(tool, "gen_ai.operation.name") == "execute_tool"


def test_spans_carry_the_openinference_attributes(tmp_path: Path) -> None:
    spans = by_name(validated(agent_log(tmp_path, capture_content=True)))
    run, agent = spans["run chat"], spans["invoke_agent planner"]
    llm, tool = spans["chat gpt-4o-mini"], spans["execute_tool add"]
    broken = spans["execute_tool broken"]
    kinds = {name: text(s, "openinference.span.kind") for name, s in spans.items()}
    assert kinds == {
        "run chat": "CHAIN", "invoke_agent planner": "AGENT", "chat gpt-4o-mini": "LLM",
        "execute_tool add": "TOOL", "execute_tool broken": "TOOL",
    }  # fmt: skip
    for span in spans.values():
        assert text(span, "session.id") == "conv-1"
        assert text(span, "user.id") == "u-7"
    # an LLM call: its messages, model, token counts
    assert json.loads(text(llm, "input.value")) == INPUT
    assert json.loads(text(llm, "output.value")) == OUTPUT
    assert text(llm, "input.mime_type") == text(llm, "output.mime_type") == "application/json"
    assert text(llm, "llm.model_name") == "gpt-4o-mini-2024-07-18"
    assert text(llm, "llm.provider") == "openai"
    assert attrs(llm)["llm.token_count.prompt"] == {"intValue": "12"}
    assert attrs(llm)["llm.token_count.completion"] == {"intValue": "5"}
    assert attrs(llm)["llm.token_count.total"] == {"intValue": "17"}
    # a tool: its name, arguments and result
    assert text(tool, "tool.name") == "add" and text(tool, "tool.description") == "Add two numbers."
    assert json.loads(text(tool, "input.value")) == {"a": 1, "b": 2}
    assert text(tool, "input.mime_type") == "application/json"
    assert json.loads(text(tool, "output.value")) == 3
    assert text(tool, "output.mime_type") == "application/json"
    assert json.loads(text(broken, "input.value")) == {"reason": "no network"}
    assert "output.value" not in attrs(broken)
    # an agent and a run: their own input and output fields; a text is text/plain
    assert text(agent, "agent.name") == "planner"
    assert json.loads(text(agent, "output.value")) == {"answer": 3}
    assert text(agent, "output.mime_type") == "application/json"
    assert text(run, "input.value") == "1 + 2?" and text(run, "input.mime_type") == "text/plain"
    assert text(run, "output.value") == "3" and text(run, "output.mime_type") == "text/plain"
    # token counts are the calls' own: no other span repeats them (a backend sums the tree)
    for span in (run, agent, tool, broken):
        assert not any(k.startswith("llm.") for k in attrs(span)), span["name"]


def test_without_content_no_span_has_input_or_output(tmp_path: Path) -> None:
    spans = by_name(validated(agent_log(tmp_path, capture_content=False)))
    llm, tool = spans["chat gpt-4o-mini"], spans["execute_tool add"]
    for name in ("chat gpt-4o-mini", "execute_tool add", "execute_tool broken"):
        assert not CONTENT_KEYS & set(attrs(spans[name])), name
    assert not any(k.startswith(("gen_ai.input", "gen_ai.output")) for k in attrs(llm))
    assert not any(k.startswith("gen_ai.tool.call.") for k in attrs(tool))
    # what is not content stays
    assert text(tool, "tool.name") == "add" and text(tool, "openinference.span.kind") == "TOOL"
    assert attrs(llm)["llm.token_count.total"] == {"intValue": "17"}


def test_the_cost_is_a_float_under_langfuse_name_beside_cost_usd(tmp_path: Path) -> None:
    log = write_lines(
        tmp_path / "events.jsonl",
        [
            line("llm_call", step_id="a", cost_usd=0.00125, duration_s=0.1),
            line("llm_call", step_id="b", cost_usd=2, duration_s=0.1),
            line("llm_call", step_id="c", cost_usd="0.5", duration_s=0.1),
            line("llm_call", step_id="d", cost_usd=-1.0, duration_s=0.1),
            line("step_ok", step_id="e", name="e", usage={"cost_usd": 0.5}),
        ],
    )
    spans = {attrs(s)["step_id"]["stringValue"]: s for s in validated(export(log, tmp_path))}
    assert attrs(spans["a"])["gen_ai.usage.cost"] == {"doubleValue": 0.00125}
    assert attrs(spans["a"])["cost_usd"] == {"doubleValue": 0.00125}
    assert attrs(spans["b"])["gen_ai.usage.cost"] == {"doubleValue": 2.0}
    for step in ("c", "d", "e"):  # not a cost, or a total of calls (counted on the calls)
        assert "gen_ai.usage.cost" not in attrs(spans[step]), step


def test_hostile_tool_and_agent_records_still_export(tmp_path: Path) -> None:
    """Names and values of any type: a span name is always text, the export always valid."""
    agent = {"operation": {"name": "invoke_agent"}, "agent": {"name": ["not", "text"]}}
    log = write_lines(
        tmp_path / "events.jsonl",
        [
            line("step_start", step_id="ag", name="fallback", gen_ai=agent),
            line("tool_call", step_id="t1", parent_id="ag", gen_ai={"tool": {"name": 7}},
                 duration_s=0.5),
            line("tool_call", step_id="t2", parent_id="ag", gen_ai="tool", duration_s="x"),
            line("tool_call", step_id="t3", parent_id="t3", duration_s=0.5, event="t3",
                 gen_ai={"tool": {"name": "loop", "call": {"arguments": None, "result": "ok"}}}),
            line("llm_call", step_id="c", gen_ai={"request": {"model": 5},
                 "usage": {"input_tokens": "9", "output_tokens": 3}}),
            line("handoff", step_id="ag", gen_ai={"agent": {"name": {"x": 1}}}, to_agent=None),
            line("step_ok", step_id="ag", name="fallback", gen_ai=agent, ts=T0),
        ],
    )  # fmt: skip
    spans = {attrs(s)["step_id"]["stringValue"]: s for s in validated(export(log, tmp_path))}
    assert spans["ag"]["name"] == "invoke_agent fallback"
    assert text(spans["ag"], "openinference.span.kind") == "AGENT"
    assert spans["t1"]["name"] == "tool_call" and spans["t2"]["name"] == "tool_call"
    assert text(spans["t2"], "openinference.span.kind") == "TOOL"
    assert spans["t3"]["name"] == "execute_tool loop"
    assert "parentSpanId" not in spans["t3"]  # its own parent: cut (no run record, no root)
    assert text(spans["t3"], "output.value") == "ok" and "input.value" not in attrs(spans["t3"])
    assert "llm.model_name" not in attrs(spans["c"])
    assert attrs(spans["c"])["llm.token_count.completion"] == {"intValue": "3"}
    assert "llm.token_count.prompt" not in attrs(spans["c"])
    assert "llm.token_count.total" not in attrs(spans["c"])
    [handoff] = spans["ag"]["events"]
    assert handoff["name"].startswith("handoff")


def test_records_of_steps_never_seen_go_to_the_root_and_are_all_counted(tmp_path: Path) -> None:
    """Records wait for their step's span only up to a bound; the rest, and those whose step
    never comes, are events of the run's root (or counted as dropped there)."""
    records = [line("run_start", name="r")]
    records += [line("log", step_id=f"ghost{i}", i=i) for i in range(1_000)]
    records += [line("log", step_id="late", note="before its tool")]
    records += [line("tool_call", step_id="late", duration_s=0.1, gen_ai={"tool": {"name": "t"}})]
    records += [line("run_ok", name="r")]
    spans = by_name(validated(export(write_lines(tmp_path / "events.jsonl", records), tmp_path)))
    root, tool = spans["run r"], spans["execute_tool t"]
    assert [e["name"] for e in tool["events"]] == ["log"]
    assert len(root["events"]) + root["droppedEventsCount"] + len(tool.get("events", [])) == 1_001
    # the root keeps its first events in the order they were logged
    assert [attrs(e)["i"]["intValue"] for e in root["events"]] == [str(i) for i in range(128)]
