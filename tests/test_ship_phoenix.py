"""End to end into a real Phoenix: `ship` into `phoenix serve` (started on 127.0.0.1 from the
executable `LLMOPS_PHOENIX` names; arize-phoenix lives in a virtual environment of its own,
since it pins dependencies the dev extra cannot share), then Phoenix's REST API shows every run
as a trace with the right parents, the LLM, TOOL and AGENT span kinds, and per trace the tokens
and cost `llmops-logs runs --json` reports. Without Phoenix the tests skip, except in CI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import cli
from .test_ship import ENV, ROOT, app

STARTUP_S = 600  # measured: 15 s on a quiet machine, 146 s with the machine's load near 13


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a Phoenix started for this module, stopped by its pid afterwards (or of
    one already running, named by `LLMOPS_PHOENIX_URL`)."""
    if os.environ.get("LLMOPS_PHOENIX_URL"):
        yield os.environ["LLMOPS_PHOENIX_URL"].rstrip("/")
        return
    executable = os.environ.get("LLMOPS_PHOENIX", "")
    if not executable or not os.access(executable, os.X_OK):
        reason = "set LLMOPS_PHOENIX to the phoenix executable (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"Phoenix is required in CI: {reason}")
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("phoenix")
    port = _free_port()
    env = {
        **ENV, "PHOENIX_HOST": "127.0.0.1", "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(_free_port()), "PHOENIX_WORKING_DIR": str(work),
    }  # fmt: skip
    env.pop("PYTHONPATH", None)
    with open(work / "phoenix.log", "wb") as log:
        server = subprocess.Popen([executable, "serve"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=5):
                    break
            except OSError:
                assert server.poll() is None, (work / "phoenix.log").read_text()[-2000:]
                assert time.monotonic() - started < STARTUP_S, "Phoenix did not start"
                time.sleep(0.5)
        print(f"Phoenix started in {time.monotonic() - started:.1f} s")
        yield base
    finally:
        os.kill(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.wait()


def spans_of(base: str, project: str, expected: int) -> list[dict[str, Any]]:
    """Every span of the project, once Phoenix has stored `expected` of them."""
    deadline = time.monotonic() + 120
    while True:
        spans: list[dict[str, Any]] = []
        cursor = None
        while True:
            url = f"{base}/v1/projects/{project}/spans?limit=1000"
            try:
                page = _get(url + (f"&cursor={cursor}" if cursor else ""))
            except urllib.error.HTTPError as exc:
                if exc.code != 404:  # the project, before its first span is stored
                    raise
                page = {"data": []}
            spans += page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        if len(spans) >= expected or time.monotonic() > deadline:
            return spans
        time.sleep(0.5)


def test_phoenix_shows_every_run_as_a_trace_with_kinds_tokens_and_cost(
    tmp_path: Path, phoenix: str
) -> None:
    log_dir = tmp_path / "logs"
    project = f"ship-{uuid.uuid4().hex[:8]}"
    app(log_dir, 6)
    done = subprocess.run(
        [sys.executable, "-m", "llmops_logging.cli", "ship", str(log_dir), "--preset", "phoenix",
         "--to", phoenix, "--project", project, "--once", "--checkpoint",
         str(tmp_path / "c.json")],
        env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    spans = spans_of(phoenix, project, 6 * 4)
    assert len(spans) == 6 * 4
    runs = json.loads(cli("runs", log_dir, "--json", env=ENV).stdout)["runs"]
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        by_trace.setdefault(span["context"]["trace_id"], []).append(span)
    assert {run["run_id"].replace("-", "") for run in runs} == set(by_trace)
    for run in runs:
        trace = {s["name"]: s for s in by_trace[run["run_id"].replace("-", "")]}
        assert set(trace) == {"run support", "invoke_agent helper", "chat gpt-4o-mini",
                              "execute_tool lookup"}  # fmt: skip
        root, agent = trace["run support"], trace["invoke_agent helper"]
        llm, tool = trace["chat gpt-4o-mini"], trace["execute_tool lookup"]
        assert root["parent_id"] is None
        assert agent["parent_id"] == root["context"]["span_id"]
        assert llm["parent_id"] == tool["parent_id"] == agent["context"]["span_id"]
        kinds = [s["span_kind"] for s in (root, agent, llm, tool)]
        assert kinds == ["CHAIN", "AGENT", "LLM", "TOOL"]
        assert llm["attributes"]["llm.token_count.prompt"] == run["input_tokens"]
        assert llm["attributes"]["llm.token_count.completion"] == run["output_tokens"]
        assert llm["attributes"]["gen_ai.usage.cost"] == pytest.approx(run["cost_usd"], rel=1e-9)
        assert all(s["status_code"] == "OK" for s in trace.values())
