"""Values nested deeper than a JSON encoder's limit (orjson stops at 255 levels, recursion at
about 1,000): every export format still writes them, as JSON text."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from llmops_logging.cli import main
from llmops_logging.cli.export import flat

DICT_DEPTH = 1_000
LIST_DEPTH = 300


def nested_dict(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"d": value}
    return value


def nested_list(depth: int) -> list[Any]:
    value: list[Any] = [1]
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "logs"
    directory.mkdir()
    base = {
        "ts": "2026-01-01T00:00:00.000000+00:00",
        "run_id": "r",
        "level": "info",
        "logger": "x",
        "event_id": "e",
        "pid": 1,
        "kind": "log",
        "event": "e",
    }
    head = json.dumps(base)[:-1]
    deep = '{"d": ' * (DICT_DEPTH - 1) + '{"leaf": 1}' + "}" * (DICT_DEPTH - 1)
    deep_list = "[" * LIST_DEPTH + "1" + "]" * LIST_DEPTH
    lines = [f'{head}, "seq": 0, "deep": {deep}}}', f'{head}, "seq": 1, "deep_list": {deep_list}}}']
    (directory / "events.jsonl").write_text("".join(line + "\n" for line in lines))
    return directory


def test_json_text_of_values_past_every_encoders_limit() -> None:
    """Past orjson's depth the stdlib encoder takes over; where that one stops too (its
    recursion limit: Python 3.10 and 3.11 at 5,000 levels, while 3.12+ reach deeper), the text
    is cut with the marker. Either way, text and no exception."""
    assert json.loads(flat.json_text(nested_list(LIST_DEPTH))) == nested_list(LIST_DEPTH)
    text = flat.json_text(nested_list(5_000))
    assert text.startswith("[[[[")
    if flat.TOO_DEEP not in text:  # this Python's encoder reached that deep: the value whole
        assert text == "[" * 5_000 + "1" + "]" * 5_000
    elif sys.version_info < (3, 12):
        assert text.count("[") < 5_000


def test_csv_export_of_deep_values(log_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    assert main(["export", "--raw-cells", "--out", str(out), str(log_dir)]) == 0
    with out.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert json.loads(rows[1]["deep_list"]) == nested_list(LIST_DEPTH)
    cells = "".join(rows[0].values())
    assert '"leaf"' in cells or "leaf" in "".join(rows[0])


def test_parquet_export_of_deep_values(log_dir: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "out.parquet"
    assert main(["export", "--format", "parquet", "--out", str(out), str(log_dir)]) == 0
    rows = pq.read_table(out).to_pylist()
    assert json.loads(rows[1]["deep_list"]) == nested_list(LIST_DEPTH)
    deep = rows[0]["deep"]  # whole, or cut where recursion stops, with the marker
    assert deep.startswith('{"d":{"d":') and ('"leaf":1' in deep or flat.TOO_DEEP in deep)


def test_otlp_export_of_deep_values(log_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert main(["export", "--format", "otlp", "--out", str(out), str(log_dir)]) == 0
    text = out.read_text()
    assert "d." * 50 in text and "leaf" in text
    attributes = [
        a
        for line in text.splitlines()
        for rs in json.loads(line)["resourceSpans"]
        for ss in rs["scopeSpans"]
        for span in ss["spans"]
        for ev in span.get("events", [])
        for a in ev["attributes"]
    ]
    listed = [a["value"]["stringValue"] for a in attributes if a["key"] == "deep_list"]
    assert [json.loads(v) for v in listed] == [nested_list(LIST_DEPTH)]
