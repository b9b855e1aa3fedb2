"""The report's scores section: pass rates and Wilson intervals per score name and version
(against `scipy.stats`, computed here), their chart over time, and hostile score names shown as
text."""

from __future__ import annotations

import html
import random
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from scipy import stats

import llmops_logging as ll
from llmops_logging.cli import main

from ._chromium import CHROMIUM, Browser

pytest.importorskip("jinja2", reason="the report extra (jinja2, plotly) is not installed")
pytest.importorskip("plotly", reason="the report extra (jinja2, plotly) is not installed")

HOSTILE = '<script>document.title="pwned"</script>'
RATES = {"v1": 0.8, "v2": 0.45}


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple[str, str], list[bool]]]:
    """Two versions of 30 runs each, every run scored `correct` and the hostile name."""
    log_dir = tmp_path_factory.mktemp("report_scores") / "logs"
    ll.configure(log_dir)
    outcomes: dict[tuple[str, str], list[bool]] = {}
    for version, rate in RATES.items():
        for seed in range(30):
            with ll.run("eval", version=version, seed=seed):
                rng = random.Random(f"{version}-{seed}")
                for name in ("correct", HOSTILE):
                    passed = rng.random() < rate
                    ll.score(name, passed)
                    outcomes.setdefault((name, version), []).append(passed)
                ll.score("quality", 2.5)
    ll.reset()
    return log_dir, outcomes


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _rows(page: str) -> dict[tuple[str, str], list[str]]:
    body = re.search(r'<table id="scores">(.*?)</table>', page, re.S)
    assert body is not None, "no scores table"
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body[1], re.S):
        cells = [html.unescape(c) for c in re.findall(r"<td[^>]*>([^<]*)</td>", row)]
        if cells:
            rows[(cells[0], cells[1])] = cells[2:]
    return rows


def test_pass_rates_and_intervals_per_version_are_scipys(
    log: tuple[Path, dict[tuple[str, str], list[bool]]], tmp_path: Path
) -> None:
    log_dir, outcomes = log
    out = tmp_path / "report.html"
    assert main(["report", str(log_dir), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    rows = _rows(page)
    assert set(rows) == {*outcomes, ("quality", "v1"), ("quality", "v2")}
    for key, samples in outcomes.items():
        passes, n = sum(samples), len(samples)
        ci = stats.binomtest(passes, n).proportion_ci(method="wilson")
        count, mean, rate, interval = rows[key]
        assert count == str(n)
        assert rate == _pct(passes / n)
        assert interval == f"{_pct(ci.low)} to {_pct(ci.high)}"
        assert mean == f"{passes / n:.3g}"
    assert rows[("quality", "v1")] == ["30", "2.5", "-", "-"]
    # The chart: one line per pass/fail score and version, its points the rates per bucket.
    figures = re.search(
        r'<script type="application/json" id="report-figures">(.*?)</script>', page, re.S
    )
    assert figures is not None
    chart = orjson.loads(figures[1])["charts"]["chart-scores"]
    lines = {trace["name"]: trace["y"] for trace in chart["data"]}
    for (name, version), samples in outcomes.items():
        label = f"{html.escape(name, quote=False)} · {version}"
        assert lines[label] == [pytest.approx(100 * sum(samples) / len(samples))]
    assert HOSTILE not in page


def test_a_log_without_scores_has_no_scores_section(tmp_path: Path) -> None:
    ll.configure(tmp_path / "logs")
    with ll.run("plain"):
        ll.get_logger().info("nothing scored")
    ll.reset()
    out = tmp_path / "report.html"
    assert main(["report", str(tmp_path / "logs"), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert 'id="scores"' not in page and "chart-scores" not in page


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs it)")
def test_a_hostile_score_name_is_shown_as_text_and_runs_nothing(
    log: tuple[Path, dict[tuple[str, str], list[bool]]], tmp_path: Path
) -> None:
    log_dir, _ = log
    out = tmp_path / "report.html"
    assert main(["report", str(log_dir), "--out", str(out)]) == 0
    browser = Browser()
    try:
        browser.open(out.as_uri())
        title = browser.evaluate("document.title")
        names = browser.evaluate(
            "Array.from(document.querySelectorAll('#scores tr td:first-child'))"
            ".map(td => td.textContent)"
        )
        legend = browser.evaluate(
            "Array.from(document.querySelectorAll('#chart-scores .legendtext'))"
            ".map(t => t.textContent)"
        )
        scripts = browser.evaluate("document.querySelectorAll('main script').length")
    finally:
        browser.close()
    assert title != "pwned" and scripts == 0
    assert HOSTILE in names
    assert f"{HOSTILE} · v1" in legend


def _chart_of(page: str) -> dict[str, Any]:
    figures = re.search(
        r'<script type="application/json" id="report-figures">(.*?)</script>', page, re.S
    )
    assert figures is not None
    chart: dict[str, Any] = orjson.loads(figures[1])["charts"]["chart-scores"]
    return chart


@pytest.mark.parametrize(
    ("days", "bucket"), [([0, 0, 3, 3], "day"), ([0, 0, 0, 0], "hour")], ids=["days", "hours"]
)
def test_pass_rate_over_time_is_per_day_over_a_long_span_else_per_hour(
    tmp_path: Path, days: list[int], bucket: str
) -> None:
    """Four runs without a version (so grouped by run name), scored by `ll.score`, their
    records then dated three days apart or an hour apart."""
    log_dir = tmp_path / "logs"
    ll.configure(log_dir)
    outcomes = [[True, True, True, False], [True, False], [True], [False, False, True]]
    for passes in outcomes:
        with ll.run("nightly"):
            for passed in passes:
                ll.score("correct", passed)
    ll.reset()
    (events,) = log_dir.glob("*.jsonl")
    records = [orjson.loads(line) for line in events.read_bytes().splitlines()]
    run_ids = list(dict.fromkeys(r["run_id"] for r in records))
    for record in records:
        index = run_ids.index(record["run_id"])
        hour = 10 + (index if bucket == "hour" else 0)
        record["ts"] = f"2026-11-{10 + days[index]:02d}T{hour:02d}:30:00.000000+00:00"
    events.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    out = tmp_path / "report.html"
    assert main(["report", str(log_dir), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")

    if bucket == "day":
        groups = [outcomes[0] + outcomes[1], outcomes[2] + outcomes[3]]
        starts = ["2026-11-10T00:00:00+00:00", "2026-11-13T00:00:00+00:00"]
    else:
        groups = outcomes
        starts = [f"2026-11-10T{10 + i:02d}:00:00+00:00" for i in range(4)]
    chart = _chart_of(page)
    assert chart["layout"]["title"]["text"] == f"Pass rate per {bucket}"
    (line,) = chart["data"]
    assert line["name"] == "correct · nightly"
    assert line["x"] == starts
    for i, samples in enumerate(groups):
        rate = 100 * sum(samples) / len(samples)
        ci = stats.binomtest(sum(samples), len(samples)).proportion_ci(method="wilson")
        assert line["y"][i] == pytest.approx(rate)
        assert line["error_y"]["array"][i] == pytest.approx(100 * ci.high - rate)
        assert line["error_y"]["arrayminus"][i] == pytest.approx(rate - 100 * ci.low)
    every = [passed for passes in outcomes for passed in passes]
    row = _rows(page)[("correct", "nightly")]
    assert row[0] == str(len(every)) and row[2] == _pct(sum(every) / len(every))
    assert "<th>run name</th>" in page


def test_scores_dated_past_either_end_of_the_calendar_in_utc_are_counted_not_charted(
    tmp_path: Path,
) -> None:
    """`9999-12-31T23:30-23:59` is in year 10000 in UTC, `0001-01-01T00:30+14:00` in year 0:
    no chart bucket can be dated there, so the chart holds the other score's hour while the
    table counts all three."""
    log_dir = tmp_path / "logs"
    ll.configure(log_dir)
    with ll.run("nightly"):
        for passed in (True, False, True):
            ll.score("correct", passed)
    ll.reset()
    (events,) = log_dir.glob("*.jsonl")
    records = [orjson.loads(line) for line in events.read_bytes().splitlines()]
    times = iter(["9999-12-31T23:30:00-23:59", "0001-01-01T00:30:00+14:00",
                  "2026-11-10T10:30:00.000000+00:00"])  # fmt: skip
    for record in records:
        if record["kind"] == "score":
            record["ts"] = next(times)
    events.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    out = tmp_path / "report.html"
    assert main(["report", str(log_dir), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    (line,) = _chart_of(page)["data"]
    assert line["x"] == ["2026-11-10T10:00:00+00:00"] and line["y"] == [100.0]
    assert _rows(page)[("correct", "nightly")][0] == "3"
