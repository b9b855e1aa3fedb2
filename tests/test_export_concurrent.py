"""Two exports to one `--out` at the same time, in real processes: each writes its own
temporary, so the file left is one whole export and nothing else remains beside it."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

import llmops_logging as ll

RECORDS = 20_000


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("log")
    ll.configure(where, capture_stdlib=False, max_bytes=1 << 30)
    log = ll.get_logger("agent")
    with ll.run("agent"):
        for i in range(RECORDS - 2):
            log.info("sample", kind="sample", i=i, text="x" * 40)
    ll.reset()
    return where


@pytest.mark.parametrize("fmt", ["csv", "otlp"])
def test_two_exports_to_one_path_at_once_leave_one_whole_file(
    big_log: Path, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"out.{fmt}"
    command = [sys.executable, "-m", "llmops_logging.cli", "export", "--format", fmt]
    command += ["--out", str(out), str(big_log)]
    for _ in range(2):  # a few rounds: the two must overlap at least once
        children = [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        results = [child.communicate(timeout=300) for child in children]
        for child, (_, err) in zip(children, results, strict=True):
            assert child.returncode == 0, err
        assert sorted(os.listdir(tmp_path)) == [out.name]  # no temporary left
        if fmt == "csv":
            with out.open(newline="", encoding="utf-8") as stream:
                rows = list(csv.DictReader(stream))
            assert len(rows) == RECORDS
            assert [int(r["i"]) for r in rows if r["kind"] == "sample"] == list(range(RECORDS - 2))
        else:
            lines = out.read_bytes().splitlines()
            assert lines and all(line.startswith(b'{"resourceSpans":') for line in lines)
