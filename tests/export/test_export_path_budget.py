"""A log with more distinct object paths than the export tracks (`shape.MAX_PATHS`): the
columns stay bounded, every value is written, and the objects kept whole for that reason are
not reported as keyed by data."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from llmops_logging.cli import main
from llmops_logging.cli.export.shape import MAX_FIELDS, MAX_OBJECT_KEYS, MAX_PATHS, Shape

RECORDS = MAX_PATHS + 1_000


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One record per new top-level key, each holding `{"a": n}`."""
    directory = tmp_path_factory.mktemp("paths") / "logs"
    directory.mkdir()
    base = '{"ts": "2026-01-01T00:00:00.000000+00:00", "run_id": "r", "level": "info", '
    base += '"logger": "x", "event_id": "e", "pid": 1, "kind": "log", "event": "e", '
    with (directory / "events.jsonl").open("w") as out:
        for n in range(RECORDS):
            out.write(f'{base}"seq": {n}, "u{n}": {{"a": {n}}}}}\n')
    return directory


def test_csv_of_more_paths_than_tracked_keeps_every_value_in_bounded_columns(
    log_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.csv"
    capsys.readouterr()
    assert main(["export", "--out", str(out), str(log_dir)]) == 0
    printed = capsys.readouterr().out
    with out.open(newline="", encoding="utf-8") as stream:
        reader = csv.reader(stream)
        header = next(reader)
        rows = list(reader)
    assert len(header) <= MAX_FIELDS and len(rows) == RECORDS
    assert all(len(row) == len(header) for row in rows)
    column = {name: i for i, name in enumerate(header)}  # a row's cells by name, as a dict would
    rest_at = len(header) - 1
    for n, row in enumerate(rows):
        rest = json.loads(row[rest_at]) if row[rest_at] else {}
        flat, whole = column.get(f"u{n}.a"), column.get(f"u{n}")
        assert (
            (flat is not None and row[flat] == str(n))
            or (whole is not None and json.loads(row[whole]) == {"a": n})
            or rest.get(f"u{n}") == {"a": n}
            or rest.get(f"u{n}.a") == n
        ), n
    assert "keyed by data" not in printed
    assert f"more than {MAX_PATHS:,} object paths" in printed
    assert len(printed) < 2_000


def test_parquet_of_more_paths_than_tracked_keeps_every_value_in_bounded_fields(
    log_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "out.parquet"
    capsys.readouterr()
    assert main(["export", "--format", "parquet", "--out", str(out), str(log_dir)]) == 0
    printed = capsys.readouterr().out
    table = pq.read_table(out)
    assert len(table.schema.names) <= MAX_FIELDS + 1 and table.num_rows == RECORDS
    names = set(table.schema.names)
    rests = table.column(table.schema.names[-1]).to_pylist()
    for n, rest_text in enumerate(rests):  # row n's cells, read column by column
        rest = json.loads(rest_text) if rest_text else {}
        value = table.column(f"u{n}")[n].as_py() if f"u{n}" in names else None
        assert value == {"a": n} or rest.get(f"u{n}") == {"a": n}, n
    assert "keyed by data" not in printed
    assert len(printed) < 2_000


class _CountedSet(set[tuple[Any, ...]]):
    """A set that counts its membership tests."""

    tests = 0

    def __contains__(self, item: object) -> bool:
        self.tests += 1
        return super().__contains__(item)


@pytest.mark.parametrize("columnar", [False, True], ids=["csv", "parquet"])
def test_objects_nested_a_thousand_deep_cost_lookups_linear_in_their_size(columnar: bool) -> None:
    """Each record a new object nested 1,000 levels deep, after an object keyed by data: how
    many times the shape looks a path up in `keyed` grows with the objects' levels, not with
    their square (before, each new path looked up every one of its ancestors: half a million
    lookups a record)."""
    shape = Shape(columnar)
    counted = shape.keyed = _CountedSet()
    shape.observe({"scores": {f"doc-{n}": n for n in range(MAX_OBJECT_KEYS + 1)}})
    assert shape.is_keyed(("scores",))
    levels = 0
    for n in range(5):
        deep: dict[str, Any] = {"leaf": n}
        for _ in range(999):
            deep = {"d": deep}
        shape.observe({"ts": "2026-01-01T00:00:00.000000+00:00", f"deep{n}": deep})
        levels += 1_000
    assert counted.tests < 4 * levels, counted.tests
