"""`stats` percentiles past the exact range: exact up to 4,096 durations per group, then within
0.5% of the exact value, marked `~` in the table.

The durations are known here (a fixed seed) and the expected percentiles come from numpy and
`statistics` over the same list, both with linear interpolation between order statistics.
"""

from __future__ import annotations

import json
import math
import random
import statistics
from fractions import Fraction
from pathlib import Path

import numpy
import pytest

from ..conftest import cli, table

CLAIM = 0.005  # the README's "within 0.5%"


def _durations(seed: int, n: int) -> list[float]:
    """Durations in seconds as LLM steps give them: a lognormal body, a slow tail, some
    sub-millisecond cache hits; spread over six decades so every bucket size is exercised."""
    rng = random.Random(seed)
    values = []
    for _ in range(n):
        draw = rng.random()
        if draw < 0.1:
            values.append(rng.uniform(20e-6, 900e-6))
        elif draw < 0.9:
            values.append(rng.lognormvariate(math.log(0.8), 0.6))
        else:
            values.append(rng.uniform(5.0, 60.0))
    return values


def _write_log(log_dir: Path, groups: dict[str, list[float]]) -> None:
    log_dir.mkdir(parents=True)
    seq = 0
    with open(log_dir / "events.jsonl", "w", encoding="utf-8") as out:
        for name, durations in groups.items():
            for duration in durations:
                seq += 1
                record = {
                    "ts": f"2026-11-26T13:{seq // 60_000 % 60:02d}:00.{seq % 60_000:06d}+00:00",
                    "run_id": "3f2b5a4e-8c1d-4e7f-9a6b-0c5d4e3f2a1b",
                    "event": "step_ok",
                    "kind": "step_ok",
                    "level": "info",
                    "logger": "llmops_logging",
                    "event_id": f"p-{seq}",
                    "seq": seq,
                    "pid": 99,
                    "name": name,
                    "step_id": f"s{seq}",
                    "duration_s": duration,
                }
                out.write(json.dumps(record) + "\n")


def _expected(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    by_numpy = numpy.percentile(values, [50, 95, 99])
    expected = {"p50_s": cuts[49], "p95_s": cuts[94], "p99_s": cuts[98]}
    # The two references agree with each other (to rounding) before they judge the CLI.
    assert list(expected.values()) == pytest.approx(list(by_numpy), rel=1e-12)
    return expected


@pytest.fixture(scope="module")
def groups(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[float]]]:
    data = {
        "many": _durations(1, 20_000),
        "just_over": _durations(2, 4_097),
        "at_limit": _durations(3, 4_096),
        "narrow": [0.250 + i * 1e-6 for i in range(6_000)],  # all inside a few buckets
    }
    log_dir = tmp_path_factory.mktemp("percentiles") / "raw_events"
    _write_log(log_dir, data)
    return log_dir, data


def _rows(log_dir: Path) -> dict[str, dict[str, object]]:
    report = json.loads(cli("stats", "--json", log_dir).stdout)
    return {str(row["key"]): row for row in report["groups"]}


def test_past_the_exact_range_percentiles_are_within_half_a_percent(
    groups: tuple[Path, dict[str, list[float]]],
) -> None:
    log_dir, data = groups
    rows = _rows(log_dir)
    assert set(rows) == {f"step {name}" for name in data}
    for name in ("many", "just_over", "narrow"):
        row, values = rows[f"step {name}"], data[name]
        assert row["durations"] == row["records"] == len(values)
        assert row["exact"] is False
        assert row["max_s"] == max(values)
        for key, want in _expected(values).items():
            got = row[key]
            assert isinstance(got, float)
            assert abs(got / want - 1) <= CLAIM, (name, key, got, want)


def test_up_to_the_limit_percentiles_are_exact(
    groups: tuple[Path, dict[str, list[float]]],
) -> None:
    log_dir, data = groups
    row = _rows(log_dir)["step at_limit"]
    assert row["durations"] == 4_096 and row["exact"] is True
    for key, want in _expected(data["at_limit"]).items():
        assert row[key] == pytest.approx(want, rel=1e-12), key


def test_the_table_marks_estimates_with_a_tilde(
    groups: tuple[Path, dict[str, list[float]]],
) -> None:
    log_dir, _ = groups
    rows = {row[0]: row for row in table(cli("stats", log_dir).stdout)[1:]}
    assert all(cell.startswith("~") for cell in rows["step many"][4:7])
    assert not any(cell.startswith("~") for cell in rows["step at_limit"][4:8])
    assert not rows["step many"][7].startswith("~")  # max is always exact


def _exact_percentile(values: list[float], q: float) -> float:
    """Linear interpolation between order statistics, in exact arithmetic."""
    ordered = sorted(values)
    rank = Fraction(q) * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return float(
        Fraction(ordered[low]) + (Fraction(ordered[high]) - Fraction(ordered[low])) * (rank - low)
    )


def test_percentiles_between_durations_whose_difference_overflows_are_finite(
    tmp_path: Path,
) -> None:
    """Finite durations at both ends of the float range (a foreign writer's; the gap between
    them is beyond the largest float): each percentile is the interpolation of the logged
    values, not infinity or NaN."""
    data = {"wide": [-1.7e308, 1.7e308], "wider": [-1.7e308, -1e308, 0.5, 1.6e308, 1.7e308]}
    _write_log(tmp_path / "raw_events", data)
    rows = _rows(tmp_path / "raw_events")
    for name, values in data.items():
        row = rows[f"step {name}"]
        for key, q in (("p50_s", 0.50), ("p95_s", 0.95), ("p99_s", 0.99)):
            assert row[key] == pytest.approx(_exact_percentile(values, q), rel=1e-12), (name, key)
