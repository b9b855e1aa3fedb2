"""`ship`'s cursor lets go of a rotated file only when no writer can add to it any more: when
no writer holds its `flock`, or, where files cannot be locked, after a grace period, so that a
line a writer appends just after the rotation is shipped, not lost."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

import pytest

from llmops_logging.cli.ship import cursor as cursor_module
from llmops_logging.cli.ship.cursor import Cursor
from llmops_logging.cli.tail import GRACE_S


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def time(self) -> float:
        return self.now


def line(event: str, seq: int) -> bytes:
    return json.dumps({"event": event, "pid": 7, "seq": seq}).encode() + b"\n"


def events(records: list[tuple[int, dict[str, Any]]]) -> list[str]:
    return [record["event"] for _, record in records]


def no_locks(fd: int) -> bool | None:
    return None


def locks_unsupported(fd: int) -> bool | None:
    raise OSError(37, "No locks available")


@pytest.mark.parametrize("locks", ["flock", "none", "unsupported"])
def test_a_line_appended_to_a_rotated_file_after_the_rotation_is_shipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, locks: str
) -> None:
    clock = Clock()
    monkeypatch.setattr(cursor_module, "time", clock)
    if locks != "flock":
        replacement = no_locks if locks == "none" else locks_unsupported
        monkeypatch.setattr(cursor_module, "try_lock_exclusive", replacement)
    live = tmp_path / "events.jsonl"
    writer = os.open(live, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    fcntl.flock(writer, fcntl.LOCK_SH)  # as every writer holds its file
    os.write(writer, line("a", 1) + line("b", 2))
    follower = Cursor(str(tmp_path))
    assert events(follower.read()) == ["a", "b"]

    # rotated by another process; this writer has not seen it yet
    os.rename(live, tmp_path / "events.jsonl.000001")
    live.write_bytes(line("c", 4))
    assert events(follower.read() + follower.read()) == ["c"]  # the switch, then the new file
    clock.now += 0.5
    assert events(follower.read()) == []
    os.write(writer, line("late", 3))
    assert events(follower.read()) == ["late"]
    assert [f[0] for f in follower.state()["files"]] == [1, 2]

    # the writer moves on: the rotated file is let go, and nothing is read twice
    fcntl.flock(writer, fcntl.LOCK_UN)
    os.close(writer)
    clock.now += GRACE_S + 0.1
    assert events(follower.read()) == []
    assert [f[0] for f in follower.state()["files"]] == [2]
    assert events(follower.read()) == []
    follower.close()


def test_without_locks_a_later_run_from_the_checkpoint_goes_on_counting_the_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ship --once` runs end within the grace period: the next one, started from the
    checkpoint, must not start the wait again, or a rotated file is never let go."""
    clock = Clock()
    monkeypatch.setattr(cursor_module, "time", clock)
    monkeypatch.setattr(cursor_module, "try_lock_exclusive", no_locks)
    live = tmp_path / "events.jsonl"
    live.write_bytes(line("a", 1))
    first = Cursor(str(tmp_path))
    assert events(first.read()) == ["a"]
    os.rename(live, tmp_path / "events.jsonl.000001")
    live.write_bytes(line("b", 2))
    assert events(first.read() + first.read() + first.read()) == ["b"]
    state = json.loads(json.dumps(first.state()))  # as the checkpoint keeps it
    first.close()
    assert [f[0] for f in state["files"]] == [1, 2]

    clock.now += GRACE_S + 0.1  # the next run, after the grace period
    later = Cursor(str(tmp_path), state)
    assert events(later.read()) == []
    assert [f[0] for f in later.state()["files"]] == [2]
    later.close()

    # a checkpoint written before the wait was kept (three fields a file) still loads
    again = Cursor(str(tmp_path), {"files": [[1, 8, None], [2, 0, None]], "next": 3})
    assert [f[0] for f in again.state()["files"]] == [1, 2]
    again.close()
