"""instrument_litellm: LiteLLM's callbacks write `llm_call` records, with the real litellm
against the local fake server (its OpenAI API), sync, async, streamed and failing, and once
only when the OpenAI SDK underneath is instrumented too."""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmops_logging as ll
from llmops_logging import _price_table
from llmops_logging.llm import _once
from llmops_logging.llm._patch import Attempts

from .conftest import needs_framework, read_records

needs_framework("litellm", "litellm")  # an extra of its own: its install takes minutes
litellm: Any = None  # imported by `_litellm_imported`: seconds of CPU, only where these run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))  # one fake server
import fake_llm  # noqa: E402
from fake_llm import FakeLLM  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Where is my order?"}]


@pytest.fixture
def server() -> Iterator[FakeLLM]:
    with FakeLLM.start() as fake:
        yield fake


@pytest.fixture(scope="module", autouse=True)
def _litellm_imported() -> None:
    """LiteLLM imported before the first test: importing it sets httpx's logger to WARNING for
    the whole process, and the rest of the suite (run in this process too) logs through httpx."""
    global litellm
    level = logging.getLogger("httpx").level
    litellm = importlib.import_module("litellm")
    logging.getLogger("httpx").setLevel(level)


@pytest.fixture(autouse=True)
def _prices_loaded() -> None:
    """The price table in place: a call that ends before it loads is written without a cost."""
    _price_table.preload()
    assert _price_table.loaded.wait(120)


@pytest.fixture(autouse=True)
def _restore_litellm_callbacks() -> Iterator[None]:
    from openai.resources.chat.completions import AsyncCompletions, Completions

    lists = [  # LiteLLM copies `callbacks` into lists of its own per kind of event
        name
        for name in dir(litellm)
        if name.endswith(("callback", "callbacks")) and isinstance(getattr(litellm, name), list)
    ]
    saved = {name: list(getattr(litellm, name)) for name in lists}
    classes = {cls: dict(vars(cls)) for cls in (Completions, AsyncCompletions)}
    yield
    for name, callbacks in saved.items():
        getattr(litellm, name)[:] = callbacks
    for cls, attributes in classes.items():
        for name in ("create", "parse"):
            setattr(cls, name, attributes[name])


def _call(server: FakeLLM, **options: Any) -> Any:
    options.setdefault("model", f"openai/{MODEL}")
    return litellm.completion(
        api_base=server.openai_url, api_key="sk-test", messages=MESSAGES, **options
    )


def _calls(log_dir: Path, count: int = 1) -> list[dict[str, Any]]:
    """The `llm_call` records, once `count` are there: LiteLLM reports a call on its own
    logging thread just after the call returns."""
    deadline = time.monotonic() + 30
    while True:
        calls = [r for r in read_records(log_dir) if r["kind"] == "llm_call"]
        if len(calls) >= count or time.monotonic() > deadline:
            return calls
        time.sleep(0.02)


def test_a_completion_is_recorded_in_the_callers_run_and_step(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    ll.instrument_litellm()
    with ll.run("r") as run, ll.step("answer") as step:
        response = _call(server, temperature=0.3, max_tokens=20)
        (record,) = _calls(tmp_path)  # written before the run ends: counted in its usage
    assert response.choices[0].message.content == fake_llm.REPLY
    assert record["run_id"] == run.run_id and record["parent_id"] == step.step_id
    gen_ai = record["gen_ai"]
    assert gen_ai["provider"]["name"] == "openai"
    assert gen_ai["request"] == {"model": MODEL, "temperature": 0.3, "max_tokens": 20}
    assert gen_ai["response"]["id"] == fake_llm.CHAT_ID
    assert gen_ai["response"]["finish_reasons"] == ["stop"]
    usage = response.usage
    assert gen_ai["usage"]["input_tokens"] == usage.prompt_tokens
    assert gen_ai["usage"]["output_tokens"] == usage.completion_tokens
    assert gen_ai["usage"]["cache_read"] == {"input_tokens": fake_llm.CACHED_TOKENS}
    assert gen_ai["output"]["messages"][0]["parts"] == [{"type": "text", "content": fake_llm.REPLY}]
    assert record["cost_usd"] > 0 and record["cost_source"].startswith("genai-prices")
    assert 0 < record["duration_s"] < 30
    (run_ok,) = [r for r in read_records(tmp_path) if r["kind"] == "run_ok"]
    assert run_ok["usage"]["llm_calls"] == 1
    assert run_ok["usage"]["input_tokens"] == usage.prompt_tokens


def test_async_and_streamed_calls_are_recorded_in_the_callers_context(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    ll.instrument_litellm()

    async def one(name: str, stream: bool) -> str:
        with ll.step(name):
            response = await litellm.acompletion(
                model=f"openai/{MODEL}",
                api_base=server.openai_url,
                api_key="sk-test",
                messages=MESSAGES,
                stream=stream,
            )
            if not stream:
                return str(response.choices[0].message.content)
            return "".join([c.choices[0].delta.content or "" async for c in response])

    async def main() -> list[str]:
        texts = await asyncio.gather(one("plain", False), one("streamed", True))
        deadline = time.monotonic() + 30  # LiteLLM reports async calls from this event loop
        while len(_calls(tmp_path, 0)) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return texts

    with ll.run("r"):
        assert asyncio.run(main()) == [fake_llm.REPLY, fake_llm.REPLY]
        texts = "".join(c.choices[0].delta.content or "" for c in _call(server, stream=True))
        assert texts == fake_llm.REPLY
        records = _calls(tmp_path, 3)
    steps = {r["name"]: r["step_id"] for r in read_records(tmp_path) if r["kind"] == "step_start"}
    by_parent = {r.get("parent_id"): r for r in records}
    assert set(by_parent) == {steps["plain"], steps["streamed"], None}  # each its caller's step
    for record in (by_parent[steps["streamed"]], by_parent[None]):
        assert 0 <= record["ttft_s"] <= record["duration_s"]
        assert record["gen_ai"]["output"]["messages"][0]["parts"][0]["content"] == fake_llm.REPLY
    assert "ttft_s" not in by_parent[steps["plain"]]


def test_a_failed_call_is_an_error_record(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    ll.instrument_litellm()
    with pytest.raises(litellm.NotFoundError):
        _call(server, model=f"openai/{fake_llm.FAIL_MODEL}")
    (record,) = _calls(tmp_path)
    assert record["level"] == "error" and record["error"]["type"] == "NotFoundError"
    assert record["error"]["status_code"] == 404
    assert record["gen_ai"]["request"]["model"] == fake_llm.FAIL_MODEL


def test_with_the_openai_sdk_instrumented_too_each_call_is_recorded_once(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    ll.instrument_litellm()
    ll.instrument_openai()

    async def main() -> None:
        await litellm.acompletion(
            model=f"openai/{MODEL}", api_base=server.openai_url, api_key="sk-test",
            messages=MESSAGES, temperature=0.3,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while len(_calls(tmp_path, 0)) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # a second record of a call would come in this time

    with ll.run("r"):
        _call(server, temperature=0.1)
        for _ in _call(server, stream=True, temperature=0.2):
            pass
        asyncio.run(main())
    records = _calls(tmp_path, 3)
    temperatures = sorted(r["gen_ai"]["request"]["temperature"] for r in records)
    assert temperatures == [0.1, 0.2, 0.3]
    (run_ok,) = [r for r in read_records(tmp_path) if r["kind"] == "run_ok"]
    assert run_ok["usage"]["llm_calls"] == 3


def _probe(sdk: bool) -> Any:
    """A callback that runs after ours in LiteLLM's pre-call callbacks: what the caller's
    context holds then; with `sdk`, it also opens a call as an SDK patch does, inside
    LiteLLM's. (Its base class is LiteLLM's, imported only once the tests run.)"""
    from litellm.integrations.custom_logger import CustomLogger

    class _Probe(CustomLogger):  # type: ignore[misc]
        def __init__(self, sdk: bool) -> None:
            super().__init__()
            self.sdk = sdk
            self.seen: list[tuple[str, tuple[Any, ...]]] = []

        def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
            self.seen.append((_CALLER.get(), _once._enclosing.get()))
            if self.sdk:
                call = ll.llm_call(MODEL, provider="openai", sdk="yes").start()
                with Attempts(call):
                    pass
                call.finish()

    return _Probe(sdk)


_CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="elsewhere")


def test_the_call_opens_in_the_callers_context_and_yields_to_an_sdks_record(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path)
    ll.instrument_litellm()
    probe = _probe(sdk=False)
    litellm.callbacks.append(probe)
    _CALLER.set("sync caller")
    _call(server)

    async def main() -> None:
        _CALLER.set("async caller")
        await litellm.acompletion(
            model=f"openai/{MODEL}", api_base=server.openai_url, api_key="sk-test",
            messages=MESSAGES,
        )  # fmt: skip
        deadline = time.monotonic() + 30  # LiteLLM reports async calls from this event loop
        while len(_calls(tmp_path, 0)) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    asyncio.run(main())
    assert [caller for caller, _ in probe.seen] == ["sync caller", "async caller"]
    for _, enclosing in probe.seen:  # LiteLLM's call encloses what runs in the caller
        assert [type(call).__name__ for call in enclosing] == ["LlmCall"]
        assert enclosing[0].fidelity == _once.FRAMEWORK
    _calls(tmp_path, 2)
    litellm.callbacks.remove(probe)
    litellm.callbacks.append(_probe(sdk=True))
    with ll.run("r"):
        _call(server)
        time.sleep(1.0)  # LiteLLM's report of the call: it must write nothing
    records = _calls(tmp_path, 3)
    assert len(records) == 3 and records[-1]["sdk"] == "yes"
    (run_ok,) = [r for r in read_records(tmp_path) if r["kind"] == "run_ok"]
    assert run_ok["usage"]["llm_calls"] == 1


def test_instrumenting_twice_adds_one_callback(tmp_path: Path, server: FakeLLM) -> None:
    ll.configure(tmp_path)
    before = len(litellm.callbacks)
    ll.instrument_litellm()
    ll.instrument_litellm()
    assert len(litellm.callbacks) == before + 1
    _call(server)
    time.sleep(0.5)
    assert len(_calls(tmp_path)) == 1


def test_litellms_cost_is_taken_only_where_the_price_tables_know_no_price(
    tmp_path: Path, server: FakeLLM
) -> None:
    ll.configure(tmp_path, prices={"house-model": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}})
    ll.instrument_litellm()
    priced = {"input_cost_per_token": 0.5, "output_cost_per_token": 0.25}
    known = _call(server, **priced)  # genai-prices knows gpt-4o-mini: its price is kept
    unknown = _call(server, model="openai/my-finetune", **priced)
    user = _call(server, model="openai/house-model", **priced)
    by_model = {r["gen_ai"]["request"]["model"]: r for r in _calls(tmp_path, 3)}
    assert by_model[MODEL]["cost_source"].startswith("genai-prices"), by_model[MODEL]
    assert by_model[MODEL]["cost_usd"] < known._hidden_params["response_cost"]
    fallback = by_model["my-finetune"]
    assert fallback["cost_source"] == "litellm"
    assert fallback["cost_usd"] == pytest.approx(unknown._hidden_params["response_cost"])
    assert user.usage.prompt_tokens > 0
    assert by_model["house-model"]["cost_source"] == "user prices"
    assert by_model["house-model"]["cost_usd"] > 0


def test_missing_package_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "litellm", None)
    with pytest.raises(ImportError, match=r"pip install 'llmops-logging\[litellm\]'"):
        ll.instrument_litellm()


def test_no_outbound_connection_is_attempted(tmp_path: Path, server: FakeLLM) -> None:
    """Every connection and name lookup of a process that imports litellm and makes calls
    through it, seen by an audit hook: only the fake server's address."""
    call = (
        f"dict(model='openai/{MODEL}', api_base={server.openai_url!r}, api_key='sk-test',"
        " messages=[{'role': 'user', 'content': 'hi'}])"
    )
    script = "\n".join(
        [
            "import sys",
            "seen = []",
            "def hook(event, args):",
            "    if event == 'socket.connect':",
            "        seen.append(repr(args[1]))",
            "    elif event == 'socket.getaddrinfo':",
            "        seen.append(repr(args[0]))",
            "sys.addaudithook(hook)",
            "import asyncio, time",
            "import litellm",
            "import llmops_logging as ll",
            f"ll.configure({str(tmp_path)!r})",
            "ll.instrument_litellm()",
            f"kwargs = {call}",
            "litellm.completion(**kwargs)",
            "asyncio.run(litellm.acompletion(**kwargs))",
            "time.sleep(1.0)",
            "print('SEEN=' + '|'.join(seen))",
        ]
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("SEEN=")]
    targets = set(line.removeprefix("SEEN=").split("|")) - {""}
    assert targets, "no connection seen at all: the hook did not work"
    assert all("127.0.0.1" in target for target in targets), targets
