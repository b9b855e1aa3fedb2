"""A field the library writes as a float is a JSON float (`0.0`, never `0`), so a columnar
reader that infers its types from the first rows never types the column as integers and
silently rounds, or refuses, a later fractional value."""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb
import polars as pl

import llmops_logging as ll

from .conftest import read_records

CALLS = 25_000


def test_temperature_zero_then_fractional_reads_back_exactly_in_duckdb_and_polars(
    tmp_path: Path,
) -> None:
    ll.configure(tmp_path, max_bytes=2**30, redact=False)  # the subject is types, not secrets
    started = time.perf_counter()
    for _ in range(CALLS):
        with ll.llm_call("m", provider="local") as call:
            call.set_request(temperature=0)
    with ll.llm_call("m", provider="local") as call:
        call.set_request(temperature=0.7)
    ll.reset()
    print(f"{CALLS + 1} calls in {time.perf_counter() - started:.2f}s")
    live = tmp_path / "events.jsonl"
    first = live.open("rb").readline()
    assert b'"temperature":0.0' in first
    con = duckdb.connect()
    duck = con.execute(
        "select gen_ai.request.temperature from read_json_auto(?)", [str(live)]
    ).fetchall()
    assert len(duck) == CALLS + 1
    assert duck[-1][0] == 0.7 and {row[0] for row in duck[:-1]} == {0.0}
    frame = pl.read_ndjson(live)
    temperatures = frame["gen_ai"].struct.field("request").struct.field("temperature")
    assert temperatures.dtype == pl.Float64 and temperatures[-1] == 0.7


def test_every_request_parameter_the_conventions_type_as_double_is_written_as_a_float(
    tmp_path: Path,
) -> None:
    ll.configure(tmp_path)
    params = {"temperature": 0, "top_p": 1, "top_k": 40, "frequency_penalty": 0,
              "presence_penalty": -1}  # fmt: skip
    with ll.llm_call("m", provider="local") as call:
        call.set_request(max_tokens=100, seed=7, **params)
    with ll.llm_call("m", provider="local") as call:
        call.request.update(params)  # how the SDK instrumentations fill it in
        call.request["temperature"] = True  # not a number: kept as given
    first, second = (r["gen_ai"]["request"] for r in read_records(tmp_path))
    raw = (tmp_path / "events.jsonl").read_text().splitlines()
    for name, value in params.items():
        assert first[name] == value and isinstance(first[name], float), name
        assert f'"{name}":{float(value)!r}' in raw[0], name
    assert (first["max_tokens"], first["seed"]) == (100, 7)  # integers in the conventions
    assert '"max_tokens":100,' in raw[0]
    assert second["top_p"] == 1.0 and '"top_p":1.0' in raw[1]
    assert second["temperature"] is True
    durations = [r["duration_s"] for r in map(json.loads, raw)]
    assert all(isinstance(d, float) for d in durations)
