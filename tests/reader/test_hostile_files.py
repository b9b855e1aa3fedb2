"""Files planted in a shared log directory: the handler never writes through a link or into a
file someone else owns or can write; it refuses once on stderr, counts the drops, and carries
on (or resumes) without an exception in the application."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest

import llmops_logging as ll

from ..conftest import read_records

NOBODY = 65534
VICTIM = b"precious content that no logger may touch\n"

pytestmark = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="planting another user's files needs root (to chown them to nobody)",
)


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """A world-writable sticky directory, like /tmp."""
    path = tmp_path / "shared"
    path.mkdir()
    path.chmod(0o1777)
    return path


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim.txt"
    path.write_bytes(VICTIM)
    return path


def _log_some(n: int, **fields: object) -> None:
    log = ll.get_logger("planted")
    for i in range(n):
        log.info("rec", i=i, **fields)


def test_a_link_planted_as_the_live_file_is_refused_once_and_counted(
    shared: Path, victim: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (shared / "events.jsonl").symlink_to(victim)
    handler = ll.configure(shared)
    _log_some(5)
    assert victim.read_bytes() == VICTIM
    assert handler.dropped == 5
    err = capsys.readouterr().err
    assert err.count("llmops_logging:") == 1 and "symbolic link" in err
    (shared / "events.jsonl").unlink()  # the link is gone: writing resumes
    _log_some(2)
    assert [r["i"] for r in read_records(shared)] == [0, 1]
    assert "again; 5 records dropped" in capsys.readouterr().err


def test_a_dangling_link_creates_no_file_at_its_target(shared: Path, tmp_path: Path) -> None:
    target = tmp_path / "attacker-chosen.txt"
    (shared / "events.jsonl").symlink_to(target)
    handler = ll.configure(shared)
    _log_some(3)
    assert not target.exists()
    assert handler.dropped == 3


def test_a_link_planted_as_the_lock_file_leaves_its_target_alone(
    shared: Path, victim: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (shared / ".events.jsonl.lock").symlink_to(victim)
    handler = ll.configure(shared, max_bytes=300)
    _log_some(10)
    assert victim.read_bytes() == VICTIM
    assert handler.dropped == 10
    assert capsys.readouterr().err.count("symbolic link") == 1


def test_a_link_planted_as_the_gzip_temporary_is_not_followed(shared: Path, victim: Path) -> None:
    for number in range(1, 4):  # the names the old code used for its temporaries
        (shared / f".events.jsonl.{number:06d}.gz.tmp").symlink_to(victim)
    handler = ll.configure(shared, max_bytes=400, backup_count=100, compress=True)
    _log_some(40, pad="z" * 40)
    assert victim.read_bytes() == VICTIM
    assert handler.dropped == 0
    assert sorted(r["i"] for r in read_records(shared)) == list(range(40))
    assert list(shared.glob("events.jsonl.*.gz"))
    assert not [p for p in shared.iterdir() if p.name.endswith(".tmp") and not p.is_symlink()]


def test_a_link_planted_under_a_rotated_name_is_neither_read_nor_removed(
    shared: Path, victim: Path
) -> None:
    planted = shared / "events.jsonl.000001"
    planted.symlink_to(victim)
    handler = ll.configure(shared, max_bytes=400, backup_count=100, compress=True)
    _log_some(40, pad="z" * 40)
    assert handler.dropped == 0
    assert planted.is_symlink() and victim.read_bytes() == VICTIM
    assert not (shared / "events.jsonl.000001.gz").exists()
    for path in shared.glob("events.jsonl.*.gz"):
        assert b"precious" not in gzip.decompress(path.read_bytes())


def _plant_file(path: Path, content: bytes, *, uid: int, mode: int) -> None:
    path.write_bytes(content)
    os.chown(path, uid, -1)
    path.chmod(mode)


@pytest.mark.parametrize(
    ("uid", "mode", "reason"),
    [
        (NOBODY, 0o600, f"owned by uid {NOBODY}"),
        (NOBODY, 0o666, f"owned by uid {NOBODY}"),
        (0, 0o666, "writable by group or others"),
        (0, 0o620, "writable by group or others"),
    ],
    ids=["foreign", "foreign-world-writable", "own-world-writable", "own-group-writable"],
)
def test_a_live_file_that_is_not_private_is_refused(
    shared: Path, capsys: pytest.CaptureFixture[str], uid: int, mode: int, reason: str
) -> None:
    planted = b'{"planted": true}\n'
    _plant_file(shared / "events.jsonl", planted, uid=uid, mode=mode)
    handler = ll.configure(shared)
    _log_some(4)
    assert (shared / "events.jsonl").read_bytes() == planted
    assert handler.dropped == 4
    err = capsys.readouterr().err
    assert err.count("llmops_logging:") == 1 and reason in err


def test_a_foreign_lock_file_is_refused(shared: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _plant_file(shared / ".events.jsonl.lock", b"\0" * 16, uid=NOBODY, mode=0o600)
    handler = ll.configure(shared)
    _log_some(3)
    assert handler.dropped == 3
    assert not (shared / "events.jsonl").exists()
    assert f"owned by uid {NOBODY}" in capsys.readouterr().err


def test_a_hard_link_to_another_file_is_refused(shared: Path, victim: Path) -> None:
    os.link(victim, shared / "events.jsonl")
    handler = ll.configure(shared)
    _log_some(3)
    assert victim.read_bytes() == VICTIM
    assert handler.dropped == 3


def test_a_foreign_fifo_gets_no_record(shared: Path) -> None:
    fifo = shared / "events.jsonl"
    os.mkfifo(fifo)
    os.chown(fifo, NOBODY, -1)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # another user listening
    try:
        handler = ll.configure(shared)
        _log_some(3)
        assert handler.dropped == 3
        try:
            received = os.read(reader, 65536)  # b"": no writer attached, nothing sent
        except BlockingIOError:  # a writer is attached, but sent nothing
            received = b""
        assert received == b""
    finally:
        os.close(reader)


def test_a_created_log_directory_is_private(tmp_path: Path) -> None:
    log_dir = tmp_path / "new" / "logs"
    old_umask = os.umask(0o022)
    try:
        ll.configure(log_dir)
        assert log_dir.stat().st_mode & 0o777 == 0o700
        ll.get_logger("x").info("e")
        shutil.rmtree(log_dir)  # the handler recreates it: private again
        handler = ll.configure(log_dir, check_interval=0)
        shutil.rmtree(log_dir)
        ll.get_logger("x").info("e")
    finally:
        os.umask(old_umask)
    assert handler.dropped == 0
    assert log_dir.stat().st_mode & 0o777 == 0o700


def test_a_file_mode_that_others_could_write_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="group or others"):
        ll.configure(tmp_path, file_mode=0o666)
