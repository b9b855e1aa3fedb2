"""The report's numbers: small costs read as the CLI prints them, axes fit the data, and the
per-model latency percentiles are the ones `stats` computes."""

from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import Any

import orjson
import pytest

from llmops_logging.cli import main
from llmops_logging.cli.report.formats import secs

from ._chromium import CHROMIUM, Browser

pytest.importorskip("jinja2", reason="the report extra (jinja2, plotly) is not installed")
pytest.importorskip("plotly", reason="the report extra (jinja2, plotly) is not installed")

CALL_COST = 0.000022


def _write(log_dir: Path, records: list[dict[str, Any]]) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / "events.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


def _runs(durations: list[float], cost: float | None = CALL_COST) -> list[dict[str, Any]]:
    """One run per duration, each with one call to model `m` that took that long."""
    records: list[dict[str, Any]] = []
    for i, duration in enumerate(durations):
        ts = f"2026-11-30T10:{i // 60:02d}:{i % 60:02d}.000000+00:00"
        base = {"ts": ts, "run_id": f"run-{i:03d}", "level": "info", "name": "eval"}
        call = {**base, "kind": "llm_call", "event": "chat m", "step_id": f"c{i}",
                "duration_s": duration,
                "gen_ai": {"request": {"model": "m"},
                           "usage": {"input_tokens": 10, "output_tokens": 2}}}  # fmt: skip
        if cost is not None:
            call["cost_usd"] = cost
        records += [
            {**base, "kind": "run_start"},
            call,
            {**base, "kind": "run_ok", "duration_s": duration + 0.1},
        ]
    return records


def _cells(html: str, table: str, key: str) -> list[str]:
    body = re.search(rf'<table id="{table}">(.*?)</table>', html, re.S)
    assert body is not None
    row = re.search(rf"<tr><td>{re.escape(key)}</td>(.*?)</tr>", body[1], re.S)
    assert row is not None
    return re.findall(r"<td[^>]*>([^<]*)</td>", row[1])


def test_a_small_cost_reads_in_the_table_as_the_cli_prints_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_dir = tmp_path / "raw_events"
    _write(log_dir, _runs([0.5, 0.5, 0.5]))
    page = tmp_path / "report.html"
    assert main(["report", str(log_dir), "--out", str(page)]) == 0
    assert main(["stats", str(log_dir), "--by", "gen_ai.request.model", "--kind", "llm_call"]) == 0
    printed = capsys.readouterr().out
    shown = _cells(page.read_text(encoding="utf-8"), "models", "m")[-1]
    assert shown == "$0.000066"
    assert re.search(rf"\s{re.escape(shown)}(\s|$)", printed), printed


def test_the_per_model_p95_is_the_95th_percentile_not_the_median(tmp_path: Path) -> None:
    durations = [0.1 * k for k in range(1, 21)] + [9.0, 9.0]
    log_dir = tmp_path / "raw_events"
    _write(log_dir, _runs(durations))
    page = tmp_path / "report.html"
    assert main(["report", str(log_dir), "--out", str(page)]) == 0

    cells = _cells(page.read_text(encoding="utf-8"), "models", "m")
    percentiles = statistics.quantiles(durations, n=20, method="inclusive")
    p50, p95 = statistics.median(durations), percentiles[18]
    assert p95 > 2 * p50
    assert cells[2:5] == [secs(p50), secs(p95), secs(max(durations))]


HOVER_COSTS = """
(async () => {
  const shown = [];
  for (const id of ['chart-runs', 'chart-models']) {
    const gd = document.getElementById(id);
    for (const [curve, trace] of gd.data.entries()) {
      if (!/y3$/.test(trace.yaxis || '') && !/x3$/.test(trace.xaxis || '')) continue;
      await new Promise(done => setTimeout(done, 60));  // Plotly throttles hovers
      Plotly.Fx.hover(gd, [{curveNumber: curve, pointNumber: 0}],
                      [(trace.xaxis || 'x') + (trace.yaxis || 'y')]);
      shown.push(gd.querySelector('.hoverlayer').textContent);
    }
  }
  return shown;
})()
"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs it)")
def test_equal_small_costs_are_drawn_on_an_axis_around_them_and_hover_as_the_cli_prints(
    tmp_path: Path,
) -> None:
    log_dir = tmp_path / "raw_events"
    _write(log_dir, _runs([0.5, 0.5, 0.5]))
    page = tmp_path / "report.html"
    assert main(["report", str(log_dir), "--out", str(page)]) == 0
    browser = Browser()
    try:
        browser.open(page.as_uri())
        axes = browser.evaluate(
            """(() => { const l = document.getElementById('chart-runs')._fullLayout;
                return [l.yaxis.range, l.yaxis2.range, l.yaxis3.range,
                        Array.from(document.querySelectorAll('#chart-runs .y3tick text'))
                             .map(t => t.textContent)]; })()"""
        )
        hovered: list[str] = browser.evaluate(HOVER_COSTS)
        errors = browser.console_errors()
    finally:
        browser.close()
    assert errors == []
    (duration_low, duration_high), (tokens_low, tokens_high), (cost_low, cost_high), ticks = axes
    # Each axis starts at zero and puts the common value well inside, not at the bottom edge.
    for low, high, value in (
        (duration_low, duration_high, 0.6),
        (tokens_low, tokens_high, 12),
        (cost_low, cost_high, CALL_COST),
    ):
        assert low == 0 and 1.2 * value <= high <= 4 * value, (low, high, value)
    assert ticks and all(t.startswith("$") and "µ" not in t and "μ" not in t for t in ticks)
    assert any("$0.000022" in h for h in hovered), hovered  # a run's cost
    assert any("$0.000066" in h for h in hovered), hovered  # the model's cost
