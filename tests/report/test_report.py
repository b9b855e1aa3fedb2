"""`llmops-logs report`: the page, opened in a real browser, and its bounded selection."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from llmops_logging.cli import main
from llmops_logging.cli.report import data as _report_data

from .._agent_log import write_agent_log
from ._chromium import CHROMIUM, Browser

pytest.importorskip("jinja2", reason="the report extra (jinja2, plotly) is not installed")
pytest.importorskip("plotly", reason="the report extra (jinja2, plotly) is not installed")


@pytest.fixture
def agent_log(tmp_path: Path) -> tuple[Path, list[str]]:
    log_dir = tmp_path / "data" / "raw_events"
    return log_dir, write_agent_log(log_dir, runs=4)


def test_report_goes_beside_raw_events_and_needs_nothing_from_the_network(
    agent_log: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    log_dir, run_ids = agent_log
    assert main(["report", str(log_dir)]) == 0
    page = log_dir.parent / "derived" / "report.html"
    assert f"wrote {page}: 4 runs (1 failed)" in capsys.readouterr().out
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html)
    assert all(f'id="run-{run_id}"' in html for run_id in run_ids)


def test_report_open_hands_the_file_to_the_browser(
    agent_log: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    page = tmp_path / "r.html"
    assert main(["report", "--open", "--out", str(page), str(agent_log[0])]) == 0
    assert opened == [page.resolve().as_uri()]


def test_report_without_its_extra_says_how_to_install_it(
    agent_log: tuple[Path, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    assert main(["report", str(agent_log[0])]) == 1
    assert "pip install 'llmops_logging[report]'" in capsys.readouterr().err


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs it)")
def test_report_renders_in_chromium_with_timelines_and_no_requests(
    agent_log: tuple[Path, list[str]], tmp_path: Path
) -> None:
    log_dir, run_ids = agent_log
    page = tmp_path / "report.html"
    assert main(["report", str(log_dir), "--out", str(page)]) == 0
    browser = Browser()
    try:
        browser.open(page.as_uri())
        failed = run_ids[-1]
        rows: list[dict[str, Any]] = browser.evaluate(
            f"""Array.from(document.querySelectorAll('#run-{failed} details')).map(d => ({{
                kind: d.dataset.kind, status: d.classList.contains('error') ? 'error' : 'ok',
                label: d.querySelector('.label').textContent,
                width: d.querySelector('.bar').getBoundingClientRect().width}}))"""
        )
        charts = browser.evaluate("document.querySelectorAll('.js-plotly-plot .main-svg').length")
        cards = browser.evaluate(
            "[document.getElementById('kpi-runs').textContent,"
            " document.getElementById('kpi-failed').textContent]"
        )
        failed_link = browser.evaluate(
            f"!!document.querySelector('#failed-runs a[href=\"#run-{failed}\"]')"
        )
        width = browser.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        # Expand the failed LLM call and show it, as a reader would.
        prompt = browser.evaluate(
            f"""(() => {{
                const d = document.querySelector('#run-{failed} details.llm.error');
                d.open = true; d.scrollIntoView();
                return d.querySelector('.body').innerText; }})()"""
        )
        browser.screenshot(str(tmp_path / "report.png"))
        errors, requests = browser.console_errors(), browser.requests()
    finally:
        browser.close()
    assert errors == []
    assert requests == [page.as_uri()]  # the page itself, nothing else
    labels = [(r["kind"], r["label"]) for r in rows]
    assert ("run", "runrun triage") in labels
    for step in ("plan", "retrieve", "answer"):
        assert ("step", f"step{step}") in labels
    assert [r["status"] for r in rows if r["kind"] == "llm"] == ["ok", "error"]
    assert all(r["width"] > 0 for r in rows)
    assert charts >= 4 and failed_link and cards == ["4", "1"]
    assert width[0] <= width[1], "the page scrolls sideways at a laptop's width"
    assert "question 3" in prompt and "answer 3" in prompt and "RateLimitError" in prompt
    assert (tmp_path / "report.png").stat().st_size > 10_000


def _run(run_id: str, failed: bool, calls: int = 1) -> list[dict[str, Any]]:
    ts = f"2026-11-30T10:00:{int(run_id) % 60:02d}.000000+00:00"
    records: list[dict[str, Any]] = [
        {"ts": ts, "run_id": run_id, "kind": "run_start", "name": "eval"}
    ]
    for i in range(calls):
        records.append(
            {
                "ts": ts,
                "run_id": run_id,
                "kind": "llm_call",
                "event": "chat m",
                "step_id": f"{run_id}-{i}",
                "duration_s": 0.5,
                "gen_ai": {"request": {"model": "m"}, "usage": {"input_tokens": 10}},
                "cost_usd": 0.01,
            }
        )
    end = {"kind": "run_error", "error": {"type": "E", "message": "x"}} if failed else {}
    records.append({"ts": ts, "run_id": run_id, "kind": "run_ok", "duration_s": 1.0, **end})
    return records


def test_detail_is_kept_for_the_most_recent_and_the_failed_runs_only() -> None:
    records = [r for n in range(200) for r in _run(str(n), failed=n % 50 == 7)]
    data = _report_data.gather(records)
    shown = {run.run_id for run in data.detailed()}
    recent = {str(n) for n in range(200 - _report_data.RECENT_RUNS, 200)}
    assert shown == recent | {"7", "57", "107", "157"}
    assert (data.runs_seen, data.runs_failed) == (200, 4)
    model = data.models["m"].row("m")
    assert (model["count"], model["input_tokens"]) == (200, 2000)
    assert model["cost_usd"] == pytest.approx(2.0)


def test_runs_that_never_end_keep_a_summary_but_not_their_records() -> None:
    data = _report_data.ReportData()
    for n in range(_report_data.MAX_OPEN_RUNS + 50):
        data.add({"ts": "2026-11-30T10:00:00.000000+00:00", "run_id": str(n), "kind": "run_start"})
    assert len(data.open_runs) == _report_data.MAX_OPEN_RUNS
    many = _run("9999", failed=False, calls=_report_data.MAX_RUN_RECORDS + 10)
    for record in many:
        data.add(record)
    data.finish()
    assert data.runs_seen == _report_data.MAX_OPEN_RUNS + 51
    big = next(run for run in data.detailed() if run.run_id == "9999")
    assert big.records is not None and len(big.records) == _report_data.MAX_RUN_RECORDS
    assert big.dropped == len(many) - _report_data.MAX_RUN_RECORDS


def test_records_of_any_shape_are_taken_without_raising(tmp_path: Path) -> None:
    odd: list[dict[str, Any]] = [
        {"kind": ["run_start"], "level": {"x": 1}, "run_id": 3, "ts": 5},
        {"kind": "run_start", "run_id": "r", "ts": "not a time", "name": ["n"]},
        {
            "kind": "llm_call",
            "run_id": "r",
            "gen_ai": "text",
            "duration_s": "slow",
            "cost_usd": True,
        },
        {"kind": "llm_call", "run_id": "r", "gen_ai": {"usage": [1]}, "step_id": 7},
        {"kind": "step_ok", "run_id": "r", "usage": "none", "duration_s": float("nan")},
        {"kind": "step_error", "run_id": "r", "step_id": "s", "error": "plain text"},
        {"kind": "run_error", "run_id": "r", "error": {"type": 1}, "usage": {"llm_calls": "x"}},
        {"note": "written by another tool"},
    ]
    data = _report_data.gather(odd)
    assert (data.runs_seen, data.runs_failed, data.usage.llm_calls) == (1, 1, 2)
    page = tmp_path / "odd.html"
    from llmops_logging.cli.report import report

    report(iter(odd), str(page), ["odd"])
    assert "written by another tool" not in page.read_text(encoding="utf-8")  # not in a run


def test_a_cost_that_leaves_out_unpriced_calls_is_shown_as_a_lower_bound(tmp_path: Path) -> None:
    ts = "2026-11-30T10:00:00.000000+00:00"
    base = {"ts": ts, "run_id": "r", "name": "eval"}
    usage = {"input_tokens": 10, "output_tokens": 2}
    totals = {"llm_calls": 2, "input_tokens": 20, "output_tokens": 4, "cost_usd": 0.01}
    records: list[dict[str, Any]] = [
        {**base, "kind": "run_start"},
        {**base, "kind": "step_start", "step_id": "s"},
        {**base, "kind": "llm_call", "step_id": "c1", "parent_id": "s", "event": "chat m",
         "gen_ai": {"request": {"model": "m"}, "usage": usage}, "cost_usd": 0.01},
        {**base, "kind": "llm_call", "step_id": "c2", "parent_id": "s", "event": "chat m",
         "gen_ai": {"request": {"model": "m"}, "usage": usage}},  # no price known
        {**base, "kind": "step_ok", "step_id": "s", "usage": {**totals, "calls_without_cost": 1}},
        {**base, "kind": "run_ok", "duration_s": 1.0, "usage": {**totals, "calls_without_cost": 1}},
    ]  # fmt: skip
    page = tmp_path / "report.html"
    from llmops_logging.cli.report import report

    report(iter(records), str(page), ["test"])
    html = page.read_text(encoding="utf-8")
    card = re.search(r'muted">cost</span><b>([^<]*)</b>', html)
    assert card is not None and card[1] == "&gt;=$0.0100"
    # the model's row, the step's row, and the run's line
    assert html.count('<td class="num">&gt;=$0.0100</td>') == 2
    assert "2 LLM calls &middot; 24 tokens &middot; &gt;=$0.0100" in html


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs it)")
def test_the_timeline_shows_agents_and_tools_with_arguments_and_results(tmp_path: Path) -> None:
    import llmops_logging as ll

    @ll.tool
    def lookup(city: str) -> dict[str, str]:
        ll.get_logger("weather").info("asking the weather service", city=city)
        return {"city": city, "sky": "<b>clear</b>"}

    @ll.tool(name="book")
    def book(city: str) -> None:
        raise TimeoutError("no seats")

    ll.configure(tmp_path / "raw_events")
    with ll.run("trip"), ll.agent("planner"):
        lookup("Oslo")
        with pytest.raises(TimeoutError):
            book("Oslo")
    ll.reset()
    page = tmp_path / "report.html"
    assert main(["report", str(tmp_path / "raw_events"), "--out", str(page)]) == 0
    browser = Browser()
    try:
        browser.open(page.as_uri())
        rows: list[dict[str, Any]] = browser.evaluate(
            """Array.from(document.querySelectorAll('details')).map(d => {
                d.open = true;
                const pre = c => (d.querySelector(':scope > .body > pre.' + c) || {}).textContent;
                const status = d.classList.contains('error') ? 'error' : 'ok';
                return {kind: d.dataset.kind, status: status,
                        label: d.querySelector('.label').title,
                        depth: parseFloat(d.querySelector('.label').style.paddingLeft),
                        duration: d.querySelector('.dur').textContent,
                        body: d.querySelector('.body').innerText,
                        arguments: pre('arguments'), result: pre('result')}; })"""
        )
        errors = browser.console_errors()
    finally:
        browser.close()
    assert errors == []
    by_label = {r["label"]: r for r in rows}
    assert [(r["kind"], r["label"]) for r in rows] == [
        ("run", "run trip"), ("agent", "planner"), ("tool", "lookup"), ("tool", "book"),
    ]  # fmt: skip
    agent, lookup_row, book_row = by_label["planner"], by_label["lookup"], by_label["book"]
    assert agent["depth"] < lookup_row["depth"] == book_row["depth"]
    assert lookup_row["status"] == "ok" and book_row["status"] == "error"
    assert all(r["duration"].strip() not in ("", "-") for r in rows)
    assert orjson.loads(lookup_row["arguments"]) == {"city": "Oslo"}
    assert orjson.loads(lookup_row["result"]) == {"city": "Oslo", "sky": "<b>clear</b>"}
    assert orjson.loads(book_row["arguments"]) == {"city": "Oslo"}
    assert book_row.get("result") is None
    assert "TimeoutError" in book_row["body"] and "no seats" in book_row["body"]
    # what the tool logged while it ran is in the tool's row, not the run's
    assert "asking the weather service" in lookup_row["body"]
    assert "asking the weather service" not in by_label["run trip"]["body"]
