"""The order the suite runs in: its slowest tests first, spread over the workers.

pytest-xdist's `worksteal` gives each of N workers a contiguous block of the collection (the
first N-1 blocks `len // workers_left` long, the last the rest) and an idle worker then takes the
later half of a busy one's queue. A test of many seconds that starts last keeps one worker busy
while the other has nothing left, so each block starts with its share of the slow tests, dealt
round-robin from the slowest down; every worker computes the same order from the same
collection, as xdist requires.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TypeVar

SLOWEST = (
    # a cold cache (a clean checkout): ~100 s of CPU; else seconds
    "tests/test_lint.py::test_static_checks_pass[mypy]",
    "tests/test_ship_phoenix.py::",  # the Phoenix server's start: ~20 s of CPU
    "tests/test_agent_examples.py::test_the_openai_agents_demo",
    "tests/report/test_report_hostile.py::test_a_hostile_log_makes_no_request",
    "tests/test_ship.py::test_ship_killed_at_random_points",
    "tests/test_llm_litellm.py::test_no_outbound_connection_is_attempted",
    "tests/export/test_export_path_budget.py::",
    "tests/report/test_report_hostile.py::test_the_policy_blocks_every_load",
    "tests/test_example_agent.py::",
    "tests/report/test_report_scores.py::test_a_hostile_score_name",
    "tests/test_ship.py::test_ship_retries_through",
    "tests/export/test_export_otlp.py::test_a_run_past_the_span_limit",
    "tests/test_agent_examples.py::test_the_pydantic_ai_demo",
    "tests/reader/test_reader.py::test_a_huge_line_and_a_gzip_bomb",
    "tests/test_example_eval.py::",
    "tests/test_example_langgraph.py::",
    "tests/cli/test_cli_validate.py::test_random_records",
    "tests/test_values.py::test_generated_values",
    "tests/report/test_report.py::test_the_timeline_shows",
    "tests/report/test_report.py::test_report_renders_in_chromium",
    "tests/report/test_report_figures.py::test_equal_small_costs",
    "tests/export/test_export_parquet.py::test_top_level_fields_beyond_the_cap",
    "tests/test_smoke.py::",
    "tests/cli/test_cli_follow.py::test_follow_from_the_start_across_rotations",
    "tests/writer/test_fork_safety.py::",
    "tests/test_export_concurrent.py::",
)
"""Node-id prefixes, slowest first (wall time and CPU in runs of the suite): a module with one
of them runs early, in the block it is dealt to."""

Item = TypeVar("Item")


def _rank(nodeid: str) -> int:
    for rank, prefix in enumerate(SLOWEST):
        if nodeid.startswith(prefix):
            return rank
    return len(SLOWEST)


def slowest_first(items: Sequence[Item], nodeids: Sequence[str]) -> list[Item]:
    """`items` (whose node ids are `nodeids`) reordered: each worker's block starts with its
    share of the modules that hold slow tests, dealt round-robin from the slowest down. A
    module's tests stay together and in order, so a module-scoped fixture is made once."""
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    modules: dict[str, list[int]] = {}
    for i, nodeid in enumerate(nodeids):
        modules.setdefault(nodeid.split("::")[0], []).append(i)
    rank = {name: min(_rank(nodeids[i]) for i in tests) for name, tests in modules.items()}
    slow = sorted((name for name in modules if rank[name] < len(SLOWEST)), key=rank.__getitem__)
    rest = [i for name, tests in modules.items() if rank[name] == len(SLOWEST) for i in tests]
    order: list[int] = []
    left = len(items)
    for worker in range(workers):
        size = left // (workers - worker)  # as worksteal sizes its first blocks
        left -= size
        block = [i for name in slow[worker::workers] for i in modules[name]]
        fill = max(0, size - len(block))
        order += block + rest[:fill]
        del rest[:fill]
    return [items[i] for i in order + rest]
