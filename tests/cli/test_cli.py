"""llmops-logs, run as a real process on a smoke-run log and on a rotated, gzipped, torn log.

Expected values come from reading the files raw (see test_reader's helpers), never from the
command under test.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import statistics
import subprocess
import sys
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson
import pytest

import llmops_logging as ll
from llmops_logging.cli.export import flat

from ..conftest import (
    ENV,
    FOREIGN,
    INVALID,
    ROOT,
    build_rotated_log,
    cli,
    raw_files,
    raw_scan,
    raw_where,
    table,
)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = tmp_path_factory.mktemp("smoke") / "data"
    done = subprocess.run(
        [sys.executable, "examples/smoke.py", "--data-dir", str(data)],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    printed = dict(line.split(":", 1) for line in done.stdout.splitlines())
    raw = data / "raw_events"
    records = raw_scan(raw_files(raw))[0]
    return {
        "data": data,
        "raw": raw,
        "records": records,
        "run_id": printed["run_id"].strip(),
        "ok_rate": float(printed["ok_rate"]),
    }


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log_dir = tmp_path_factory.mktemp("rotated") / "logs"
    build_rotated_log(log_dir)
    ll.reset()
    return log_dir


# -- tail ---------------------------------------------------------------------------------------


def test_tail_json_gives_the_last_records_exactly(smoke: dict[str, Any], rotated: Path) -> None:
    assert [json.loads(x) for x in cli("tail", "-n", 3, "--json", smoke["raw"]).stdout
            .splitlines()] == smoke["records"][-3:]  # fmt: skip
    expected = raw_scan(raw_files(rotated))[0]
    done = cli("tail", "-n", 1000, "--json", rotated)
    assert [json.loads(x) for x in done.stdout.splitlines()] == expected
    assert "skipped 1 torn" in done.stderr


def test_tail_readable_lines(smoke: dict[str, Any]) -> None:
    lines = cli("tail", smoke["raw"]).stdout.splitlines()
    assert len(lines) == 10
    last = smoke["records"][-1]
    assert lines[-1].startswith(last["ts"][:10] + " " + last["ts"][11:23])
    assert "INFO" in lines[-1] and "run_ok" in lines[-1] and smoke["run_id"][:8] in lines[-1]
    assert "\x1b[" not in lines[-1]
    colored = cli("tail", "-n", 1, "--color", "always", smoke["raw"]).stdout
    assert "\x1b[32m" in colored and "run_ok" in colored
    foreign = cli("tail", "-n", 1, smoke["raw"] / "00_smoke.jsonl").stdout
    assert json.loads(foreign)["run_id"] == smoke["run_id"]


def test_tail_shows_values_nested_past_every_encoders_depth(tmp_path: Path) -> None:
    """A list 300 levels deep (orjson writes 255) and an object as deep as a reader reads
    (1,024): each record is one line in text and in JSON, the list as logged and the object
    whole or cut where the encoder stops, with the marker."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir(mode=0o700)
    head = '{"ts":"2026-01-01T00:00:00.000000+00:00","run_id":"r","level":"info","event":"e"'
    deep_list = "[" * 300 + "1" + "]" * 300
    deep_dict = '{"d":' * 1021 + "1" + "}" * 1021
    lines = [f'{head},"deep_list":{deep_list}}}', f'{head},"deep":{deep_dict}}}']
    (log_dir / "events.jsonl").write_text("".join(line + "\n" for line in lines))
    text = cli("tail", log_dir).stdout.splitlines()
    assert len(text) == 2 and f"deep_list={deep_list} " in text[0]
    assert ' e  deep={"d":{"d":{"d":' in text[1]
    shown = [orjson.loads(line) for line in cli("tail", "--json", log_dir).stdout.splitlines()]
    assert shown[0] == orjson.loads(lines[0])
    deep = json.dumps(shown[1]["deep"], separators=(",", ":"))
    assert deep.startswith('{"d":{"d":') and (deep == deep_dict or flat.TOO_DEEP in deep)


def test_tail_shows_core_fields_that_are_not_text_as_their_json(tmp_path: Path) -> None:
    """A foreign writer's time, level, logger, event and run id that are objects, lists,
    booleans or null: the line shows each as its JSON (what was logged), never Python's
    spelling (`{'k': 1}`, `True`, `None`)."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir(mode=0o700)
    record = {"ts": {"at": "now"}, "level": True, "logger": ["a", "b"], "event": {"ev": "x"},
              "run_id": {"id": "r"}, "kind": "log"}  # fmt: skip
    null = {"ts": None, "level": None, "logger": None, "event": None, "run_id": None}
    (log_dir / "events.jsonl").write_text(f"{json.dumps(record)}\n{json.dumps(null)}\n")
    first, second = cli("tail", log_dir).stdout.splitlines()
    assert first.split() == ['{"at":"now"}', "true", '["a","b"]', '{"ev":"x"}', 'run={"id":"r']
    assert second.split() == ["-", "-", "-", "-"]


# -- runs ---------------------------------------------------------------------------------------


def test_runs_on_the_smoke_log(smoke: dict[str, Any]) -> None:
    runs = json.loads(cli("runs", "--json", smoke["raw"]).stdout)["runs"]
    run_ok = smoke["records"][-1]
    assert runs == [{
        "run_id": smoke["run_id"], "name": "smoke", "start": smoke["records"][0]["ts"],
        "status": "ok", "duration_s": run_ok["duration_s"], "events": 12, "samples": 10,
        "ok_rate": smoke["ok_rate"], "error": None, "error_type": None,
    }]  # fmt: skip
    rows = table(cli("runs", smoke["raw"]).stdout)
    assert rows[0] == ["run_id", "name", "start (UTC)", "status", "duration", "events", "ok_rate",
                       "error"]  # fmt: skip
    assert rows[1][:4] == [smoke["run_id"][:8], "smoke", smoke["records"][0]["ts"][:10] + " "
                           + smoke["records"][0]["ts"][11:19], "ok"]  # fmt: skip
    assert rows[1][4] == f"{run_ok['duration_s'] * 1000:.3f}ms"  # the smoke run: ~0.1 s
    assert rows[1][5:] == ["12", f"{smoke['ok_rate']:.2f}", "-"]


def test_runs_on_the_rotated_log(rotated: Path) -> None:
    records = raw_scan(raw_files(rotated))[0]
    done = cli("runs", "--json", rotated)
    runs = json.loads(done.stdout)["runs"]
    assert [r["status"] for r in runs] == ["ok", "ok", "error"]
    ends = [r for r in records if r.get("kind") in ("run_ok", "run_error")]
    assert [r["duration_s"] for r in runs] == [r["duration_s"] for r in ends]
    assert [r["events"] for r in runs] == [
        sum(x.get("run_id") == r["run_id"] for x in records) for r in runs
    ]
    assert [r["ok_rate"] for r in runs] == [0.5, 0.5, pytest.approx(4 / 6)]
    assert runs[2]["error"] == "RuntimeError: model timeout"
    assert [r["error_type"] for r in runs] == [None, None, "RuntimeError"]
    rows = table(cli("runs", rotated).stdout)
    assert [row[7] for row in rows[1:]] == ["-", "-", "RuntimeError"]
    units = {re.sub(r"^[\d,.]+", "", row[4]) for row in rows[1:]}
    assert len(units) == 1 and units < {"µs", "ms", "s"}  # one unit down the column
    assert json.loads(done.stdout)["read"]["bad_count"] == 1
    running = cli("runs", "--json", "--kind", "run_start,sample", rotated)
    assert {r["status"] for r in json.loads(running.stdout)["runs"]} == {"running"}


# -- stats --------------------------------------------------------------------------------------


def _quantiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else []
    pick = (lambda i: cuts[i]) if cuts else (lambda i: values[0])
    return {"p50_s": pick(49), "p95_s": pick(94), "p99_s": pick(98), "max_s": max(values)}


def test_stats_by_name_on_the_rotated_log(rotated: Path) -> None:
    records = raw_scan(raw_files(rotated))[0]
    groups = {g["key"]: g for g in json.loads(cli("stats", "--json", rotated).stdout)["groups"]}
    assert set(groups) == {"step call_llm", "run agent"}
    for key, kinds in (("step call_llm", ("step_ok", "step_error")),
                       ("run agent", ("run_ok", "run_error"))):  # fmt: skip
        ends = [r for r in records if r.get("kind") in kinds]
        group = groups[key]
        assert group["records"] == len(ends)
        assert group["errors"] == sum(r["kind"].endswith("_error") for r in ends)
        for name, value in _quantiles([r["duration_s"] for r in ends]).items():
            assert group[name] == pytest.approx(value, rel=1e-9), (key, name)
    assert groups["run agent"]["error_rate"] == pytest.approx(1 / 3)
    rows = table(cli("stats", rotated).stdout)
    assert rows[0][:4] == ["run/step name", "count", "errors", "error_rate"]
    assert next(r for r in rows if r[0] == "run agent")[:4] == ["run agent", "3", "1", "33.3%"]


@pytest.mark.parametrize("by", ["kind", "event", "logger", "level"])
def test_stats_by_field(rotated: Path, by: str) -> None:
    records = raw_scan(raw_files(rotated))[0]
    counts = Counter(str(r.get(by, "-")) for r in records)
    groups = json.loads(cli("stats", "--by", by, "--json", rotated).stdout)["groups"]
    assert {g["key"]: g["records"] for g in groups} == counts
    errors = Counter(
        str(r.get(by, "-"))
        for r in records
        if r.get("level") == "error" or str(r.get("kind")).endswith("_error")
    )
    assert {g["key"]: g["errors"] for g in groups if g["errors"]} == errors


def test_stats_by_run_on_the_smoke_log(smoke: dict[str, Any]) -> None:
    groups = json.loads(cli("stats", "--by", "run", "--json", smoke["raw"]).stdout)["groups"]
    assert [(g["key"], g["name"], g["records"]) for g in groups] == [(smoke["run_id"], "smoke", 12)]


# -- validate -----------------------------------------------------------------------------------


def test_validate_a_clean_smoke_log(smoke: dict[str, Any]) -> None:
    done = cli("validate", smoke["raw"])
    assert done.stdout.startswith("ok: 12 lines in 1 file: 12 valid, 0 invalid, 0 torn")
    summary = json.loads(cli("validate", "--json", smoke["raw"] / "00_smoke.jsonl").stdout)
    assert (summary["ok"], summary["foreign"], summary["valid"]) == (True, 1, 0)


def test_validate_reports_each_problem_by_file_and_line(rotated: Path) -> None:
    files = raw_files(rotated)
    records, bad, lines = raw_scan(files)
    done = cli("validate", rotated, status=1)
    problems = done.stdout.splitlines()[:-1]
    torn = [p for p in problems if "torn" in p]
    assert [p.rsplit(": torn", 1)[0] for p in torn] == bad
    invalid = [p for p in problems if "torn" not in p]
    # Found by a raw scan, wherever it is: a rotation (its timing depends on the handler's
    # check interval and on record sizes) may have moved it out of the live file.
    where = raw_where(files, json.dumps(INVALID).encode())
    assert len(invalid) == 1 and invalid[0].startswith(f"{where}: ")
    assert "ts: 'yesterday' does not match" in invalid[0] and "seq: missing" in invalid[0]
    assert done.stdout.splitlines()[-1].startswith(
        f"FAILED: {lines} lines in {len(files)} files: {len(records) - 2} valid, 1 invalid, "
        "1 torn, 1 foreign"
    )
    summary = json.loads(cli("validate", "--json", rotated, status=1).stdout)
    assert summary["foreign"] == 1 and summary["torn"] == 1 and not summary["ok"]
    assert [p["where"] for p in summary["problems"]] == [p.split(": ")[0] for p in problems]


# -- export -------------------------------------------------------------------------------------


def test_export_csv_defaults_to_derived_beside_raw_events(smoke: dict[str, Any]) -> None:
    done = cli("export", smoke["raw"])
    out = smoke["data"] / "derived" / "events.csv"
    assert str(out) in done.stdout
    with open(out, newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 12
    assert list(rows[0])[:9] == ["ts", "run_id", "event", "kind", "level", "logger",
                                 "event_id", "seq", "pid"]  # fmt: skip
    assert [r["seq"] for r in rows] == [str(r["seq"]) for r in smoke["records"]]
    assert rows[-1]["counts.sample"] == "10" and rows[1]["ok"] in ("true", "false")
    assert rows[0]["ok_rate"] == "" and float(rows[-1]["ok_rate"]) == smoke["ok_rate"]


def test_export_csv_of_the_rotated_log_with_out(rotated: Path, tmp_path: Path) -> None:
    records = raw_scan(raw_files(rotated))[0]
    out = tmp_path / "x" / "all.csv"
    summary = json.loads(cli("export", "--json", "--out", out, rotated).stdout)
    with open(out, newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert summary["rows"] == len(rows) == len(records)
    assert {"error.type", "error.message", "counts.sample", "note"} <= set(rows[0])
    assert [r["error.type"] for r in rows if r["error.type"]] == ["RuntimeError"]
    assert rows[records.index(FOREIGN)]["note"] == FOREIGN["note"]
    samples = cli("export", "--json", "--kind", "sample", "--out", out, rotated)
    assert json.loads(samples.stdout)["rows"] == sum(r.get("kind") == "sample" for r in records)


def test_export_parquet(rotated: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    records = raw_scan(raw_files(rotated))[0]
    out = tmp_path / "events.parquet"
    cli("export", "--format", "parquet", "--out", out, rotated)
    got = pq.read_table(out).to_pylist()
    assert len(got) == len(records)
    assert [r["seq"] for r in got] == [r.get("seq") for r in records]
    assert [r["duration_s"] for r in got] == [r.get("duration_s") for r in records]
    assert [r["ok"] for r in got] == [r.get("ok") for r in records]


def test_export_parquet_without_pyarrow_says_how_to_get_it(
    smoke: dict[str, Any], tmp_path: Path
) -> None:
    code = ("import sys; sys.modules['pyarrow'] = None; from llmops_logging.cli import main; "
            "sys.exit(main(sys.argv[1:]))")  # fmt: skip
    out = tmp_path / "e.parquet"
    done = subprocess.run(
        [sys.executable, "-c", code, "export", "--format", "parquet", "--out", str(out),
         str(smoke["raw"])], capture_output=True, text=True, env=ENV,
    )  # fmt: skip
    assert done.returncode == 1
    assert "pip install 'llmops_logging[export]'" in done.stderr and not out.exists()


# -- paths, filters, help -----------------------------------------------------------------------


def test_default_path_is_env_then_data_raw_events(smoke: dict[str, Any], tmp_path: Path) -> None:
    from_env = cli("runs", "--json", env={**ENV, "LLMOPS_LOG_DIR": str(smoke["raw"])})
    assert json.loads(from_env.stdout)["runs"][0]["run_id"] == smoke["run_id"]
    from_cwd = cli("runs", "--json", cwd=smoke["data"].parent)  # data/raw_events under cwd
    assert json.loads(from_cwd.stdout)["runs"][0]["run_id"] == smoke["run_id"]
    missing = cli("runs", cwd=tmp_path, status=2)
    assert "no such file or directory: data/raw_events" in missing.stderr
    assert missing.stdout == ""


@pytest.mark.parametrize("command", ["tail", "runs", "stats", "scores", "validate", "export"])
def test_every_command_rejects_a_missing_path_and_has_help(command: str, tmp_path: Path) -> None:
    done = cli(command, tmp_path / "nope", status=2)
    assert f"no such file or directory: {tmp_path / 'nope'}" in done.stderr
    assert "Traceback" not in done.stderr
    helped = cli(command, "--help").stdout
    for option in ("--run", "--kind", "--level", "--since", "--until", "--grep", "--json"):
        assert option in helped


def test_files_other_tools_named_are_reported_not_read(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    ll.configure(log_dir)
    ll.get_logger("t").info("n", i=0)
    ll.reset()
    other = log_dir / "events.jsonl.2"  # logrotate's name
    other.write_text('{"other": 2}\n')
    note = (
        "not read: 1 file named like the log but not of its rotation (name one to read it): "
        f"{other}"
    )
    tail = cli("tail", "--json", log_dir)
    assert [json.loads(x)["i"] for x in tail.stdout.splitlines()] == [0]
    assert note in tail.stderr
    assert cli("runs", log_dir).stdout.splitlines()[-1].endswith(note)
    validate = cli("validate", log_dir)
    assert note in validate.stderr and validate.stdout.startswith("ok: 1 line in 1 file")
    assert json.loads(cli("validate", "--json", log_dir).stdout)["unread"] == [str(other)]
    assert json.loads(cli("tail", "--json", other).stdout) == {"other": 2}  # named alone


def test_filters_on_every_command(rotated: Path) -> None:
    records = [r for r in raw_scan(raw_files(rotated))[0] if "seq" in r]
    failed = next(r["run_id"] for r in records if r["kind"] == "run_error")
    in_run = [r for r in records if r["run_id"] == failed]
    since, until = in_run[3]["ts"], in_run[-1]["ts"]
    window = [r for r in records if since <= r["ts"] < until]
    filters = ["--run", failed[:8], "--since", since, "--until", until]
    tail = cli("tail", "-n", 1000, "--json", *filters, rotated).stdout.splitlines()
    assert [json.loads(x) for x in tail] == [r for r in window if r["run_id"] == failed]
    runs = json.loads(cli("runs", "--json", "--level", "error", rotated).stdout)["runs"]
    assert [r["run_id"] for r in runs] == [failed]
    stats = json.loads(cli("stats", "--json", "--kind", "step_ok", "--grep", '"i":[05]\\b',
                           rotated).stdout)["groups"]  # fmt: skip
    assert [(g["key"], g["records"]) for g in stats] == [("step call_llm", 6)]
    valid = json.loads(cli("validate", "--json", "--run", failed, rotated, status=1).stdout)
    assert valid["valid"] == len(in_run) and valid["invalid"] == 0 and valid["torn"] == 1
    exported = json.loads(cli("export", "--json", "--level", "warning", "--out",
                              rotated.parent / "w.csv", rotated).stdout)  # fmt: skip
    assert exported["rows"] == sum(r["level"] in ("warning", "error") for r in records)
    empty = cli("tail", "--json", "--since", "1h", "--until", "2000-01-01", rotated)
    assert empty.stdout == ""
    bad = cli("tail", "--since", "soon", rotated, status=2)
    assert "neither an ISO time nor an age" in bad.stderr


def test_several_paths_are_read_one_after_the_other(smoke: dict[str, Any]) -> None:
    done = cli("tail", "-n", 2, "--json", smoke["raw"], smoke["raw"] / "00_smoke.jsonl")
    last = [json.loads(x) for x in done.stdout.splitlines()]
    assert last[0] == smoke["records"][-1] and "samples" in last[1]


def test_console_script_is_installed() -> None:
    """The installed `llmops-logs` script, beside the interpreter (a venv's or the system's
    `bin`) or else on PATH; running it with the test's PYTHONPATH imports this checkout."""
    (entry,) = metadata.entry_points(group="console_scripts", name="llmops-logs")
    assert entry.value == "llmops_logging.cli:main"
    beside = Path(sys.executable).parent / "llmops-logs"
    script = str(beside) if beside.exists() else shutil.which("llmops-logs")
    assert script, f"llmops-logs is neither in {beside.parent} nor on PATH: pip install -e ."
    done = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("llmops-logs ")


def test_rich_tables_in_colour_on_request_and_light_ones_on_a_pipe(
    smoke: dict[str, Any],
) -> None:
    fancy = cli("runs", "--color", "always", smoke["raw"]).stdout
    assert "\x1b[" in fancy and "━" in fancy and smoke["run_id"][:8] in fancy
    plain = cli("runs", smoke["raw"]).stdout  # a pipe: rich, no colour, a rule under the header
    assert "\x1b[" not in plain and "━" not in plain and "─" in plain.splitlines()[1]
    assert table(plain)[1][:2] == [smoke["run_id"][:8], "smoke"]
    assert cli("runs", "--color", "never", smoke["raw"]).stdout == plain


@pytest.mark.parametrize("command", [["runs"], ["stats"], ["stats", "--by", "run"]])
def test_tables_on_a_pipe_have_no_trailing_spaces(
    command: list[str], smoke: dict[str, Any], rotated: Path
) -> None:
    for log in (smoke["raw"], rotated):
        lines = cli(*command, log).stdout.splitlines()  # stdout is a pipe
        assert len(lines) > 2
        assert [line for line in lines if line != line.rstrip()] == []


def test_without_the_cli_extra_one_message_says_how_to_get_it(smoke: dict[str, Any]) -> None:
    for blocked in ("rich", "fastjsonschema"):
        code = (f"import sys; sys.modules[{blocked!r}] = None; from llmops_logging.cli import "
                "main; sys.exit(main(sys.argv[1:]))")  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-c", code, "runs", str(smoke["raw"])],
            capture_output=True, text=True, env=ENV,
        )  # fmt: skip
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.strip() == (
            f"llmops-logs: {blocked} is not installed: the commands of llmops-logs need the "
            "[cli] extra; install it with: pip install 'llmops_logging[cli]'"
        )
    helped = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True,
                            text=True, env=ENV)  # fmt: skip
    assert helped.returncode == 0 and "COMMAND" in helped.stdout  # help needs no extra


# -- what a new user tripped on -----------------------------------------------------------------


def test_no_arguments_list_the_commands() -> None:
    done = cli()
    for command in ("tail", "runs", "stats", "validate", "export", "report"):
        assert f"\n    {command} " in done.stdout
    assert done.stderr == ""


def test_a_run_prefix_of_several_runs_is_an_error(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    ll.configure(log_dir)
    run_ids = []
    for n in range(2):
        with ll.run("r", n=n) as run:
            run_ids.append(run.run_id)
    ll.reset()
    live = log_dir / "events.jsonl"  # give both runs the same first characters
    shared = [("aaaa1111-" + r[9:], r) for r in run_ids]
    text = live.read_text()
    for new, old in shared:
        text = text.replace(old, new)
    live.write_text(text)
    for command in ("tail", "runs", "stats", "validate", "export"):
        done = cli(command, "--run", "aaaa", log_dir, status=2)
        assert "--run aaaa matches several runs: " in done.stderr, done.stderr
        assert shared[0][0] in done.stderr and shared[1][0] in done.stderr
        assert "Traceback" not in done.stderr
    one = json.loads(cli("runs", "--json", "--run", shared[1][0][:12], log_dir).stdout)
    assert [r["run_id"] for r in one["runs"]] == [shared[1][0]]
    both = json.loads(cli("runs", "--json", "--run", f"{shared[0][0]},{shared[1][0]}",
                          log_dir).stdout)  # fmt: skip
    assert len(both["runs"]) == 2  # whole ids, each matching one run


def test_a_directory_with_raw_events_below_is_read_as_that(smoke: dict[str, Any]) -> None:
    data = smoke["raw"].parent
    assert cli("runs", "--json", data).stdout == cli("runs", "--json", smoke["raw"]).stdout
    assert smoke["run_id"][:8] in cli("tail", "-n", 1, data).stdout


def test_a_directory_with_no_log_says_so(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a log\n")
    for command in ("tail", "runs", "stats", "validate", "export", "report"):
        done = cli(command, tmp_path, status=2)
        assert done.stderr.strip() == (
            f"llmops-logs: no log in {tmp_path}: it holds no events.jsonl (nor rotated files "
            "of it) and no raw_events/ directory"
        )


def test_counts_are_singular_or_plural(smoke: dict[str, Any], tmp_path: Path) -> None:
    one = smoke["raw"] / "00_smoke.jsonl"  # one record, one file
    assert cli("runs", one).stdout.splitlines()[-1] == "0 runs from 1 record in 1 file"
    stats = cli("stats", "--by", "kind", one).stdout.splitlines()[-1]
    assert stats == "1 group from 1 record in 1 file"
    runs = cli("runs", smoke["raw"]).stdout.splitlines()[-1]
    assert runs == "1 run from 12 records in 1 file"
    exported = cli("export", "--out", tmp_path / "one.csv", one).stdout
    assert exported.startswith("wrote 1 record, ")


def test_export_errors_name_the_users_path(smoke: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.mkdir()  # a directory where the file should go
    for fmt in ("csv", "parquet", "otlp"):
        done = cli("export", "--format", fmt, "--out", out, smoke["raw"], status=1)
        assert str(out) in done.stderr and ".tmp" not in done.stderr, done.stderr
