"""Output files of `export` (csv, parquet, otlp) and `report`: never written through a link.

Each case plants real symbolic links where the command writes, runs the command in-process
and checks what the user relies on: the file the link points to is unchanged, `--out` ends as
a regular file holding the output, and no temporary is left beside it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import llmops_logging as ll
from llmops_logging.cli import main
from llmops_logging.cli._outfile import output_file

COMMANDS = {
    "csv": ["export", "--format", "csv"],
    "parquet": ["export", "--format", "parquet"],
    "otlp": ["export", "--format", "otlp"],
    "report": ["report"],
}
SECRET = b"the operator's own file\n"


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("log") / "logs"
    ll.configure(where, capture_stdlib=False)
    log = ll.get_logger("agent")
    with ll.run("agent"), ll.step("plan"):
        log.info("sample", kind="sample", i=1, ok=True)
    ll.reset()
    return where


def run(command: str, out: Path, log_dir: Path, capsys: pytest.CaptureFixture[str]) -> int:
    capsys.readouterr()
    return main([*COMMANDS[command], "--out", str(out), str(log_dir)])


def check_output(command: str, out: Path) -> None:
    """`out` is a regular file holding what the command writes."""
    assert out.is_file() and not out.is_symlink()
    data = out.read_bytes()
    if command == "csv":
        assert data.startswith(b"ts,run_id,")
    elif command == "parquet":
        assert pq.read_table(out).num_rows == 5
    elif command == "otlp":
        assert json.loads(data.splitlines()[0])["resourceSpans"]
    else:
        assert data.startswith(b"<!DOCTYPE html>") or b"<html" in data[:200]


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_link_planted_at_the_old_temporary_name_is_not_written_through(
    command: str, log_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(SECRET)
    target = tmp_path / "derived"
    target.mkdir()
    out = target / "result.out"
    planted = target / ".result.out.tmp"
    planted.symlink_to(outside)
    assert run(command, out, log_dir, capsys) == 0
    assert outside.read_bytes() == SECRET
    assert planted.is_symlink() and os.readlink(planted) == str(outside)  # not ours to remove
    check_output(command, out)
    assert leftovers(target) == [planted.name]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_out_as_a_link_is_replaced_and_its_target_untouched(
    command: str, log_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(SECRET)
    target = tmp_path / "derived"
    target.mkdir()
    out = target / "result.out"
    out.symlink_to(outside)
    assert run(command, out, log_dir, capsys) == 0
    assert outside.read_bytes() == SECRET
    check_output(command, out)
    assert leftovers(target) == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_dangling_link_at_out_is_replaced_and_its_target_not_created(
    command: str, log_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "elsewhere" / "created"
    (tmp_path / "elsewhere").mkdir()
    out = tmp_path / "result.out"
    out.symlink_to(missing)
    assert run(command, out, log_dir, capsys) == 0
    assert not missing.exists()
    check_output(command, out)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_out_as_a_directory_is_a_clear_error_and_leaves_nothing(
    command: str, log_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "kept").write_bytes(SECRET)
    assert run(command, out, log_dir, capsys) == 1
    assert f"cannot write {out}: it is a directory" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["kept"]
    assert leftovers(tmp_path) == []


def test_two_writers_of_one_path_do_not_share_a_temporary(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    with output_file(str(out)) as first, output_file(str(out)) as second:
        first.write(b"first\n")
        second.write(b"second\n")
        assert len(leftovers(tmp_path)) == 2
    assert out.read_bytes() == b"first\n"  # the last to finish wins, whole
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_a_failure_midway_keeps_the_old_file_and_leaves_no_temporary(
    error: type[BaseException], tmp_path: Path
) -> None:
    out = tmp_path / "out.csv"
    out.write_bytes(b"old\n")
    with pytest.raises(error), output_file(str(out)) as stream:
        stream.write(b"half a fi")
        raise error()
    assert out.read_bytes() == b"old\n"
    assert leftovers(tmp_path) == []


def test_the_temporary_is_created_without_following_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever name comes up, an existing entry (a planted link) is never opened."""
    outside = tmp_path / "outside"
    outside.write_bytes(SECRET)
    names = iter(["aa", "aa", "bb"])
    monkeypatch.setattr("secrets.token_hex", lambda n: next(names))
    (tmp_path / ".out.csv.aa.tmp").symlink_to(outside)
    with output_file(str(tmp_path / "out.csv")) as stream:
        stream.write(b"new\n")
    assert outside.read_bytes() == SECRET
    assert (tmp_path / "out.csv").read_bytes() == b"new\n"
    assert (tmp_path / ".out.csv.aa.tmp").is_symlink()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_file_replaced_keeps_its_permissions(
    command: str, log_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A report or export the user made private (it holds prompts) stays private."""
    out = tmp_path / "result.out"
    out.write_bytes(SECRET)
    out.chmod(0o600)
    assert run(command, out, log_dir, capsys) == 0
    check_output(command, out)
    assert out.stat().st_mode & 0o777 == 0o600
