"""ll.llm_call: the record any client can write, sync and async, with content on and off."""

from __future__ import annotations

import ast
import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import llmops_logging as ll

from ..conftest import assert_contract, read_records


class HTTPError(Exception):
    status_code = 503


def _calls(log_dir: Path) -> list[dict[str, Any]]:
    return [r for r in read_records(log_dir) if r["kind"] == "llm_call"]


def test_a_call_writes_the_otel_shaped_record(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with (
        ll.run("agent") as run,
        ll.step("answer") as step,
        ll.llm_call("llama-3-8b", provider="ollama", tool="qa") as call,
    ):
        call.set_request(temperature=0.2, max_tokens=64, seed=None)
        call.input_messages = [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
        call.system_instructions = [{"type": "text", "content": "be brief"}]
        call.response_id = "r-1"
        call.response_model = "llama-3-8b-q4"
        call.finish_reasons = ["stop"]
        call.set_usage(12, 3, cache_read_input_tokens=4, reasoning_output_tokens=1)
        call.output_messages = [{"role": "assistant", "parts": [], "finish_reason": "stop"}]
        call.set(attempt_note="first")
    (record,) = _calls(tmp_path)
    assert_contract(record)
    assert record["event"] == "chat llama-3-8b" and record["level"] == "info"
    assert record["run_id"] == run.run_id
    assert record["parent_id"] == step.step_id and record["step_id"] != step.step_id
    assert record["tool"] == "qa" and record["attempt_note"] == "first"
    assert isinstance(record["duration_s"], float) and record["duration_s"] >= 0
    assert "ttft_s" not in record and "error" not in record
    gen_ai = record["gen_ai"]
    assert gen_ai["provider"] == {"name": "ollama"}
    assert gen_ai["operation"] == {"name": "chat"}
    assert gen_ai["request"] == {"model": "llama-3-8b", "temperature": 0.2, "max_tokens": 64}
    assert gen_ai["response"] == {"id": "r-1", "model": "llama-3-8b-q4", "finish_reasons": ["stop"]}
    assert gen_ai["usage"] == {
        "input_tokens": 12,
        "output_tokens": 3,
        "cache_read": {"input_tokens": 4},
        "reasoning": {"output_tokens": 1},
    }
    assert gen_ai["input"]["messages"][0]["parts"][0]["content"] == "hi"
    assert gen_ai["system_instructions"] == [{"type": "text", "content": "be brief"}]
    assert gen_ai["output"]["messages"][0]["finish_reason"] == "stop"
    assert "cost_usd" not in record and "cost_source" not in record  # a local model: unknown


def test_absent_values_are_left_out_not_null(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.llm_call("m", provider="local", operation="embeddings"):
        pass
    (record,) = _calls(tmp_path)
    assert record["event"] == "embeddings m"
    assert record["gen_ai"] == {
        "provider": {"name": "local"},
        "operation": {"name": "embeddings"},
        "request": {"model": "m"},
    }
    assert "parent_id" not in record

    def nulls(value: Any) -> bool:
        if isinstance(value, dict):
            return any(v is None or nulls(v) for v in value.values())
        return False

    assert not nulls(record)


def test_none_inside_content_is_left_out_not_null(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.llm_call("m", provider="local") as call:
        call.input_messages = [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
        call.output_messages = [
            {"role": None, "parts": [{"type": "text", "content": "par", "id": None}],
             "finish_reason": None}
        ]  # fmt: skip
        call.finish_reasons = [None]
    (line,) = [
        ln for ln in (tmp_path / "events.jsonl").read_text().splitlines() if "llm_call" in ln
    ]
    assert "null" not in line
    (record,) = _calls(tmp_path)
    assert record["gen_ai"]["output"] == {
        "messages": [{"parts": [{"type": "text", "content": "par"}]}]
    }
    assert "response" not in record["gen_ai"]


def test_a_failed_call_is_an_error_record_and_the_exception_passes(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with pytest.raises(HTTPError, match="overloaded"), ll.llm_call("m", provider="p"):
        raise HTTPError("overloaded")
    (record,) = _calls(tmp_path)
    assert record["level"] == "error"
    assert record["error"]["type"] == "HTTPError"
    assert record["error"]["message"] == "overloaded"
    assert record["error"]["status_code"] == 503
    assert "overloaded" in record["error"]["traceback"]


def test_async_with_and_the_start_finish_form(tmp_path: Path) -> None:
    ll.configure(tmp_path)

    async def main() -> None:
        async with ll.llm_call("a", provider="p") as call:
            call.set_usage(1, 2)
        await asyncio.sleep(0)

    asyncio.run(main())
    call = ll.llm_call("b", provider="p").start()
    call.first_chunk()
    call.first_chunk()  # only the first counts
    call.finish()
    call.finish()  # written once
    records = _calls(tmp_path)
    assert [r["event"] for r in records] == ["chat a", "chat b"]
    assert records[0]["gen_ai"]["usage"] == {"input_tokens": 1, "output_tokens": 2}
    assert 0 <= records[1]["ttft_s"] <= records[1]["duration_s"]


def test_a_call_cannot_be_started_twice(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    call = ll.llm_call("m", provider="p").start()
    with pytest.raises(RuntimeError, match="already started"):
        call.start()


def test_the_record_keeps_the_run_it_started_in(tmp_path: Path) -> None:
    """A stream finished after its run ended still belongs to that run."""
    ll.configure(tmp_path)
    with ll.run("r") as run:
        call = ll.llm_call("m", provider="p").start()
    call.finish()
    (record,) = _calls(tmp_path)
    assert record["run_id"] == run.run_id


def test_capture_content_off_keeps_prompts_and_completions_out(tmp_path: Path) -> None:
    ll.configure(tmp_path, capture_content=False)
    with ll.llm_call("m", provider="p") as call:
        assert call.capture_content is False
        call.input_messages = [{"role": "user", "parts": [{"type": "text", "content": "secret"}]}]
        call.output_messages = [{"role": "assistant", "parts": []}]
        call.system_instructions = "sys"
        call.set_usage(5, 6)
    (record,) = _calls(tmp_path)
    assert set(record["gen_ai"]) == {"provider", "operation", "request", "usage"}
    assert "secret" not in (tmp_path / "events.jsonl").read_text()


def test_content_passes_the_redactor(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    key = "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0" * 2
    with ll.llm_call("m", provider="p") as call:
        call.input_messages = [{"role": "user", "parts": [{"type": "text", "content": key}]}]
    (record,) = _calls(tmp_path)
    assert key not in (tmp_path / "events.jsonl").read_text()
    assert record["gen_ai"]["input"]["messages"][0]["parts"][0]["content"] != key


def test_reserved_names_in_fields_do_not_break_the_record(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.llm_call("m", provider="p", kind="x", event="y", gen_ai="z", duration_s="w"):
        pass
    (record,) = _calls(tmp_path)
    assert record["event"] == "chat m" and isinstance(record["gen_ai"], dict)
    assert isinstance(record["duration_s"], float)


def test_importing_the_package_imports_no_sdk_or_price_table() -> None:
    code = (
        "import sys, llmops_logging as ll;"
        " ll.llm_call, ll.instrument_openai, ll.instrument_anthropic;"
        " print(sorted(m for m in ('openai', 'anthropic', 'genai_prices') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    assert done.stdout.strip() == "[]"


_FORK_SCRIPT = """
import atexit, os, sys
import llmops_logging as ll
from llmops_logging.llm import _call
ll.configure(sys.argv[1])
dropped = ll.llm_call("dropped", provider="p").start()
_call.abandon(dropped)  # pending: no worker was started to finish it
held = ll.llm_call("held", provider="p").start()
pid = os.fork()
if pid == 0:  # the child closes what it inherited, then exits
    held.finish()
    _call.abandon(held)
    atexit._run_exitfuncs()
    os._exit(0)
os.waitpid(pid, 0)
held.finish()
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_writes_no_record_of_its_parents_calls(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    subprocess.run(
        [sys.executable, "-c", _FORK_SCRIPT, str(tmp_path)],
        timeout=120,
        check=True,
        env=env,
    )
    records = _calls(tmp_path)
    assert sorted(r["event"] for r in records) == ["chat dropped", "chat held"]
    assert len({r["pid"] for r in records}) == 1


def test_no_core_module_imports_the_llm_package() -> None:
    """`llm` -> `runs` -> context: the core holds the LLM settings, never the reverse."""
    package = Path(ll.__file__).parent
    for path in package.glob("*.py"):
        if path.name == "__init__.py":  # the public face re-exports llm's names
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [f"{'.' * node.level}{node.module or ''}"]
                names += [f"{names[0]}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert not re.match(r"(llmops_logging|)\.llm(\.|$)", name), (path.name, name)


def test_fields_named_like_the_calls_own_are_kept_renamed_never_dropped(tmp_path: Path) -> None:
    ll.configure(tmp_path, prices={"m": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}})
    mine: dict[str, Any] = {
        "cost_usd": 9.0, "duration_s": "d", "step_id": "s", "parent_id": "p", "usage": "u",
        "gen_ai": "g", "ttft_s": "t", "error": "e", "cost_source": "c", "kind": "k",
    }  # fmt: skip
    with ll.run("r"), ll.step("outer") as outer, ll.llm_call("m", provider="p", **mine) as call:
        call.set_usage(1_000_000, 0)
        call.set(attempts="a", user_cost_usd="taken")
    (record,) = _calls(tmp_path)
    assert record["kind"] == "llm_call" and record["parent_id"] == outer.step_id
    assert record["step_id"] not in ("s", outer.step_id)
    assert record["cost_usd"] == 1.0 and record["cost_source"] == "user prices"
    assert isinstance(record["duration_s"], float) and isinstance(record["gen_ai"], dict)
    assert "error" not in record and "ttft_s" not in record and "attempts" not in record
    for name, value in mine.items():
        expected = "taken" if name == "cost_usd" else value
        assert record[f"user_{name}"] == expected, name
    assert record["user_user_cost_usd"] == 9.0 and record["user_attempts"] == "a"
    (step_ok,) = [r for r in read_records(tmp_path) if r["kind"] == "step_ok"]
    assert step_ok["usage"]["cost_usd"] == 1.0
