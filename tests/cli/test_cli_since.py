"""`--since` / `--until` with a relative age (`30s`, `15m`, `2h`, `7d`, `1w`): an age counts back
from now, so `--since 2h` keeps the records of the last two hours and nothing older.

The log is written here line by line in the contract's format, with `ts` at known instants in
the past; every age tested is tens of minutes away from the nearest record, so the seconds the
command takes to start do not matter.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ..conftest import cli

AGES = {  # label: how long before the test ran the record was written
    "1m": timedelta(minutes=1),
    "10m": timedelta(minutes=10),
    "45m": timedelta(minutes=45),
    "90m": timedelta(minutes=90),
    "3h": timedelta(hours=3),
    "25h": timedelta(hours=25),
    "6d": timedelta(days=6),
    "8d": timedelta(days=8),
}
RUN_ID = str(uuid.UUID(int=7, version=4))


@pytest.fixture(scope="module")
def aged_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log_dir = tmp_path_factory.mktemp("aged") / "raw_events"
    log_dir.mkdir()
    now = datetime.now(timezone.utc)
    oldest_first = sorted(AGES.items(), key=lambda item: item[1], reverse=True)
    with open(log_dir / "events.jsonl", "w", encoding="utf-8") as out:
        for seq, (label, age) in enumerate(oldest_first, 1):
            record = {
                "ts": (now - age).isoformat(timespec="microseconds"),
                "run_id": RUN_ID,
                "event": f"written {label} ago",
                "kind": "log",
                "level": "info",
                "logger": "aged",
                "event_id": f"aged-{seq}",
                "seq": seq,
                "pid": 4242,
                "age": label,
            }
            out.write(json.dumps(record) + "\n")
    return log_dir


def kept(log_dir: Path, *filters: str) -> set[str]:
    done = cli("tail", "--json", "-n", "1000", *filters, log_dir)
    return {json.loads(line)["age"] for line in done.stdout.splitlines()}


def test_the_fixture_holds_every_age(aged_log: Path) -> None:
    assert kept(aged_log) == set(AGES)


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("300s", {"1m"}),
        ("30m", {"1m", "10m"}),
        ("2h", {"1m", "10m", "45m", "90m"}),
        ("24h", {"1m", "10m", "45m", "90m", "3h"}),
        ("2d", {"1m", "10m", "45m", "90m", "3h", "25h"}),
        ("7d", set(AGES) - {"8d"}),
        ("1w", set(AGES) - {"8d"}),
    ],
)
def test_since_an_age_keeps_what_is_younger(aged_log: Path, since: str, expected: set[str]) -> None:
    assert kept(aged_log, "--since", since) == expected


def test_until_an_age_keeps_what_is_older(aged_log: Path) -> None:
    assert kept(aged_log, "--until", "2h") == {"3h", "25h", "6d", "8d"}
    assert kept(aged_log, "--since", "2d", "--until", "1h") == {"90m", "3h", "25h"}


def test_ages_work_alike_on_every_command(aged_log: Path) -> None:
    stats = json.loads(cli("stats", "--by", "event", "--json", "--since", "2h", aged_log).stdout)
    assert sorted(group["key"] for group in stats["groups"]) == sorted(
        f"written {label} ago" for label in ("1m", "10m", "45m", "90m")
    )
