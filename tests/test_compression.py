"""compress=True: rotated files become gzip one generation late, atomically."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import llmops_logging as ll

from .conftest import log_files, read_records


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
    assert all(p.name.endswith(".gz") for p in rotated[:-1])
    assert not rotated[-1].name.endswith(".gz")  # the newest waits one generation
    for path in rotated[:-1]:
        with gzip.open(path) as stream:
            stream.read()  # a complete gzip member: raises on a truncated one
    assert [r["i"] for r in read_records(tmp_path)] == list(range(600))
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_interrupted_compression_leaves_no_duplicate(tmp_path: Path) -> None:
    """A crash between writing the .gz and deleting the plain file is finished next time."""
    handler = ll.configure(tmp_path, max_bytes=3000, backup_count=1000, compress=True)
    _write(100)
    newest_plain = log_files(tmp_path)[-2]
    assert not newest_plain.name.endswith(".gz")
    # as if a compressor had died after its rename: both forms of one generation exist
    with open(newest_plain, "rb") as src, gzip.open(f"{newest_plain}.gz", "wb") as dst:
        dst.write(src.read())
    # and a half-written temporary file lies beside them
    (tmp_path / f".{newest_plain.name}.gz.tmp").write_bytes(b"\x1f\x8b partial")
    _write(100, start=100)
    assert not newest_plain.exists()
    numbers = sorted(handler.rotated_files())
    assert all(len(names) == 1 for names in handler.rotated_files().values()), numbers
    assert [r["i"] for r in read_records(tmp_path)] == list(range(200))
