"""Shared fixtures: every test leaves logging unconfigured; helpers read logs back raw."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmops_logging as ll

CONTRACT_FIELDS = {
    "ts": str,
    "run_id": str,
    "event": str,
    "kind": str,
    "level": str,
    "logger": str,
    "event_id": str,
    "seq": int,
    "pid": int,
}
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")


@pytest.fixture(autouse=True)
def _unconfigured() -> Iterator[None]:
    ll.reset()
    yield
    ll.reset()


def log_files(log_dir: Path, live: str = "events.jsonl") -> list[Path]:
    """Files of the log in write order, by the naming contract, without the library's reader."""
    rotated = []
    for path in log_dir.glob(f"{live}.*"):
        match = re.fullmatch(re.escape(live) + r"\.(\d+)(\.gz)?", path.name)
        assert match, f"unexpected file under the log's glob: {path.name}"
        rotated.append((int(match.group(1)), path))
    files = [p for _, p in sorted(rotated)]
    if (log_dir / live).exists():
        files.append(log_dir / live)
    return files


def raw_lines(path: Path) -> list[bytes]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as stream:
        data = stream.read()
    assert not data or data.endswith(b"\n"), f"{path} ends in a partial line"
    return data.splitlines()


def read_records(log_dir: Path, live: str = "events.jsonl") -> list[dict[str, Any]]:
    """Every line of every file of the log, parsed with the stdlib (strict JSON, no NaN)."""
    records = []
    for path in log_files(log_dir, live):
        for line in raw_lines(path):
            records.append(json.loads(line, parse_constant=_reject_constant))
    return records


def _reject_constant(token: str) -> Any:
    raise ValueError(f"non-strict JSON token {token}")


def assert_contract(record: dict[str, Any]) -> None:
    for field, kind in CONTRACT_FIELDS.items():
        assert isinstance(record.get(field), kind), (field, record)
    assert TS_RE.match(record["ts"]), record["ts"]
    assert record["level"] in {"debug", "info", "warning", "error", "critical"}
