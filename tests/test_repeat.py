"""repeat(): one run per item and seed, failures as failed runs, sync, threads and tasks."""

from __future__ import annotations

import asyncio
import random
import threading
from pathlib import Path
from typing import Any

import pytest

import llmops_logging as ll

from .conftest import read_records

ITEMS = [{"id": "q1", "text": "a"}, {"id": "q2", "text": "b"}]


def _runs(log_dir: Path) -> dict[str, dict[str, Any]]:
    records = read_records(log_dir)
    starts = {r["run_id"]: r for r in records if r["kind"] == "run_start"}
    for r in records:
        if r["kind"] in ("run_ok", "run_error"):
            starts[r["run_id"]]["end"] = r["kind"]
    return starts


def test_each_item_and_seed_is_a_run_and_an_exception_fails_only_its_run(tmp_path: Path) -> None:
    ll.configure(tmp_path)

    def task(item: dict[str, str], seed: int) -> bool:
        if item["id"] == "q2" and seed == 1:
            raise RuntimeError("flaky")
        ok = random.Random(seed).random() < 0.7
        ll.score("correct", ok)
        return ok

    outcomes = ll.repeat(task, n=3, items=ITEMS, name="qa")
    assert [(o.item["id"], o.seed, o.repetition) for o in outcomes] == [
        ("q1", 0, 0), ("q1", 1, 1), ("q1", 2, 2), ("q2", 0, 0), ("q2", 1, 1), ("q2", 2, 2),
    ]  # fmt: skip
    failed = outcomes[4]
    assert not failed.ok and isinstance(failed.error, RuntimeError) and failed.result is None
    assert [o.result for o in outcomes if o.ok] == [
        random.Random(s).random() < 0.7 for s in (0, 1, 2, 0, 2)
    ]
    runs = _runs(tmp_path)
    assert len(runs) == 6
    for outcome in outcomes:
        run = runs[outcome.run_id]
        assert run["name"] == "qa" and run["seed"] == outcome.seed
        assert run["item"] == outcome.item["id"] and run["repetition"] == outcome.repetition
        assert run["end"] == ("run_ok" if outcome.ok else "run_error")
    scores = [r for r in read_records(tmp_path) if r["kind"] == "score"]
    assert {r["run_id"] for r in scores} == {o.run_id for o in outcomes if o.ok}


def test_seeds_given_and_items_absent(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    outcomes = ll.repeat(lambda item, seed: seed * 2, seeds=[5, 9])
    assert [(o.item, o.seed, o.repetition, o.result) for o in outcomes] == [
        (None, 5, 0, 10),
        (None, 9, 1, 18),
    ]
    runs = _runs(tmp_path)
    assert all("item" not in r and r["name"] == "<lambda>" for r in runs.values())
    with pytest.raises(ValueError, match="n=3 does not match"):
        ll.repeat(lambda item, seed: None, n=3, seeds=[1])


def test_threads_run_at_once_and_each_keeps_its_run(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    barrier = threading.Barrier(2, timeout=60)

    def task(item: str, seed: int) -> str:
        barrier.wait()  # both repetitions of a pair are running at the same time
        ll.score("seed", seed)
        return threading.current_thread().name

    outcomes = ll.repeat(task, n=4, items=["a"], concurrency=2)
    assert all(o.ok for o in outcomes)
    scores = {r["run_id"]: r["gen_ai"]["evaluation"]["score"]["value"] for r in
              read_records(tmp_path) if r["kind"] == "score"}  # fmt: skip
    assert scores == {o.run_id: o.seed for o in outcomes}


def test_a_coroutine_function_runs_as_tasks_with_bounded_concurrency(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    running = 0
    most = 0

    async def task(item: str, seed: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1
        if seed == 2:
            raise ValueError("bad seed")
        ll.score("ok", True)
        return seed

    outcomes = asyncio.run(ll.repeat(task, n=4, items=["x", "y"], concurrency=3))
    assert most == 3
    assert [o.result for o in outcomes] == [0, 1, None, 3, 0, 1, None, 3]
    assert [o.ok for o in outcomes].count(False) == 2
    runs = _runs(tmp_path)
    assert sorted((r["item"], r["seed"], r["end"]) for r in runs.values()) == sorted(
        (o.item, o.seed, "run_ok" if o.ok else "run_error") for o in outcomes
    )


def test_fields_given_go_on_every_run_beside_its_own(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    ll.repeat(lambda item, seed: None, n=2, items=["a"], version="v2", seed="mine")
    runs = _runs(tmp_path).values()
    assert sorted((r["version"], r["seed"], r["user_seed"], r["item"]) for r in runs) == [
        ("v2", 0, "mine", "a"),
        ("v2", 1, "mine", "a"),
    ]
