"""read_polars / read_pandas / read_duckdb: the whole log as one table, every value as logged,
checked against the lines parsed with the stdlib, in real polars, pandas and DuckDB."""

from __future__ import annotations

import ast
import json
import math
import re
import statistics
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pytest

import llmops_logging as ll

from ._agent_log import write_agent_log
from .conftest import FOREIGN, INVALID, ROOT, build_rotated_log, raw_files, raw_scan, read_records

ENGINES = ("polars", "pandas", "duckdb")


def rows(engine: str, path: Path, **filters: Any) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The table's rows as dicts (nulls left out) and its column types, by name."""
    if engine == "polars":
        frame = ll.read_polars(path, **filters)
        types = {name: str(dtype) for name, dtype in frame.schema.items()}
        table = frame.to_dicts()
    elif engine == "pandas":
        pdf = ll.read_pandas(path, **filters)
        types = {name: str(dtype) for name, dtype in pdf.dtypes.items()}
        table = [
            {k: (None if _missing(v) else _plain(v)) for k, v in row.items()}
            for row in pdf.to_dict("records")
        ]
    else:
        relation = ll.read_duckdb(path, connection=duckdb.connect(), **filters)
        pairs = zip(relation.columns, relation.types, strict=True)
        types = {name: str(dtype) for name, dtype in pairs}
        table = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    return [_drop_nulls(row) for row in table], types


def _missing(value: Any) -> bool:
    if isinstance(value, (dict, list, str)):
        return False
    return bool(pd.isna(value))


def _plain(value: Any) -> Any:
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value


def _drop_nulls(value: Any) -> Any:
    """A struct's absent fields read as nulls: leave them out, as the writer does."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def expected(record: dict[str, Any]) -> dict[str, Any]:
    """A record as the tables hold it: `ts` a datetime (absent when it is not a timestamp)."""
    out = {k: v for k, v in record.items() if v is not None}
    try:
        out["ts"] = datetime.fromisoformat(record["ts"])
    except (KeyError, TypeError, ValueError):
        out.pop("ts", None)
    return out


def same(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, float) or isinstance(value, float):
        return isinstance(value, float) and math.isclose(value, wanted, rel_tol=0, abs_tol=0)
    if isinstance(wanted, dict):
        return isinstance(value, dict) and all(same(value.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(value, list) and len(value) == len(wanted) and all(
            same(a, b) for a, b in zip(value, wanted, strict=True)
        )  # fmt: skip
    return bool(value == wanted)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_log_whose_first_200_records_have_no_step_end_keeps_its_durations(
    tmp_path: Path, engine: str
) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("agent")
    for i in range(200):
        log.info("warm-up", i=i)
    with ll.run("agent"):
        for name in ("plan", "answer"):
            with ll.step(name):
                log.info("work")
    ll.reset()
    records, _, _ = raw_scan(raw_files(tmp_path))
    table, types = rows(engine, tmp_path / "events.jsonl")
    assert len(table) == len(records) == 208
    ends = [r for r in table if r["kind"] == "step_ok"]
    wanted = [r for r in records if r["kind"] == "step_ok"]
    assert [(r["name"], r["duration_s"]) for r in ends] == [
        (r["name"], r["duration_s"]) for r in wanted
    ]
    assert types["duration_s"].lower() in ("float64", "double")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_rotated_log_keeps_the_llm_fields_that_only_middle_files_hold(
    tmp_path: Path, engine: str
) -> None:
    settings: dict[str, Any] = {"max_bytes": 2000, "backup_count": 100, "compress": True}
    ll.configure(tmp_path, **settings)
    log = ll.get_logger("agent")
    for i in range(20):  # the oldest files: plain records only
        log.info("plain", i=i)
    for i in range(6):
        log.info(
            "chat gpt-4o-mini",
            kind="llm_call",
            gen_ai={"request": {"model": "gpt-4o-mini", "temperature": 0.7},
                    "usage": {"input_tokens": 10 + i, "output_tokens": 3}},
            cost_usd=0.000125 * (i + 1), ttft_s=0.25, duration_s=0.5 + i,
            parent_id=f"step-{i}", attempts=i,
        )  # fmt: skip
    for i in range(20):
        log.info("plain again", i=i)
    ll.reset()
    files = raw_files(tmp_path)
    assert any(f.suffix == ".gz" for f in files) and len(files) > 3
    live, _, _ = raw_scan(files[-1:])
    assert not any("gen_ai" in r for r in live)  # the live file lacks the LLM fields
    records, _, _ = raw_scan(files)
    table, types = rows(engine, tmp_path)
    assert len(table) == len(records)
    for row, record in zip(table, records, strict=True):
        for name, value in expected(record).items():
            assert same(row.get(name), value), (name, row.get(name), value)
    assert types["cost_usd"].lower() in ("float64", "double")


@pytest.mark.parametrize("engine", ENGINES)
def test_torn_foreign_and_gzipped_lines_read_as_read_events_reads_them(
    tmp_path: Path, engine: str
) -> None:
    build_rotated_log(tmp_path)
    events = ll.read_events(tmp_path)
    records = list(events)
    assert events.report.bad_count == 1  # the torn line, skipped
    table, _ = rows(engine, tmp_path)
    assert [r.get("event_id") for r in table] == [r.get("event_id") for r in records]
    by_note = [r for r in table if r.get("note") == FOREIGN["note"]]
    assert by_note and by_note[0]["value"] == FOREIGN["value"]  # a foreign record is kept
    (invalid,) = [r for r in table if r.get("event") == INVALID["event"]]
    assert "ts" not in invalid  # `yesterday` is no timestamp: null, not a guess
    for row, record in zip(table, records, strict=True):
        for name, value in expected(record).items():
            assert same(row.get(name), value), (name, row.get(name), value)


@pytest.mark.parametrize("engine", ENGINES)
def test_user_fields_keep_their_values_whatever_comes_first(tmp_path: Path, engine: str) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("agent")
    for _ in range(300):
        log.info("call", temperature=0, label=7, big=2**64 - 1)
    log.info("call", temperature=0.7, label="seven", big=1)
    ll.reset()
    table, types = rows(engine, tmp_path)
    assert [r["temperature"] for r in table[-2:]] == [0, 0.7]
    assert isinstance(table[-1]["temperature"], float)
    # a number here and a string there: each value's JSON text, so neither is changed
    assert [r["label"] for r in table[-2:]] == ["7", '"seven"']
    assert [r["big"] for r in table[-2:]] == [2**64 - 1, 1]
    assert types["seq"].lower() in ("int64", "bigint") and "int" in types["pid"].lower()


def _decoded(value: Any) -> Any:
    """A value with the JSON text of its parts read back."""
    if isinstance(value, str):
        return _decoded(json.loads(value))
    if isinstance(value, dict):
        return {k: _decoded(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("engine", ENGINES)
def test_nested_fields_whose_shapes_disagree_keep_their_values(tmp_path: Path, engine: str) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("agent")
    shapes = [{"x": 1}, {"x": {"y": 2}}, {"x": [3, "z"]}]
    for shape in shapes:
        log.info("call", extra=shape)
    ll.reset()
    table, _ = rows(engine, tmp_path)
    assert [_decoded(r["extra"]) for r in table] == shapes


@pytest.mark.parametrize("engine", ENGINES)
def test_an_empty_log_is_a_table_of_the_contract_columns(tmp_path: Path, engine: str) -> None:
    (tmp_path / "events.jsonl").write_bytes(b"")
    table, types = rows(engine, tmp_path)
    assert table == []
    assert {"ts", "run_id", "seq", "duration_s", "cost_usd", "ttft_s"} <= set(types)


def test_filters_pass_through_and_duckdb_sql_sees_the_table(tmp_path: Path) -> None:
    build_rotated_log(tmp_path)
    runs = [r["run_id"] for r in ll.read_events(tmp_path, kind="run_error")]
    frame = ll.read_polars(tmp_path, run_id=runs[0])
    assert set(frame["run_id"]) == {runs[0]}
    ll.read_duckdb(tmp_path, kind="step_ok")
    ((count,),) = duckdb.sql("SELECT count(*) FROM events").fetchall()
    assert count == sum(1 for _ in ll.read_events(tmp_path, kind="step_ok")) == 18
    assert isinstance(ll.read_pandas(tmp_path, kind="step_ok"), pd.DataFrame)
    assert isinstance(frame, pl.DataFrame)


def test_importing_the_package_imports_no_dataframe_engine() -> None:
    code = (
        "import sys, llmops_logging; "
        "print(sorted({'polars', 'pandas', 'duckdb', 'pyarrow'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def readme_block(marker: str) -> str:
    """The README's python block that contains `marker`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    (block,) = [b for b in blocks if marker in b]
    return block


def test_the_readme_recipes_run_as_written_on_a_rotated_gzipped_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_agent_log(tmp_path / "data" / "raw_events", runs=4, max_bytes=4000,
                    backup_count=1000, compress=True)  # fmt: skip
    ll.reset()
    records = read_records(tmp_path / "data" / "raw_events")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    exec(readme_block("ll.read_duckdb("), {})
    shown = capsys.readouterr().out
    calls: dict[str, list[int]] = {}
    for r in records:
        if r["kind"] == "llm_call":
            entry = calls.setdefault(r["gen_ai"]["request"]["model"], [0, 0])
            entry[0] += 1
            entry[1] += r["gen_ai"]["usage"]["input_tokens"]
    for model, (count, tokens) in calls.items():
        assert re.search(rf"│ {re.escape(model)}\s+│\s+{count} │\s+{tokens} │", shown), shown

    code = ast.parse(readme_block("ll.read_polars("))
    last = code.body.pop()
    assert isinstance(last, ast.Expr)
    scope: dict[str, Any] = {}
    exec(compile(code, "README", "exec"), scope)
    frame = eval(compile(ast.Expression(last.value), "README", "eval"), scope)
    durations: dict[str, list[float]] = {}
    for r in records:
        if r["kind"] == "step_ok":
            durations.setdefault(r["name"], []).append(r["duration_s"])
    assert frame.rows() == [
        (name, len(d), statistics.median(d)) for name, d in sorted(durations.items())
    ]
