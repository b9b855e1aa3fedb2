"""Files planted under a log's name: the reader never reads another file's lines through a link
and never blocks on a FIFO; it says what it left out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

import llmops_logging as ll

from ..conftest import cli

FOREIGN = b'{"ts":"2026-01-01T00:00:00.000000+00:00","event":"not of this log","secret":"s3"}\n'


def _log(directory: Path) -> None:
    """A log of three rotated files and a live one, records i = 0 .. 39."""
    ll.configure(directory, max_bytes=1000, backup_count=1000)
    log = ll.get_logger("t")
    for i in range(40):
        log.info("rec", i=i, pad="x" * 60)
    ll.reset()


def _victim(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere.jsonl"
    path.write_bytes(FOREIGN * 3)
    return path


def _numbers(directory: Path) -> list[int]:
    return sorted(int(p.name.rsplit(".", 1)[1]) for p in directory.glob("events.jsonl.0*"))


def test_a_link_at_a_rotated_name_is_not_read(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    _log(logs)
    planted = logs / f"events.jsonl.{_numbers(logs)[-1] + 1:06d}"
    planted.symlink_to(_victim(tmp_path))
    events = ll.read_events(logs)
    records = list(events)
    assert [r["i"] for r in records] == list(range(40))
    assert not [r for r in records if r.get("secret")]
    assert any(str(planted) in note and "link" in note for note in events.report.errors)


def test_a_link_at_the_live_name_is_not_read_unless_named(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    victim = _victim(tmp_path)
    (logs / "events.jsonl").symlink_to(victim)
    events = ll.read_events(logs)
    assert list(events) == []
    assert any("link" in note for note in events.report.errors)
    named = list(ll.read_events(logs / "events.jsonl"))  # the user's own choice: followed
    assert [r["secret"] for r in named] == ["s3"] * 3


def test_a_fifo_at_a_rotated_name_does_not_block_the_reader(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    _log(logs)
    fifo = logs / f"events.jsonl.{_numbers(logs)[-1] + 1:06d}"
    os.mkfifo(fifo)
    code = (
        "import sys, orjson, llmops_logging as ll\n"
        "events = ll.read_events(sys.argv[1])\n"
        "print(orjson.dumps({'i': [r['i'] for r in events], 'errors': events.report.errors})"
        ".decode())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(logs)], capture_output=True, timeout=60, check=True
    )  # a reader that opened the FIFO would wait for a writer forever: the timeout fails it
    result = orjson.loads(done.stdout)
    assert result["i"] == list(range(40))
    assert any(str(fifo) in note and "not a regular file" in note for note in result["errors"])


def test_the_cli_names_a_planted_link_and_prints_none_of_its_lines(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    _log(logs)
    planted = logs / f"events.jsonl.{_numbers(logs)[-1] + 1:06d}"
    planted.symlink_to(_victim(tmp_path))
    done = cli("tail", "-n", "100", "--json", logs)
    lines = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert [r["i"] for r in lines] == list(range(40))
    assert str(planted) in done.stderr and "link" in done.stderr
