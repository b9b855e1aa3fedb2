"""cost_usd: genai-prices' bundled table, the user's own prices, and no cost when unknown."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import genai_prices
import pytest

import llmops_logging as ll
from llmops_logging import _price_table

from ..conftest import read_records


@pytest.fixture(autouse=True)
def _table_loaded() -> Iterator[None]:
    """These tests price from the table: let its background load end first."""
    _price_table.preload()
    assert _price_table.loaded.wait(120)
    yield


def _record(log_dir: Path, model: str, provider: str, **usage: int) -> dict[str, Any]:
    with ll.llm_call(model, provider=provider) as call:
        call.set_usage(**usage)
    return [r for r in read_records(log_dir) if r["kind"] == "llm_call"][-1]


def test_a_known_model_is_priced_from_the_bundled_table(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    record = _record(tmp_path, "gpt-4o-mini", "openai", input_tokens=1000, output_tokens=200)
    expected = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=1000, output_tokens=200), "gpt-4o-mini",
        provider_id="openai",
    ).total_price  # fmt: skip
    assert record["cost_usd"] == pytest.approx(float(expected)) and record["cost_usd"] > 0
    assert record["cost_source"] == f"genai-prices {genai_prices.__version__}"


def test_cached_input_is_priced_at_the_cache_rate(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    plain = _record(tmp_path, "claude-sonnet-4-5", "anthropic", input_tokens=10_000)
    cached = _record(
        tmp_path, "claude-sonnet-4-5", "anthropic", input_tokens=10_000,
        cache_read_input_tokens=9_000,
    )  # fmt: skip
    assert 0 < cached["cost_usd"] < plain["cost_usd"]


def test_an_unknown_model_has_no_cost_not_zero(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    record = _record(tmp_path, "my-finetune-7b", "openai", input_tokens=10, output_tokens=10)
    assert "cost_usd" not in record and "cost_source" not in record


def test_a_call_without_token_counts_has_no_cost(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    record = _record(tmp_path, "gpt-4o-mini", "openai")
    assert "cost_usd" not in record


def test_user_prices_price_private_models_and_win_over_the_table(tmp_path: Path) -> None:
    ll.configure(
        tmp_path,
        prices={
            "my-model": {"input_per_mtok": 2.0, "output_per_mtok": 8.0, "cache_read_per_mtok": 0.5},
            "gpt-4o-mini": {"input_per_mtok": 100.0, "output_per_mtok": 100.0},
        },
    )
    mine = _record(
        tmp_path, "my-model", "local", input_tokens=1_000_000, output_tokens=500_000,
        cache_read_input_tokens=400_000,
    )  # fmt: skip
    assert mine["cost_usd"] == pytest.approx(0.6 * 2.0 + 0.4 * 0.5 + 0.5 * 8.0)
    assert mine["cost_source"] == "user prices"
    override = _record(tmp_path, "gpt-4o-mini", "openai", input_tokens=10_000)
    assert override["cost_usd"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "prices",
    [
        {"m": {"input_per_mtok": 1.0}},
        {"m": {"input_per_mtok": 1.0, "output_per_mtok": -1}},
        {"m": {"input_per_mtok": 1.0, "output_per_mtok": "2"}},
        {"m": {"input_per_mtok": 1.0, "output_per_mtok": 2.0, "input_per_tok": 3.0}},
        {"m": 1.0},
    ],
)
def test_malformed_user_prices_are_refused_at_configure(tmp_path: Path, prices: Any) -> None:
    with pytest.raises(ValueError, match="prices"):
        ll.configure(tmp_path, prices=prices)


@pytest.mark.parametrize(
    ("provider", "model", "tokens"),
    [
        ("openai", "gpt-4o-mini", [(1000, 200, 0, 0), (52_000, 7, 50_000, 0), (3, 90_000, 0, 0)]),
        ("anthropic", "claude-sonnet-4-6", [(130_000, 5000, 100_000, 10_000), (20, 5, 0, 0)]),
        # tiered: above 200k input tokens every token costs more
        ("gcp.gemini", "gemini-2.5-pro", [(1000, 10, 0, 0), (300_000, 10, 0, 0), (10, 10, 0, 0)]),
    ],
)
def test_costs_match_genai_prices_for_every_call_of_a_model(
    tmp_path: Path, provider: str, model: str, tokens: list[tuple[int, int, int, int]]
) -> None:
    """Rates kept per model after its first call must price later calls as the table does."""
    ll.configure(tmp_path)
    provider_id = {"gcp.gemini": "google"}.get(provider, provider)
    for input_tokens, output_tokens, cache_read, cache_write in tokens:
        record = _record(
            tmp_path, model, provider, input_tokens=input_tokens, output_tokens=output_tokens,
            cache_read_input_tokens=cache_read or None,
            cache_creation_input_tokens=cache_write or None,
        )  # fmt: skip
        usage = genai_prices.Usage(
            input_tokens=input_tokens, output_tokens=output_tokens,
            cache_read_tokens=cache_read or None, cache_write_tokens=cache_write or None,
        )  # fmt: skip
        expected = genai_prices.calc_price(usage, model, provider_id=provider_id).total_price
        assert record["cost_usd"] == pytest.approx(float(expected), rel=1e-9)


_SLOW_TABLE = """
import importlib.abc, sys, threading
import llmops_logging as ll
from llmops_logging import _price_table
release = threading.Event()

class SlowTable(importlib.abc.MetaPathFinder):  # genai_prices takes as long as the test says
    def find_spec(self, name, path=None, target=None):
        if name == "genai_prices":
            release.wait(20)
        return None

sys.meta_path.insert(0, SlowTable())
ll.configure(sys.argv[1])
with ll.llm_call("gpt-4o-mini", provider="openai", n=1) as call:
    call.set_usage(100, 10)
print("returned before the table", not release.is_set())
release.set()
assert _price_table.loaded.wait(60)
with ll.llm_call("gpt-4o-mini", provider="openai", n=2) as call:
    call.set_usage(100, 10)
"""


def test_a_call_never_waits_for_the_price_table_to_load(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", _SLOW_TABLE, str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=True, env=env,
    )  # fmt: skip
    assert done.stdout.strip() == "returned before the table True"
    first, second = [r for r in read_records(tmp_path) if r["kind"] == "llm_call"]
    assert "cost_usd" not in first and first["cost_note"] == _price_table.LOADING_NOTE
    assert second["cost_usd"] > 0 and "cost_note" not in second


_EXIT_WHILE_LOADING = """
import importlib.abc, pathlib, sys, time
import llmops_logging as ll
marker = pathlib.Path(sys.argv[1]) / "loaded"

class SlowTable(importlib.abc.MetaPathFinder):  # genai_prices takes a second, then is there
    def find_spec(self, name, path=None, target=None):
        if name == "genai_prices":
            time.sleep(1.0)
            marker.write_text("the load ran to its end")
        return None

sys.meta_path.insert(0, SlowTable())
ll.configure(sys.argv[1])
with ll.llm_call("gpt-4o-mini", provider="openai") as call:
    call.set_usage(100, 10)
"""


def test_a_process_that_exits_while_the_table_loads_lets_the_load_end_first(
    tmp_path: Path,
) -> None:
    """Python (before 3.14) stops a daemon thread at exit wherever it stands; one stopped
    inside the compiled code that importing genai-prices runs (pydantic-core) aborted the
    process with SIGABRT ("FATAL: exception not rethrown"). The exit waits for the load."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", _EXIT_WHILE_LOADING, str(tmp_path)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "loaded").read_text() == "the load ran to its end"
    (record,) = [r for r in read_records(tmp_path) if r["kind"] == "llm_call"]
    assert record["cost_note"] == _price_table.LOADING_NOTE
