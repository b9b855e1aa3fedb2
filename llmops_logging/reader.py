"""read_events(): the records of one log, across its rotated and gzipped files, oldest first."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from typing import Any

import orjson

from .handlers import rotated_pattern


def log_files(path: str | os.PathLike[str], live_name: str = "events.jsonl") -> list[str]:
    """The files of a log in write order: rotated by number (gzip preferred), then live."""
    path = os.fspath(path)
    if os.path.isdir(path):
        directory = path
    else:
        directory, live_name = os.path.split(os.path.abspath(path))
    pattern = rotated_pattern(live_name)
    numbered: dict[int, str] = {}
    for name in os.listdir(directory):
        match = pattern.match(name)
        if match and (int(match.group(1)) not in numbered or match.group(2)):
            numbered[int(match.group(1))] = name
    files = [os.path.join(directory, numbered[n]) for n in sorted(numbered)]
    live = os.path.join(directory, live_name)
    if os.path.exists(live):
        files.append(live)
    return files


def read_events(
    path: str | os.PathLike[str], *, run_id: str | None = None, kind: str | None = None
) -> Iterator[dict[str, Any]]:
    """Records in write order; torn or non-JSON lines are skipped."""
    for file in log_files(path):
        opener = gzip.open if file.endswith(".gz") else open
        with opener(file, "rb") as stream:
            for line in stream:
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if not isinstance(record, dict):
                    continue
                if run_id is not None and record.get("run_id") != run_id:
                    continue
                if kind is not None and record.get("kind") != kind:
                    continue
                yield record
