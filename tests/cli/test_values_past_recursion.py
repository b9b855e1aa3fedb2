"""Values nested deeper than Python's `str` can recurse (a record may nest 1,024 levels, as
deep as orjson reads) in the fields the commands show or name spans by: a run's, step's or
score's name, a level, an event, an error's type and message, a call's tokens. Every command
still reads the log to the end, with no traceback."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from llmops_logging.cli.validate import TOO_DEEP_TO_QUOTE

from .._otlp_receiver import Receiver
from ..conftest import cli

DEPTH = 1_015


def _deep(text: str) -> str:
    """JSON text of an object `DEPTH` levels deep (Python's encoder cannot write it)."""
    return '{"d":' * DEPTH + json.dumps(text) + "}" * DEPTH


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("deep") / "logs"
    directory.mkdir(mode=0o700)
    at = "2026-01-01T00:00:0{}.000000+00:00"
    records: list[tuple[dict[str, Any], str, str]] = [
        ({"ts": at.format(0), "run_id": "r", "kind": "run_start", "event": "e"}, "name", "run"),
        (
            {
                "ts": at.format(1),
                "run_id": "r",
                "kind": "step_start",
                "event": "e",
                "step_id": "s",
                "level": "info",
            },
            "name",
            "step",
        ),
        (
            {"ts": at.format(2), "run_id": "r", "kind": "log", "event": "e", "step_id": "s"},
            "level",
            "level",
        ),
        ({"ts": at.format(2), "run_id": "r", "kind": "log", "level": "info"}, "event", "event"),
        (  # a call outside any step: grouped by `stats` under its event, a root's event
            {"ts": at.format(2), "run_id": "r", "kind": "llm_call", "level": "info"},
            "event",
            "call",
        ),
        (
            {"ts": at.format(2), "run_id": "r", "kind": "llm_call", "step_id": "c", "event": "e"},
            "gen_ai.usage.input_tokens",
            "tokens",
        ),
        (
            {
                "ts": at.format(3),
                "run_id": "r",
                "kind": "step_error",
                "event": "e",
                "step_id": "s",
                "level": "error",
                "name": "s",
                "error": {"message": "m"},
            },
            "error.type",
            "type",
        ),
        (
            {
                "ts": at.format(4),
                "run_id": "r",
                "kind": "score",
                "event": "e",
                "level": "info",
                "gen_ai": {"evaluation": {"score": {"value": 1.0}}},
            },
            "gen_ai.evaluation.name",
            "score",
        ),
        (
            {
                "ts": at.format(5),
                "run_id": "r",
                "kind": "run_error",
                "event": "e",
                "name": "job",
                "level": "error",
                "error": {"type": "T"},
                "duration_s": 5.0,
            },
            "error.message",
            "message",
        ),
    ]
    lines = []
    for record, where, text in records:
        *parents, last = where.split(".")
        node = record
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = "<deep>"
        lines.append(json.dumps(record).replace('"<deep>"', _deep(text)))
    (directory / "events.jsonl").write_text("".join(line + "\n" for line in lines))
    return directory


COMMANDS = [
    ["tail"], ["tail", "--json"], ["runs"], ["runs", "--json"], ["validate"], ["scores"],
    ["export", "--format", "otlp"], ["export", "--format", "otlp", "--protocol", "http/protobuf"],
    ["export", "--format", "csv"], ["report"], ["stats"], ["stats", "--json"],
    ["stats", "--by", "run"], ["stats", "--by", "level"], ["stats", "--by", "error.type"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_reads_values_past_recursion(
    command: list[str], log_dir: Path, tmp_path: Path
) -> None:
    out = ["--out", tmp_path / "out"] if command[0] in ("export", "report") else []
    done = cli(*command, *out, log_dir, status=None)
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr[-2000:]
    if command == ["validate"]:  # each record a problem, quoted if this Python can
        lines = len((log_dir / "events.jsonl").read_text().splitlines())
        assert done.returncode == 1 and f"0 valid, {lines} invalid" in done.stdout
        if sys.version_info < (3, 12):  # later Pythons may quote a value this deep
            assert TOO_DEEP_TO_QUOTE in done.stdout
    if command == ["runs", "--json"]:
        (run,) = json.loads(done.stdout)["runs"]
        assert run["run_id"] == "r" and run["status"] == "error"


def test_ship_sends_the_spans_of_values_past_recursion(log_dir: Path, tmp_path: Path) -> None:
    receiver = Receiver()
    try:
        done = cli("ship", log_dir, "--once", "--to", receiver.url, "--no-pid-check",
                   "--checkpoint", tmp_path / "checkpoint.json", status=None)  # fmt: skip
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
        assert len(receiver.spans) == 3  # the run's root, its step and its call
    finally:
        receiver.stop()
