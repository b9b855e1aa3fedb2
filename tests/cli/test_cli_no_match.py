"""A filter that matches nothing says so on stderr, rather than look like an empty log.

The log is the shared rotated one (three runs, steps, samples, a stdlib record, a torn line,
a foreign record); the kinds it holds are read from the files raw, not from the command.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import llmops_logging as ll

from ..conftest import build_rotated_log, cli, raw_files, raw_scan, table


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log_dir = tmp_path_factory.mktemp("no_match") / "logs"
    build_rotated_log(log_dir)
    ll.reset()
    return log_dir


def notes(stderr: str) -> list[str]:
    """What the command said on stderr, but the torn line every read of this log reports."""
    return [x for x in stderr.splitlines() if x and "skipped 1 torn" not in x]


def test_a_run_prefix_that_matches_no_run(rotated: Path) -> None:
    done = cli("runs", "--run", "zzz", rotated)
    assert notes(done.stderr) == ["llmops-logs: no run id starts with 'zzz'"]
    assert table(done.stdout) == [table(cli("runs", rotated).stdout)[0]]  # the header only
    first = raw_scan(raw_files(rotated))[0][0]["run_id"]
    done = cli("runs", "--json", "--run", f"zzz,{first[:8]}", rotated)
    assert [r["run_id"] for r in json.loads(done.stdout)["runs"]] == [first]
    assert notes(done.stderr) == ["llmops-logs: no run id starts with 'zzz'"]


def test_a_kind_that_no_record_has_names_the_kinds_seen(rotated: Path) -> None:
    records = raw_scan(raw_files(rotated))[0]
    kinds = sorted({r["kind"] for r in records if isinstance(r.get("kind"), str)})
    assert {"sample", "step_ok", "run_error"} <= set(kinds)
    done = cli("tail", "--kind", "llmcall", rotated)
    assert done.stdout == ""
    assert notes(done.stderr) == [
        f"llmops-logs: no record of kind 'llmcall'; kinds seen: {', '.join(kinds)}"
    ]
    done = cli("tail", "--json", "--kind", "sample,llmcall", rotated)  # one of two matches
    assert {json.loads(x)["kind"] for x in done.stdout.splitlines()} == {"sample"}
    assert notes(done.stderr)[0].startswith("llmops-logs: no record of kind 'llmcall'; kinds")


def test_a_field_no_record_has(rotated: Path) -> None:
    done = cli("stats", "--by", "nosuchfield", rotated)
    assert notes(done.stderr) == ["llmops-logs: no record has field 'nosuchfield'"]
    done = cli("stats", "--json", "--by", "nosuchfield", rotated)
    assert json.loads(done.stdout)["groups"] == []
    assert notes(done.stderr) == ["llmops-logs: no record has field 'nosuchfield'"]
    assert notes(cli("stats", "--by", "attempt", rotated).stderr) == []  # a field some have


@pytest.mark.parametrize(
    ("filters", "said"),
    [
        (["--level", "critical"], "no record at level critical or above"),
        (["--since", "2100-01-01"], "no record at or after 2100-01-01T00:00:00+00:00"),
        (["--until", "2000-01-01"], "no record before 2000-01-01T00:00:00+00:00"),
        (["--grep", "nomatch[z]"], "no record matches --grep 'nomatch[z]'"),
        (["--kind", "run_ok", "--level", "error"], "no record matches all the filters together"),
    ],
)
@pytest.mark.parametrize("command", ["tail", "runs", "stats", "validate"])
def test_each_filter_that_matches_nothing_says_so(
    rotated: Path, command: str, filters: list[str], said: str
) -> None:
    done = cli(command, *filters, rotated, status=1 if command == "validate" else 0)
    assert notes(done.stderr) == [f"llmops-logs: {said}"]


def test_records_that_hold_no_run_or_no_group(rotated: Path) -> None:
    samples = sum(r.get("kind") == "sample" for r in raw_scan(raw_files(rotated))[0])
    done = cli("runs", "--kind", "sample", rotated)
    assert notes(done.stderr) == [
        f"llmops-logs: no run: none of the {samples} records matched is a run_start or run end"
    ]
    done = cli("stats", "--kind", "sample", rotated)
    assert notes(done.stderr) == [
        f"llmops-logs: no run or step end and no llm_call among the {samples} records matched"
    ]


def test_a_filter_that_matches_says_nothing(rotated: Path) -> None:
    for command in ("tail", "runs", "stats", "validate"):
        done = cli(command, "--kind", "run_ok", rotated, status=None)
        assert notes(done.stderr) == [], command
