"""The tools people already use read the log as it is: polars, DuckDB, pandas, jq, lnav; and
what `export` writes for them (Parquet, OTLP) is what they expect."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from llmops_logging.cli import main

from ._agent_log import MODELS, write_agent_log
from .conftest import log_files, read_records

ROOT = Path(__file__).resolve().parents[1]
JQ_RECIPE = """\
cd data/raw_events && zcat -f $(ls events.jsonl.* 2>/dev/null | sort) events.jsonl \\
  | jq -cR 'fromjson? | select(.kind == "run_ok" or .kind == "run_error")
            | {run_id, name, kind, duration_s, error: .error.type}'"""


@pytest.fixture(scope="module")
def agent_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log of 6 runs with nested steps, LLM calls and a failed run, rotated and gzipped."""
    log_dir = tmp_path_factory.mktemp("tools") / "data" / "raw_events"
    write_agent_log(log_dir, runs=6, max_bytes=6_000, backup_count=1000, compress=True)
    return log_dir


def _calls(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("kind") == "llm_call"]


def test_fields_without_a_value_are_left_out(agent_log: Path) -> None:
    records = read_records(agent_log)
    assert not [(r["kind"], k) for r in records for k, v in r.items() if v is None]
    assert any(r["kind"] == "step_start" and "parent_id" not in r for r in records)
    assert any(r["kind"] == "step_start" and "parent_id" in r for r in records)


def test_polars_reads_the_live_file_and_the_plain_rotated_ones_with_defaults(
    agent_log: Path,
) -> None:
    pl = pytest.importorskip("polars")
    plain = [p for p in log_files(agent_log) if not p.name.endswith(".gz")]
    for path in plain:
        frame = pl.read_ndjson(path)
        assert frame.height == len(read_records_of(path))
    # The first rows hold top-level steps (no parent_id) and nested ones: columns stay typed.
    first = log_files(agent_log)[0]
    with gzip.open(first) if first.name.endswith(".gz") else open(first, "rb") as stream:
        data = stream.read()
    unpacked = agent_log.parent / "first.jsonl"
    unpacked.write_bytes(data)
    frame = pl.read_ndjson(unpacked)
    assert frame.schema["parent_id"] == pl.String
    lazy = pl.scan_ndjson(unpacked).filter(pl.col("kind") == "step_start").collect()
    assert lazy.height == sum(r["kind"] == "step_start" for r in read_records_of(unpacked))
    unpacked.unlink()


def read_records_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_duckdb_reads_the_glob_with_gzipped_files(agent_log: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    records = read_records(agent_log)
    assert any(p.name.endswith(".gz") for p in log_files(agent_log))
    glob = str(agent_log / "events.jsonl*")
    rows = duckdb.sql(
        f"""SELECT gen_ai.request.model AS model, count(*) AS calls,
                   sum(gen_ai.usage.input_tokens) AS tokens, sum(cost_usd) AS cost
            FROM read_json_auto('{glob}') WHERE kind = 'llm_call' GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    expected: dict[str, list[Any]] = {}
    for call in _calls(records):
        entry = expected.setdefault(call["gen_ai"]["request"]["model"], [0, 0, 0.0])
        entry[0] += 1
        entry[1] += call["gen_ai"]["usage"]["input_tokens"]
        entry[2] += call["cost_usd"]
    assert [(m, c, t) for m, c, t, _ in rows] == [
        (m, e[0], e[1]) for m, e in sorted(expected.items())
    ]
    assert {m for m, *_ in rows} == set(MODELS)
    total = duckdb.sql(f"SELECT count(*) FROM read_json_auto('{glob}')").fetchall()
    assert total == [(len(records),)]
    failed = duckdb.sql(
        f"SELECT error.type FROM read_json_auto('{glob}') WHERE kind = 'run_error'"
    ).fetchall()
    assert failed == [("RuntimeError",)]


def test_pandas_reads_nested_records(agent_log: Path) -> None:
    pd = pytest.importorskip("pandas")
    records = read_records(agent_log)
    frame = pd.concat(
        [pd.read_json(path, lines=True, compression="infer") for path in log_files(agent_log)],
        ignore_index=True,
    )
    assert len(frame) == len(records)
    calls = frame[frame["kind"] == "llm_call"]
    usage = pd.json_normalize(calls["gen_ai"].tolist())["usage.input_tokens"]
    assert usage.sum() == sum(c["gen_ai"]["usage"]["input_tokens"] for c in _calls(records))
    errors = frame[frame["kind"] == "run_error"]["error"].tolist()
    assert [e["type"] for e in errors] == ["RuntimeError"]
    assert "Traceback" in errors[0]["traceback"]


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed (CI installs it)")
def test_readme_jq_recipe_reads_gzipped_files_and_skips_a_torn_line(
    agent_log: Path, tmp_path: Path
) -> None:
    assert JQ_RECIPE in (ROOT / "README.md").read_text(encoding="utf-8")
    copy = tmp_path / "data" / "raw_events"
    shutil.copytree(agent_log, copy)
    with open(copy / "events.jsonl", "ab") as stream:
        stream.write(b'{"ts":"2026-11-30T10:00:00.000000+00:00","run_id":"torn","ev')
    done = subprocess.run(
        ["bash", "-c", JQ_RECIPE], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    ends = [r for r in read_records(agent_log) if r["kind"] in ("run_ok", "run_error")]
    assert [r["run_id"] for r in rows] == [r["run_id"] for r in ends]
    assert [r["error"] for r in rows] == [r.get("error", {}).get("type") for r in ends]
    assert rows[-1]["error"] == "RuntimeError"


@pytest.mark.skipif(shutil.which("lnav") is None, reason="lnav is not installed (CI installs it)")
def test_lnav_recognises_the_shipped_format(agent_log: Path, tmp_path: Path) -> None:
    format_file = resources.files("llmops_logging") / "lnav_format.json"
    env = {**os.environ, "HOME": str(tmp_path)}  # lnav installs formats under ~/.lnav
    install = subprocess.run(
        ["lnav", "-i", str(format_file)], env=env, capture_output=True, text=True, timeout=120
    )
    assert install.returncode == 0, install.stderr
    query = (
        ";SELECT log_format, log_level, log_opid, log_body, count(*) AS n FROM all_logs "
        "WHERE log_level IN ('error', 'warning') GROUP BY 1, 2, 3, 4 ORDER BY 4"
    )
    done = subprocess.run(
        ["lnav", "-n", "-c", query, "-c", ":write-json-to -", *map(str, log_files(agent_log))],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    failed = next(r for r in read_records(agent_log) if r["kind"] == "run_error")
    assert {r["log_format"] for r in rows} == {"llmops_logging_jsonl"}
    assert {r["log_opid"] for r in rows} == {failed["run_id"]}
    assert {r["log_body"] for r in rows} >= {"run_error", "step_error", f"chat {MODELS[1]}"}


def test_parquet_export_keeps_ts_as_utc_time_and_nesting_for_duckdb(
    agent_log: Path, tmp_path: Path
) -> None:
    duckdb = pytest.importorskip("duckdb")
    pytest.importorskip("pyarrow")
    out = tmp_path / "events.parquet"
    assert main(["export", "--format", "parquet", "--out", str(out), str(agent_log)]) == 0
    records = read_records(agent_log)
    types = {row[0]: row[1] for row in duckdb.sql(f"DESCRIBE SELECT * FROM '{out}'").fetchall()}
    assert types["ts"] == "TIMESTAMP WITH TIME ZONE"
    assert types["gen_ai"].startswith("STRUCT(")
    rows = duckdb.sql(
        f"""SELECT epoch_us(ts), gen_ai.usage.input_tokens, error.type, parent_id
            FROM '{out}' ORDER BY ts, seq"""
    ).fetchall()
    assert len(rows) == len(records)
    from llmops_logging.reader import parse_ts

    expected = sorted(records, key=lambda r: (r["ts"], r["seq"]))
    assert [r[0] for r in rows] == [
        int(parse_ts(e["ts"]).timestamp()) * 1_000_000 + parse_ts(e["ts"]).microsecond
        for e in expected
    ]
    assert [r[1] for r in rows] == [
        e.get("gen_ai", {}).get("usage", {}).get("input_tokens") for e in expected
    ]
    assert [r[2] for r in rows] == [e.get("error", {}).get("type") for e in expected]
    assert [r[3] for r in rows] == [e.get("parent_id") for e in expected]


@pytest.mark.parametrize("batch_bytes", [1, 4 << 20], ids=["a-batch-per-record", "one-batch"])
def test_parquet_export_turns_fields_of_mixed_types_into_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_bytes: int
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    monkeypatch.setattr("llmops_logging.cli.export.parquet.BATCH_BYTES", batch_bytes)
    log = tmp_path / "mixed.jsonl"
    lines = [
        {"ts": "2026-11-30T10:00:00.000000+00:00", "kind": "a", "x": 1, "y": {"z": 1}},
        {"ts": "2026-11-30T10:00:01.000000+00:00", "kind": "a", "x": "one", "y": {"z": 2.5}},
        {"ts": "yesterday", "kind": "b", "x": {"k": [1]}, "e": {}},
        {"note": "another tool"},
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "mixed.parquet"
    assert main(["export", "--format", "parquet", "--out", str(out), str(log)]) == 0
    table = pq.read_table(out)
    got = table.to_pylist()
    assert [r["x"] for r in got] == ["1", "one", '{"k":[1]}', None]
    assert [r["y"] for r in got] == [{"z": 1.0}, {"z": 2.5}, None, None]
    assert got[0]["ts"].isoformat() == "2026-11-30T10:00:00+00:00"
    assert got[2]["ts"] is None and got[3]["note"] == "another tool"


def test_otlp_export_parses_as_export_trace_service_requests(
    agent_log: Path, tmp_path: Path
) -> None:
    pytest.importorskip("opentelemetry.proto")
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

    out = tmp_path / "traces.otlp.jsonl"
    assert main(["export", "--format", "otlp", "--out", str(out), str(agent_log)]) == 0
    records = read_records(agent_log)
    runs = [r for r in records if r["kind"] == "run_start"]
    lines = out.read_text().splitlines()
    assert len(lines) == len(runs)
    for run, line in zip(runs, lines, strict=True):
        request = json_format.Parse(line, ExportTraceServiceRequest())
        spans = request.resource_spans[0].scope_spans[0].spans
        # OTLP/JSON writes ids as hex; protobuf's own JSON mapping reads bytes as base64.
        raw = json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]
        assert {s["traceId"] for s in raw} == {run["run_id"].replace("-", "")}
        assert all(base64.b64encode(s.trace_id).decode() == run["run_id"].replace("-", "")
                   for s in spans)  # fmt: skip
        by_name = {s.name: s for s in spans}
        root = by_name["run triage"]
        assert not root.parent_span_id
        steps = [r for r in records if r["run_id"] == run["run_id"] and r["kind"] == "step_start"]
        calls = [r for r in _calls(records) if r["run_id"] == run["run_id"]]
        assert len(spans) == 1 + len(steps) + len(calls)
        assert by_name["plan"].parent_span_id == root.span_id
        assert by_name["answer"].parent_span_id == by_name["plan"].span_id
        for call in calls:
            # The documented derivation: the first 16 hex digits of the SHA-256 of the compact
            # JSON array [run_id, step_id].
            ids = json.dumps([call["run_id"], call["step_id"]], separators=(",", ":"))
            wanted = hashlib.sha256(ids.encode()).hexdigest()[:16]
            span = spans[[s["spanId"] for s in raw].index(wanted)]
            assert span.kind == Span.SPAN_KIND_CLIENT and span.name == call["event"]

            attributes = {a.key: a.value for a in span.attributes}
            assert (
                attributes["gen_ai.request.model"].string_value
                == call["gen_ai"]["request"]["model"]
            )
            assert (
                attributes["gen_ai.usage.input_tokens"].int_value
                == call["gen_ai"]["usage"]["input_tokens"]
            )
            assert span.parent_span_id == by_name["answer"].span_id
            assert span.end_time_unix_nano - span.start_time_unix_nano == pytest.approx(
                call["duration_s"] * 1e9, abs=2_000
            )
        failed = any(r["kind"] == "run_error" and r["run_id"] == run["run_id"] for r in records)
        assert root.status.code == (Status.STATUS_CODE_ERROR if failed else Status.STATUS_CODE_OK)
        if failed:
            assert any(e.name == "exception" for e in root.events)
