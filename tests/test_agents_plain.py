"""Tools and agents in plain code: `@ll.tool`, `ll.tool_call`, `ll.agent`, `ll.handoff`.

Each test writes a real log and checks the parsed lines: the `tool_call` record's fields,
agent steps, hand-offs, and one tree by `step_id` / `parent_id`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import llmops_logging as ll

from .conftest import assert_contract, cli, read_records


def _tools(log_dir: Path) -> list[dict[str, Any]]:
    return [r for r in read_records(log_dir) if r["kind"] == "tool_call"]


@ll.tool
def add(a: int, b: int = 10) -> int:
    """Add two numbers.

    The rest of the docstring is not the description.
    """
    return a + b


@ll.tool(name="lookup", description="Find a city's weather.")
async def weather(city: str) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"city": city, "sky": "clear"}


def test_a_decorated_tool_writes_one_record_with_its_fields(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("agent") as run, ll.step("plan") as step:
        assert add(1, b=2) == 3
    (record,) = _tools(tmp_path)
    assert_contract(record)
    assert record["event"] == "execute_tool add" and record["level"] == "info"
    assert record["run_id"] == run.run_id
    assert record["parent_id"] == step.step_id and record["step_id"] != step.step_id
    assert isinstance(record["duration_s"], float) and record["duration_s"] >= 0
    assert "error" not in record
    gen_ai = record["gen_ai"]
    assert gen_ai["operation"] == {"name": "execute_tool"}
    tool = gen_ai["tool"]
    assert tool["name"] == "add" and tool["type"] == "function"
    assert tool["description"] == "Add two numbers."
    assert tool["call"] == {"arguments": {"a": 1, "b": 2}, "result": 3}


def test_default_arguments_are_recorded_by_name(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    add(5)
    (record,) = _tools(tmp_path)
    assert record["gen_ai"]["tool"]["call"]["arguments"] == {"a": 5, "b": 10}
    assert "parent_id" not in record  # no enclosing step: left out, not null


def test_a_method_tool_leaves_its_object_out_of_the_arguments(tmp_path: Path) -> None:
    class Calculator:
        @ll.tool
        def scale(self, x: int) -> int:
            return 2 * x

    ll.configure(tmp_path)
    assert Calculator().scale(4) == 8
    (record,) = _tools(tmp_path)
    assert record["event"] == "execute_tool scale"
    assert record["gen_ai"]["tool"]["call"] == {"arguments": {"x": 4}, "result": 8}


def test_an_async_tool_with_a_name_and_description(tmp_path: Path) -> None:
    ll.configure(tmp_path)

    async def main() -> Any:
        with ll.run("agent"):
            return await weather("Oslo")

    assert asyncio.run(main()) == {"city": "Oslo", "sky": "clear"}
    (record,) = _tools(tmp_path)
    assert record["event"] == "execute_tool lookup"
    tool = record["gen_ai"]["tool"]
    assert tool["name"] == "lookup" and tool["description"] == "Find a city's weather."
    assert tool["call"]["arguments"] == {"city": "Oslo"}
    assert tool["call"]["result"] == {"city": "Oslo", "sky": "clear"}


def test_the_context_manager_records_arguments_result_and_call_id(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with (
        ll.run("agent"),
        ll.tool_call(
            "search", arguments={"q": "otel"}, call_id="call_7", type="extension", note="x"
        ) as t,
    ):
        t.result = ["a", "b"]
    (record,) = _tools(tmp_path)
    assert record["note"] == "x" and record["step_id"] == t.step_id
    tool = record["gen_ai"]["tool"]
    assert tool == {
        "name": "search",
        "type": "extension",
        "call": {"id": "call_7", "arguments": {"q": "otel"}, "result": ["a", "b"]},
    }


def test_async_with_tool_call(tmp_path: Path) -> None:
    ll.configure(tmp_path)

    async def main() -> None:
        async with ll.tool_call("fetch", arguments={"url": "u"}) as t:
            await asyncio.sleep(0)
            t.result = 200

    asyncio.run(main())
    (record,) = _tools(tmp_path)
    assert record["gen_ai"]["tool"]["call"] == {"arguments": {"url": "u"}, "result": 200}


def test_a_failing_tool_writes_an_error_record_and_reraises(tmp_path: Path) -> None:
    @ll.tool
    def divide(a: float, b: float) -> float:
        return a / b

    ll.configure(tmp_path)
    with pytest.raises(ZeroDivisionError), ll.run("agent"):
        divide(1, 0)
    (record,) = _tools(tmp_path)
    assert record["level"] == "error"
    assert record["error"]["type"] == "ZeroDivisionError"
    assert "a / b" in record["error"]["traceback"]
    assert "result" not in record["gen_ai"]["tool"]["call"]
    assert record["gen_ai"]["tool"]["call"]["arguments"] == {"a": 1, "b": 0}


def test_a_failing_async_tool_reraises(tmp_path: Path) -> None:
    @ll.tool
    async def broken() -> None:
        raise ValueError("no")

    ll.configure(tmp_path)
    with pytest.raises(ValueError, match="no"):
        asyncio.run(broken())
    (record,) = _tools(tmp_path)
    assert record["level"] == "error" and record["error"]["message"] == "no"


def test_content_is_left_out_with_capture_content_false(tmp_path: Path) -> None:
    ll.configure(tmp_path, capture_content=False)
    add(1, 2)
    with ll.tool_call("search", arguments={"q": "x"}, call_id="c1") as t:
        t.result = "found"
    first, second = _tools(tmp_path)
    assert first["gen_ai"]["tool"] == {
        "name": "add",
        "type": "function",
        "description": "Add two numbers.",
    }
    assert second["gen_ai"]["tool"] == {"name": "search", "type": "function", "call": {"id": "c1"}}


def test_a_secret_in_tool_arguments_is_redacted(tmp_path: Path) -> None:
    @ll.tool
    def login(user: str, password: str, note: str) -> str:
        return "ok"

    secret = "hunter2-very-secret"
    key = "sk-" + "A1b2C3d4" * 4
    ll.configure(tmp_path)
    login("bob", secret, f"use {key}")
    (record,) = _tools(tmp_path)
    raw = (tmp_path / "events.jsonl").read_text()
    assert secret not in raw and key not in raw
    arguments = record["gen_ai"]["tool"]["call"]["arguments"]
    assert arguments["user"] == "bob" and arguments["password"] == "[REDACTED]"
    assert arguments["note"] == "use sk-[REDACTED]"


def test_a_tool_counts_in_the_run_but_not_in_usage(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("agent"):
        add(1, 2)
        add(3, 4)
    (end,) = [r for r in read_records(tmp_path) if r["kind"] == "run_ok"]
    assert end["counts"]["tool_call"] == 2
    assert "usage" not in end


def test_tools_in_asyncio_tasks_keep_their_own_parents(tmp_path: Path) -> None:
    @ll.tool
    async def slow(n: int) -> int:
        for _ in range(3):
            await asyncio.sleep(0)
        return n

    async def worker(n: int) -> tuple[str, int]:
        with ll.step(f"w{n}") as step:
            return step.step_id, await slow(n)

    async def main() -> list[tuple[str, int]]:
        with ll.run("agent"):
            return list(await asyncio.gather(*(worker(n) for n in range(4))))

    ll.configure(tmp_path)
    results = asyncio.run(main())
    by_arg = {r["gen_ai"]["tool"]["call"]["arguments"]["n"]: r for r in _tools(tmp_path)}
    assert len(by_arg) == 4
    for step_id, n in results:
        assert by_arg[n]["parent_id"] == step_id
        assert by_arg[n]["gen_ai"]["tool"]["call"]["result"] == n


def test_agents_tools_calls_and_a_handoff_form_one_tree(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("support"), ll.agent("triage", id="agent-1") as triage:
        add(1, 2)
        ll.handoff("billing", reason="invoice")
        with ll.agent("billing") as billing, ll.tool_call("refund", arguments={"n": 5}) as t:
            with ll.llm_call("m", provider="local") as call:
                call.set_usage(3, 4)
            t.result = "refunded"
    records = read_records(tmp_path)
    starts = {r["name"]: r for r in records if r["kind"] == "step_start"}
    ends = {r["name"]: r for r in records if r["kind"] == "step_ok"}
    for name in ("triage", "billing"):
        for record in (starts[name], ends[name]):
            assert record["gen_ai"]["operation"] == {"name": "invoke_agent"}
            assert record["gen_ai"]["agent"]["name"] == name
    assert starts["triage"]["gen_ai"]["agent"]["id"] == "agent-1"
    assert "id" not in starts["billing"]["gen_ai"]["agent"]
    assert "parent_id" not in starts["triage"]
    assert starts["billing"]["parent_id"] == triage.step_id
    (handoff,) = [r for r in records if r["kind"] == "handoff"]
    assert handoff["gen_ai"]["agent"] == {"name": "triage"} and handoff["to_agent"] == "billing"
    assert handoff["step_id"] == triage.step_id and handoff["reason"] == "invoice"
    add_call, refund = _tools(tmp_path)
    assert add_call["parent_id"] == triage.step_id
    assert refund["parent_id"] == billing.step_id
    (llm,) = [r for r in records if r["kind"] == "llm_call"]
    assert llm["parent_id"] == refund["step_id"]  # a model called from inside the tool
    assert ends["billing"]["usage"]["llm_calls"] == 1
    assert ends["triage"]["usage"]["llm_calls"] == 1


def test_a_handoff_names_its_from_agent_when_given(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    ll.handoff("b", from_agent="a")
    ll.handoff("c")  # outside any agent: no from
    first, second = [r for r in read_records(tmp_path) if r["kind"] == "handoff"]
    assert first["gen_ai"]["agent"]["name"] == "a" and first["to_agent"] == "b"
    assert "gen_ai" not in second and second["to_agent"] == "c"


def test_a_failing_agent_writes_step_error_with_its_name(tmp_path: Path) -> None:
    @ll.agent("planner")
    async def plan() -> None:
        raise RuntimeError("stuck")

    ll.configure(tmp_path)
    with pytest.raises(RuntimeError):
        asyncio.run(plan())
    (end,) = [r for r in read_records(tmp_path) if r["kind"] == "step_error"]
    assert end["gen_ai"]["agent"] == {"name": "planner"}
    assert end["gen_ai"]["operation"] == {"name": "invoke_agent"}
    assert end["error"]["type"] == "RuntimeError"


def test_the_agent_decorator_opens_a_new_agent_step_per_call(tmp_path: Path) -> None:
    @ll.agent("helper", id="h1")
    def helper() -> int:
        return add(1, 1)

    ll.configure(tmp_path)
    helper()
    helper()
    records = read_records(tmp_path)
    starts = [r for r in records if r["kind"] == "step_start"]
    assert len(starts) == 2 and starts[0]["step_id"] != starts[1]["step_id"]
    assert all(s["gen_ai"]["agent"] == {"name": "helper", "id": "h1"} for s in starts)
    assert [t["parent_id"] for t in _tools(tmp_path)] == [s["step_id"] for s in starts]


def test_hostile_names_and_values_never_raise_into_the_caller(tmp_path: Path) -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no str")

        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    ll.configure(tmp_path)
    ll.handoff(Hostile(), from_agent=Hostile())  # type: ignore[arg-type]
    with ll.agent("a", id=Hostile()):
        pass
    with ll.tool_call(Hostile(), arguments=Hostile(), call_id=Hostile()) as t:  # type: ignore[arg-type]
        t.result = Hostile()
    kinds = [r["kind"] for r in read_records(tmp_path)]
    assert kinds == ["handoff", "step_start", "step_ok", "tool_call"]


def test_tail_prints_a_tool_call_as_one_line_without_content(tmp_path: Path) -> None:
    @ll.tool
    def fails(secret_word: str) -> None:
        raise KeyError("missing")

    ll.configure(tmp_path)
    add(1, 2)
    with pytest.raises(KeyError):
        fails("xyzzy-arg")
    lines = cli("tail", tmp_path, "--color", "never", "--kind", "tool_call").stdout.splitlines()
    assert len(lines) == 2
    ok, failed = lines
    assert "execute_tool add" in ok and "tool=add" in ok and "duration=" in ok
    assert "error" not in ok and "a=" not in ok and "result" not in ok
    assert "execute_tool fails" in failed and "error=" in failed and "KeyError" in failed
    assert "xyzzy-arg" not in failed


def test_stats_by_tool_name(tmp_path: Path) -> None:
    @ll.tool
    def fails() -> None:
        raise KeyError("missing")

    ll.configure(tmp_path)
    for n in range(3):
        add(n)
    with pytest.raises(KeyError):
        fails()
    import json

    rows = json.loads(cli("stats", tmp_path, "--by", "gen_ai.tool.name", "--json").stdout)
    groups = {row["key"]: row for row in rows["groups"]}
    assert set(groups) == {"add", "fails"}
    assert groups["add"]["records"] == 3 and groups["add"]["errors"] == 0
    assert groups["add"]["durations"] == 3
    assert groups["fails"]["records"] == 1 and groups["fails"]["errors"] == 1


def test_fields_named_like_the_tool_calls_own_are_kept_renamed(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with (
        ll.run("agent"),
        ll.step("outer") as outer,
        ll.tool_call(
            "search", step_id="forged", parent_id="forged-parent", duration_s=-1, exc_info=True
        ) as t,
    ):
        t.set(gen_ai="mine")
    (record,) = _tools(tmp_path)
    assert record["step_id"] == t.step_id and record["parent_id"] == outer.step_id
    assert record["user_step_id"] == "forged" and record["user_parent_id"] == "forged-parent"
    assert record["user_duration_s"] == -1 and record["duration_s"] >= 0
    assert record["user_gen_ai"] == "mine" and record["gen_ai"]["tool"]["name"] == "search"
    assert record["user_exc_info"] is True and "error" not in record
