"""The report shows a hostile log as text: nothing from the log loads, links, styles or runs.

The log (`_hostile_log`) holds markup in every string the page shows, each aimed at a local
server that counts its hits. The page is opened in headless Chromium, from a file and served
over HTTP, with every request paused and recorded (DevTools `Fetch`) and every
Content-Security-Policy violation recorded by a script the page cannot block; every chart point
is hovered, every row expanded. Then: no request but the page's own, no hit on the server, no
live element from the log, and every payload readable as the text it was.
"""

from __future__ import annotations

import base64
import hashlib
import html as html_module
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest

from llmops_logging.cli import main

from ._chromium import CHROMIUM, Browser
from ._hostile_log import write_hostile_log

pytest.importorskip("jinja2", reason="the report extra (jinja2, plotly) is not installed")
pytest.importorskip("plotly", reason="the report extra (jinja2, plotly) is not installed")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (CI installs it)"
)

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(
    e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sample || '')));
"""

HOVER_EVERY_POINT = """
(async () => {
  // Plotly throttles hovers on one chart to one per 50 ms: the charts are hovered at once.
  const hoverAll = async gd => {
    const texts = [];
    for (const [curve, trace] of gd.data.entries()) {
      const subplot = (trace.xaxis || 'x') + (trace.yaxis || 'y');
      for (let point = 0; point < (trace.x || trace.y).length; point++) {
        await new Promise(done => setTimeout(done, 60));
        Plotly.Fx.hover(gd, [{curveNumber: curve, pointNumber: point}], [subplot]);
        const layer = gd.querySelector('.hoverlayer');
        if (layer) texts.push(layer.textContent);
      }
    }
    return texts;
  };
  const charts = Array.from(document.querySelectorAll('.js-plotly-plot'));
  return (await Promise.all(charts.map(hoverAll))).flat();
})()
"""

LIVE_ELEMENTS = """
(() => {
  const found = [];
  const urlAttributes = ['href', 'xlink:href', 'src', 'srcdoc', 'action', 'formaction', 'data',
                         'poster', 'background', 'ping'];
  for (const el of document.querySelectorAll('*')) {
    const tag = el.localName;
    if (['iframe', 'frame', 'img', 'image', 'object', 'embed', 'link', 'base', 'form',
         'foreignObject', 'video', 'audio', 'source'].includes(tag)
        || (tag === 'button' && !el.classList.contains('modebar-btn'))
        || (tag === 'meta' && !el.closest('head'))) {
      found.push('element ' + tag);
    }
    const ownLink = (el.getAttribute('href') || '').startsWith('#run-');
    if (tag === 'a' && !ownLink && !el.classList.contains('modebar-btn')) {
      found.push('link ' + el.outerHTML.slice(0, 200));
    }
    if (tag === 'script' && !['report-plotly', 'report-figures', 'report-charts'].includes(el.id)) {
      found.push('script ' + el.outerHTML.slice(0, 200));
    }
    // the page's styles, and those plotly.js adds (an id of its own, or a hash)
    const ownStyle = el.id === 'report-style' || /^plotly\\.js-style|^[0-9a-f]{64}$/.test(el.id);
    if (tag === 'style' && (!ownStyle || el.textContent.includes('127.0.0.1'))) {
      found.push('style ' + el.outerHTML.slice(0, 200));
    }
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith('on')) found.push('handler ' + name + '=' + attr.value.slice(0, 100));
      if (urlAttributes.includes(name) && !attr.value.startsWith('#')) {
        found.push('url ' + tag + ' ' + name + '=' + attr.value.slice(0, 100));
      }
      if (name === 'style' && /url\\(\\s*['"]?(?!#)|@import|font-size:\\s*90px/i.test(attr.value)) {
        found.push('style attribute ' + attr.value.slice(0, 100));
      }
      if (name === 'target' && tag !== 'a') found.push('target on ' + tag);
    }
  }
  return found;
})()
"""


class Hits(BaseHTTPRequestHandler):
    """Serves the report at /report.html and counts every request."""

    page: ClassVar[bytes] = b""
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        body = self.page if self.path == "/report.html" else b"hit"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[Hits]]]:
    handler = type("CountingHandler", (Hits,), {"seen": [], "page": b""})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)  # stop soon
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=30)


def _page(tmp_path: Path, base: str) -> tuple[Path, list[str]]:
    log_dir = tmp_path / "raw_events"
    texts = write_hostile_log(log_dir, base)
    page = tmp_path / "report.html"
    assert main(["report", str(log_dir), "--out", str(page)]) == 0
    return page, texts


@needs_chromium
@pytest.mark.parametrize("opened", ["from a file", "over http"])
def test_a_hostile_log_makes_no_request_no_live_element_and_reads_as_text(
    tmp_path: Path, server: tuple[str, type[Hits]], opened: str
) -> None:
    base, hits = server
    page, texts = _page(tmp_path, base)
    hits.page = page.read_bytes()
    url = page.as_uri() if opened == "from a file" else f"{base}/report.html"
    browser = Browser()
    try:
        browser.intercept({url})
        browser.before_load(RECORD_VIOLATIONS)
        browser.open(url)
        browser.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        # Hovering is the same page either way (and takes seconds): once, from the file.
        hovered: list[str] = browser.evaluate(HOVER_EVERY_POINT) if opened == "from a file" else []
        live: list[str] = browser.evaluate(LIVE_ELEMENTS)
        shown: str = browser.evaluate("document.body.innerText")
        charts: str = browser.evaluate(
            "Array.from(document.querySelectorAll('.main-svg')).map(s => s.textContent).join(' ')"
        )
        titles = browser.evaluate(
            "Array.from(document.querySelectorAll('[title]')).map(e => e.title)"
        )
        tools = browser.evaluate(
            "Array.from(document.querySelectorAll('details.tool')).map(d => ["
            " d.querySelector('.label').title, d.querySelector('pre.arguments').textContent,"
            " d.querySelector('pre.result').textContent])"
        )
        violations = browser.evaluate("window.__violations")
        plots = browser.evaluate("document.querySelectorAll('.js-plotly-plot').length")
        buttons = browser.evaluate(
            "Array.from(document.querySelectorAll('.modebar-btn')).map(b => b.dataset.title)"
        )
        errors, requests = browser.console_errors(), browser.requests()
    finally:
        browser.close()
    page_only = [] if opened == "from a file" else ["/report.html"]
    assert hits.seen == page_only, "the page made a request to the server"
    assert [u for u in browser.intercepted if u != url and not u.startswith("data:")] == []
    assert [u for u in requests if u != url and not u.startswith("data:")] == []
    assert live == []
    assert violations == [], "something from the log tried a load the policy had to block"
    assert errors == []
    assert plots == 4
    assert "Zoom" in buttons and not [b for b in buttons if "Share" in b], "a button uploads"
    for text in texts:
        assert text in shown, f"not shown as text in the tables and timelines: {text!r}"
        if opened == "from a file":
            assert any(f"{text} run-0" in h for h in hovered), f"not in a chart's hover: {text!r}"
        assert f"chat {text}" in titles
        assert [f"tool {text}", {text: text}, f"result {text}"] in [
            [name, orjson.loads(arguments), result] for name, arguments, result in tools
        ], f"the tool's name, arguments and result not shown as text: {text!r}"
    # The model and step charts show the 20 most frequent names, as text on their axes.
    assert len([text for text in texts if text in charts]) >= 20


@needs_chromium
def test_the_policy_blocks_every_load_even_markup_that_got_through(
    tmp_path: Path, server: tuple[str, type[Hits]]
) -> None:
    base, hits = server
    page, _ = _page(tmp_path, base)
    planted = (
        f"<img src='{base}/p-img'><link rel=stylesheet href='{base}/p-css'>"
        f"<iframe src='{base}/p-frame'></iframe><style>@import url('{base}/p-import');</style>"
        f"<div style=\"background:url('{base}/p-bg')\">x</div>"
    )
    attempts = f"""
    (async () => {{
      document.body.insertAdjacentHTML('beforeend', {planted!r});
      const script = document.createElement('script');
      script.textContent = "fetch('{base}/p-inline-script')";
      document.body.appendChild(script);
      try {{ await fetch('{base}/p-fetch'); }} catch (e) {{}}
      const wanted = ['p-img', 'p-css', 'frame-src', 'p-import', 'p-bg', 'p-fetch', 'inline'];
      const seen = () => wanted.every(w => window.__violations.join(' ').includes(w));
      for (let i = 0; i < 400 && !seen(); i++) {{
        await new Promise(done => setTimeout(done, 50));
      }}
      return window.__violations;
    }})()
    """
    browser = Browser()
    try:
        browser.intercept({page.as_uri()})
        browser.before_load(RECORD_VIOLATIONS)
        browser.open(page.as_uri())
        violations: list[str] = browser.evaluate(attempts)
    finally:
        browser.close()
    blocked = " ".join(violations)
    for name in ("p-img", "p-css", "p-import", "p-fetch", "p-bg"):
        assert f"{base}/{name}" in blocked
    assert f"frame-src {base}" in blocked  # a frame's path is not reported
    assert "script-src-elem inline" in blocked  # the planted script did not run
    assert hits.seen == []
    assert [u for u in browser.intercepted if u != page.as_uri()] == []


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_page_allows_its_own_scripts_and_styles_by_hash_and_forbids_any_load(
    tmp_path: Path,
) -> None:
    page, texts = _page(tmp_path, "http://127.0.0.1:9")
    html = page.read_text(encoding="utf-8")
    head = html[: html.index("</head>")]
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', head)
    assert policy is not None, "no policy in the head"
    assert head.index(policy[0]) < head.index("<script") and head.index(policy[0]) < head.index(
        "<style"
    ), "the policy comes after content it should govern"
    directives = {
        d.split()[0]: d.split()[1:] for d in policy[1].replace("&#39;", "'").split(";") if d.strip()
    }
    assert directives["default-src"] == ["'none'"]
    for name in ("base-uri", "form-action"):
        assert directives[name] == ["'none'"]
    scripts = re.findall(r"<script(?![^>]*application/json)[^>]*>(.*?)</script>", html, re.S)
    styles = re.findall(r"<style[^>]*>", html)
    assert len(scripts) == 2 and len(styles) == 1
    assert sorted(directives["script-src"]) == sorted(_sha256(s) for s in scripts)
    assert directives["img-src"] == ["data:", "blob:"]
    assert all(d.startswith("default-src") or "http" not in d for d in policy[1].split(";"))
    # No payload's markup reaches the page's markup: each `<` from the log is escaped.
    for text in texts:
        assert text not in html


def test_times_with_and_without_a_zone_and_at_the_ends_of_the_calendar_make_a_report(
    tmp_path: Path,
) -> None:
    times = [
        "0001-01-01T00:00:00+00:00",
        "2026-01-01T00:00:00",  # no zone: read as UTC
        "2026-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59.999999-23:59",
        "not a time",
    ]
    records: list[dict[str, Any]] = []
    for i, ts in enumerate(times):
        base = {"ts": ts, "run_id": f"r{i}", "name": f"run {i}"}
        records += [
            {**base, "kind": "run_start"},
            {**base, "kind": "step_start", "step_id": f"s{i}"},
            {**base, "kind": "step_ok", "step_id": f"s{i}", "duration_s": 1e300},
            {**base, "ts": times[-1 - i], "kind": "run_ok", "duration_s": -5.0},
        ]
    html = _report_of(tmp_path, records)
    assert all(f'id="run-r{i}"' in html for i in range(len(times)))


def _report_of(tmp_path: Path, records: list[dict[str, Any]]) -> str:
    """The report page of a log of `records`, written in `tmp_path`."""
    log_dir = tmp_path / "raw_events"
    log_dir.mkdir()
    (log_dir / "events.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    page = tmp_path / "report.html"
    assert main(["report", str(log_dir), "--out", str(page)]) == 0
    return page.read_text(encoding="utf-8")


def test_events_whose_level_is_not_text_make_a_report_that_shows_them(tmp_path: Path) -> None:
    """A foreign writer's event inside a step with a level that is a list, an object, a
    number or a boolean: the page is written, each event row among the step's events."""
    levels: list[Any] = [["warning"], {"name": "error"}, 30, True, None]
    at = "2026-01-01T00:00:0{}.000000+00:00"
    records: list[dict[str, Any]] = [
        {"ts": at.format(0), "run_id": "r", "kind": "run_start", "name": "job", "level": "info"},
        {"ts": at.format(0), "run_id": "r", "kind": "step_start", "name": "s", "step_id": "s1"},
    ]
    for n, level in enumerate(levels):
        records.append({"ts": at.format(n + 1), "run_id": "r", "kind": "log", "step_id": "s1",
                        "event": f"odd-level-{n}", "level": level})  # fmt: skip
    records += [
        {"ts": at.format(8), "run_id": "r", "kind": "step_ok", "step_id": "s1", "duration_s": 8.0},
        {"ts": at.format(9), "run_id": "r", "kind": "run_ok", "name": "job", "duration_s": 9.0},
    ]
    html = _report_of(tmp_path, records)
    rows = re.findall(r'<td class="lvl-([^"]*)">[^<]*</td><td>(odd-level-\d)</td>', html)
    assert rows == [("other", f"odd-level-{n}") for n in range(len(levels))]


def test_runs_whose_name_is_not_text_are_charted_with_their_name(tmp_path: Path) -> None:
    """A foreign writer's runs named by a number, a list, an object or a boolean: the page is
    written, and each run's point in the runs chart is hovered with its name as its section
    shows it: the JSON that was logged, not Python's spelling."""
    names: list[Any] = [2.5, ["a", "<b>"], {"k": "<i>v</i>"}, True]
    records: list[dict[str, Any]] = []
    for n, name in enumerate(names):
        at = f"2026-01-01T00:00:0{n}.000000+00:00"
        records += [
            {"ts": at, "run_id": f"run-{n}", "kind": "run_start", "name": name, "level": "info"},
            {"ts": at, "run_id": f"run-{n}", "kind": "run_ok", "name": name, "duration_s": 1.0},
        ]
    html = _report_of(tmp_path, records)
    figures = re.search(r'<script type="application/json" id="report-figures">(.*?)</script>',
                        html, re.S)  # fmt: skip
    assert figures is not None
    (trace, *_) = orjson.loads(figures[1])["charts"]["chart-runs"]["data"]
    logged = ["2.5", '["a","<b>"]', '{"k":"<i>v</i>"}', "true"]  # the JSON, not str()
    shown = [text.split(" run-")[0] for text in trace["text"]]
    assert shown == [name.replace("<", "&lt;").replace(">", "&gt;") for name in logged]
    headings = [html_module.unescape(h) for h in re.findall(r"<h3>(.*?)</h3>", html)]
    assert sorted(headings) == sorted(logged)  # each run's section, as the chart names it
