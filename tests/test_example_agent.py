"""examples/agent.py: a short agent against the local fake LLM server, run as a new user would."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import genai_prices
import pytest

from .conftest import assert_contract, cli, read_records

ROOT = Path(__file__).resolve().parent.parent


def _user_env() -> dict[str, str]:
    """The environment of a new user: no API key, no log directory set."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.pop("LLMOPS_LOG_DIR", None)
    return env


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One run of the example, as a new user starts it: its data directory and what it printed.
    The README's test takes a copy of it as its first run (an interpreter start with the SDKs
    costs seconds)."""
    data = tmp_path_factory.mktemp("agent")
    done = subprocess.run(
        [sys.executable, "examples/agent.py", "--data-dir", str(data)],
        cwd=ROOT, env=_user_env(), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return data, done.stdout


def test_the_agent_example_logs_its_steps_calls_and_totals(first_run: tuple[Path, str]) -> None:
    data, printed = first_run
    raw = data / "raw_events"
    assert f"log: {raw / 'events.jsonl'}" in printed
    assert f"llmops-logs stats --by gen_ai.request.model {raw}" in printed

    records = read_records(raw)
    for record in records:
        assert_contract(record)
    (start,) = [r for r in records if r["kind"] == "run_start"]
    (end,) = [r for r in records if r["kind"] == "run_ok"]
    mine = [r for r in records if r["run_id"] == start["run_id"]]
    steps = {r["name"]: r for r in mine if r["kind"] in ("step_ok", "step_error")}
    assert list(steps) == ["plan", "tool", "answer", "review", "translate"]
    assert steps["translate"]["kind"] == "step_error"
    assert steps["tool"]["tool"] == "get_order_status"

    calls = [r for r in mine if r["kind"] == "llm_call"]
    providers = [(c["gen_ai"]["provider"]["name"], c["parent_id"]) for c in calls]
    assert providers == [
        ("openai", steps["plan"]["step_id"]),
        ("anthropic", steps["answer"]["step_id"]),
        ("anthropic", steps["review"]["step_id"]),
        ("openai", steps["translate"]["step_id"]),
    ]
    plan, streamed, plain, failed = calls
    assert plan["gen_ai"]["response"]["finish_reasons"] == ["tool_calls"]
    assert "ttft_s" in streamed and "ttft_s" not in plain
    assert streamed["gen_ai"]["usage"]["output_tokens"] > 0
    assert failed["level"] == "error" and failed["error"]["status_code"] == 404
    assert end["usage"]["llm_calls"] == 4
    assert end["usage"]["input_tokens"] == sum(
        c["gen_ai"].get("usage", {}).get("input_tokens", 0) for c in calls
    )
    priced = [c["cost_usd"] for c in calls if "cost_usd" in c]
    assert len(priced) == 3 and abs(end["usage"]["cost_usd"] - sum(priced)) < 1e-12
    assert not any(r["logger"].startswith("httpx") for r in records)  # levels= quiets them

    by_model = cli("stats", "--by", "gen_ai.request.model", "--json", raw).stdout
    groups = {g["key"]: g for g in json.loads(by_model)["groups"]}
    assert set(groups) == {"gpt-4o-mini", "claude-haiku-4-5", "no-such-model"}
    assert groups["claude-haiku-4-5"]["output_tokens"] == sum(
        c["gen_ai"]["usage"]["output_tokens"] for c in (streamed, plain)
    )
    failed_group = groups["no-such-model"]  # no tokens reported: none shown, not 0
    assert failed_group["errors"] == 1 and failed_group["input_tokens"] is None
    assert failed_group["cost_usd"] is None


MASKS = (
    (re.compile(r"\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\b"), "<time>"),
    (re.compile(r"(?<![\w.])\d+(\.\d+)?(ms|s)\b"), "<duration>"),
    (re.compile(r"\b[0-9a-f]{8}\b"), "<run>"),
    (re.compile(r"─+"), "<rule>"),  # as wide as the columns, which the durations widen
)
PRICES = re.compile(r"prices from genai-prices ([0-9][\w.]*)")


def _normalized(text: str, costs: bool) -> list[str]:
    """Lines with times, durations and run ids masked and column padding collapsed; costs
    masked too when the price table differs from the README's."""
    lines = []
    for line in text.strip().splitlines():
        for pattern, mask in MASKS:
            line = pattern.sub(mask, line)
        if not costs:
            line = re.sub(r"(>=)?\$\d+\.\d+", "<cost>", line)
        lines.append(" ".join(line.split()))
    return lines


def test_the_readme_shows_what_the_agent_example_prints(
    first_run: tuple[Path, str], tmp_path: Path
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Seeing LLM calls from the terminal") :]
    block = section[section.index("```console\n") + len("```console\n") :]
    block = block[: block.index("```")]
    prices = PRICES.search(section[: section.index("```console")])
    assert prices, "the README names the price table its figures come from"
    env = _user_env()
    shutil.copytree(first_run[0], tmp_path / "data")  # "After two runs": the first, and one more
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "agent.py"), "--data-dir", "data"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = re.split(r"^\$ llmops-logs (.*)$", block, flags=re.M)
    assert shown[0].strip() == "" and len(shown) == 7, block  # three commands and outputs
    same_prices = genai_prices.__version__ == prices.group(1)
    for command, output in zip(shown[1::2], shown[2::2], strict=True):
        printed = cli(*command.split(), cwd=tmp_path, env=env).stdout
        assert _normalized(printed, same_prices) == _normalized(output, same_prices), command


BLOCK_SDK = """
import importlib.abc, runpy, sys
class NoSdk(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("anthropic", "openai"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoSdk())
sys.path.insert(0, "examples")
sys.argv = ["examples/agent.py", "--data-dir", sys.argv[1]]
runpy.run_path("examples/agent.py", run_name="__main__")
"""


def test_the_agent_example_without_the_sdks_names_the_extra_that_brings_them(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_SDK, str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert "pip install -e '.[examples]'" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (extra,) = re.findall(r"^examples = \[(.*)\]$", pyproject, re.M)
    assert '"openai' in extra and '"anthropic' in extra and "llm" in extra
