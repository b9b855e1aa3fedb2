"""compress=True: rotated files become gzip, atomically, once no writer holds them."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import llmops_logging as ll

from ..conftest import log_files, read_records


def _write(count: int, start: int = 0) -> None:
    log = ll.get_logger("gz")
    for i in range(start, start + count):
        log.info("rec", i=i, pad="z" * 80)


def test_gzip_rotation_keeps_every_record(tmp_path: Path) -> None:
    ll.configure(tmp_path, max_bytes=3000, backup_count=1000, compress=True)
    _write(600)
    files = log_files(tmp_path)
    rotated = files[:-1]
    assert len(rotated) > 10
    assert all(p.name.endswith(".gz") for p in rotated)  # one writer: none is held open
    for path in rotated:
        with gzip.open(path) as stream:
            stream.read()  # a complete gzip member: raises on a truncated one
    assert [r["i"] for r in read_records(tmp_path)] == list(range(600))
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_interrupted_compression_leaves_no_duplicate(tmp_path: Path) -> None:
    """A crash between writing the .gz and deleting the plain file is finished next time."""
    handler = ll.configure(tmp_path, max_bytes=3000, backup_count=1000, compress=True)
    _write(100)
    newest_gz = log_files(tmp_path)[-2]
    newest_plain = newest_gz.with_suffix("")
    # as if a compressor had died after its rename: both forms of one generation exist
    with gzip.open(newest_gz, "rb") as src, open(newest_plain, "wb") as dst:
        dst.write(src.read())
    # and a half-written temporary file lies beside them
    (tmp_path / f".{newest_gz.name}.tmp").write_bytes(b"\x1f\x8b partial")
    _write(100, start=100)
    assert not newest_plain.exists()
    numbers = sorted(handler.rotated_files())
    assert all(len(names) == 1 for names in handler.rotated_files().values()), numbers
    assert [r["i"] for r in read_records(tmp_path)] == list(range(200))


def test_compressed_files_are_private(tmp_path: Path) -> None:
    ll.configure(tmp_path, max_bytes=2000, backup_count=10, compress=True)
    _write(100)
    rotated = log_files(tmp_path)[:-1]
    assert rotated and all((p.stat().st_mode & 0o777) == 0o600 for p in rotated)


def test_single_backup_is_compressed_too(tmp_path: Path) -> None:
    ll.configure(tmp_path, max_bytes=2000, backup_count=1, compress=True)
    _write(100)
    names = [p.name for p in log_files(tmp_path)]
    assert len(names) == 2 and names[0].endswith(".gz") and names[1] == "events.jsonl"


def _dead_temporary(directory: Path, plain: Path) -> Path:
    """A temporary as a compressor killed halfway through leaves it (mkstemp's kind of name)."""
    temp = directory / f".{plain.name}.gz.k3x9q_2a.tmp"
    temp.write_bytes(b"\x1f\x8b half of a member")
    temp.chmod(0o600)
    return temp


def test_a_dead_compressors_temporary_is_removed_when_its_file_is_compressed(
    tmp_path: Path,
) -> None:
    ll.configure(tmp_path, max_bytes=3000, backup_count=1000, compress=True)
    _write(100)
    newest_gz = log_files(tmp_path)[-2]
    plain = newest_gz.with_suffix("")
    with gzip.open(newest_gz, "rb") as src:  # the crash came before the rename: no .gz yet
        plain.write_bytes(src.read())
    newest_gz.unlink()
    temp = _dead_temporary(tmp_path, plain)
    _write(100, start=100)  # the next rotation compresses the plain file
    assert not temp.exists() and not plain.exists() and newest_gz.exists()
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert [r["i"] for r in read_records(tmp_path)] == list(range(200))


def test_a_dead_compressors_temporary_is_removed_with_its_file_by_retention(
    tmp_path: Path,
) -> None:
    ll.configure(tmp_path, max_bytes=3000, backup_count=2, compress=False)
    _write(100)
    oldest = log_files(tmp_path)[0]
    temp = _dead_temporary(tmp_path, oldest)
    _write(100, start=100)  # retention deletes the oldest numbers
    assert not oldest.exists() and not temp.exists()


def test_the_temporary_of_a_live_compressor_is_left_alone(tmp_path: Path) -> None:
    """Another process compressing a file holds its exclusive lock: its temporary is alive."""
    import fcntl

    ll.configure(tmp_path, max_bytes=3000, backup_count=1000, compress=True)
    _write(100)
    newest_gz = log_files(tmp_path)[-2]
    plain = newest_gz.with_suffix("")
    with gzip.open(newest_gz, "rb") as src:
        plain.write_bytes(src.read())
    newest_gz.unlink()
    temp = _dead_temporary(tmp_path, plain)
    fd = os.open(plain, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as the other compressor holds it
        _write(100, start=100)
        assert temp.exists() and plain.exists()
    finally:
        os.close(fd)
    _write(100, start=200)  # released: the next housekeeping finds it dead
    assert not temp.exists() and not plain.exists()
    assert [r["i"] for r in read_records(tmp_path)] == list(range(300))
