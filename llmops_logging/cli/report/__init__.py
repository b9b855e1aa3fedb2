"""`report`: one self-contained HTML page of what the log's runs did.

The page is rendered with jinja2 from `templates/report.html.j2`; its charts are plotly
figures, with plotly.js itself (the copy bundled in the installed plotly package) inlined in
the page, so it opens offline, from a file, years later, with nothing fetched. plotly rather
than a lighter library because it is the one well-kept Python charting package that ships
its browser script in the wheel: no CDN, no second download. Each run's waterfall is plain
HTML (`<details>` rows with CSS-positioned bars), so it expands without any script.

What is gathered, and how memory stays bounded, is `data`'s business.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pathlib
import sys
import webbrowser
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import orjson

from ..._contract import CORE_FIELDS, ERROR, EVENT, KIND, LEVEL, RUN_ID, TS
from ...reader import EventStream
from .. import _steps
from .._outfile import output_file
from .._output import Progress
from .._parser import PROG
from .._steps import number, path
from .._usage import lower_bound
from ..export import MissingDependency, default_path
from ..stats import ERROR_LEVELS
from .data import (
    FAILED_RUNS,
    MAX_CHART_RUNS,
    MAX_RUN_RECORDS,
    RECENT_RUNS,
    Record,
    ReportData,
    Run,
    gather,
    model_of,
    parse_time,
    trim,
)

REPORT_MISSING = (
    "report needs jinja2 and plotly, which are not installed; "
    "install them with: pip install 'llmops_logging[report]'"
)
_CORE = frozenset(CORE_FIELDS)
_STATUS_COLORS = {"ok": "#2e7d32", "error": "#c62828", "running": "#f9a825"}
_CONFIG = {"displaylogo": False, "responsive": True}


def _libraries() -> tuple[Any, Any, Any]:
    """jinja2, plotly.graph_objects and plotly.io, or one clear message."""
    try:
        jinja2 = importlib.import_module("jinja2")
        go = importlib.import_module("plotly.graph_objects")
        pio = importlib.import_module("plotly.io")
    except ImportError:
        raise MissingDependency(REPORT_MISSING) from None
    return jinja2, go, pio


# -- one run's waterfall ----------------------------------------------------------------------


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


def _offset(ts: Any, origin: datetime) -> float | None:
    when = parse_time(ts)
    return None if when is None else (when - origin).total_seconds()


def _span(span_id: str, kind: str, label: str, parent: Any) -> dict[str, Any]:
    return {
        "id": span_id,
        KIND: kind,
        "label": label,
        "parent": parent if isinstance(parent, str) else None,
        "start": None,
        "end": None,
        "status": "running",
        "fields": {},
        "error": None,
        "prompt": None,
        "response": None,
        "events": [],
    }


def _user_fields(record: Record) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in _CORE and k != ERROR}


def timeline(run: Run) -> dict[str, Any]:
    """The run's steps and LLM calls as nested rows with bar positions in percent."""
    records = [trim(record) for record in run.records or ()]
    origin = parse_time(run.start) or parse_time(records[0].get(TS) if records else None)
    if origin is None:
        return {"rows": [], "total_s": 0.0}
    root = _span(run.run_id, "run", f"run {run.name}", None)
    spans: dict[str, dict[str, Any]] = {run.run_id: root}
    for record in records:
        kind = record.get(KIND)
        at = _offset(record.get(TS), origin)
        step_id = record.get("step_id")
        if kind in ("run_start", "run_ok", "run_error"):
            span = root
        elif kind in ("step_start", "step_ok", "step_error", "llm_call") and isinstance(
            step_id, str
        ):
            span = spans.get(step_id) or spans.setdefault(
                step_id,
                _span(
                    step_id,
                    "llm" if kind == "llm_call" else "step",
                    str(record.get(EVENT)) if kind == "llm_call" else f"{record.get('name')}",
                    record.get("parent_id"),
                ),
            )
        else:  # an event inside a step (or directly in the run)
            owner = spans.get(step_id) if isinstance(step_id, str) else None
            (owner or root)["events"].append(
                {
                    "at": at,
                    LEVEL: record.get(LEVEL),
                    EVENT: record.get(EVENT),
                    KIND: kind,
                    "fields": _json(_user_fields(record)),
                    "error": record.get(ERROR),
                }
            )
            continue
        fields = _user_fields(record)
        if kind == "llm_call" and isinstance(fields.get("gen_ai"), dict):
            # The content is shown as prompt and response; the rest stays among the fields.
            fields["gen_ai"] = {
                k: v
                for k, v in fields["gen_ai"].items()
                if k not in ("input", "output", "system_instructions")
            }
        span["fields"].update(fields)
        if kind in ("run_start", "step_start"):
            span["start"] = at
        else:
            span["end"] = at
            duration = number(record.get("duration_s"))
            if span["start"] is None and at is not None and duration is not None:
                span["start"] = at - duration
            failed = str(kind).endswith("_error") or ERROR in record
            span["status"] = "error" if failed or record.get(LEVEL) in ERROR_LEVELS else "ok"
        if isinstance(record.get(ERROR), dict):
            span["error"] = record[ERROR]
        if kind == "llm_call":
            span["prompt"] = {
                name: value
                for name, keys in (
                    ("system", ("system_instructions",)),
                    ("messages", ("input", "messages")),
                )
                if (value := path(record, "gen_ai", *keys)) is not None
            } or None
            span["response"] = path(record, "gen_ai", "output", "messages")
    return _rows(root, spans)


def _rows(root: dict[str, Any], spans: dict[str, dict[str, Any]]) -> dict[str, Any]:
    ends = [s["end"] for s in spans.values() if s["end"] is not None]
    ends += [e["at"] for s in spans.values() for e in s["events"] if e["at"] is not None]
    # A call may claim to have started before its run did (clocks, or a copied record).
    low = min([0.0, *(s["start"] for s in spans.values() if s["start"] is not None)])
    total = (max([0.0, *ends]) - low) or 1e-9
    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in spans.values():
        if span is root:
            continue
        parent = span["parent"] if span["parent"] in spans else root["id"]
        children.setdefault(parent, []).append(span)
    rows: list[dict[str, Any]] = []

    def visit(span: dict[str, Any], depth: int) -> None:
        start = span["start"] if span["start"] is not None else 0.0
        end = span["end"] if span["end"] is not None else total
        span.update(
            depth=depth,
            offset_s=start,
            duration_s=max(end - start, 0.0),
            left=100 * (start - low) / total,
            width=min(max(100 * (end - start) / total, 0.4), 100.0),
            fields_json=_json(span["fields"]),
            error_json=None if span["error"] is None else _json(_short_error(span["error"])),
            prompt_json=None if span["prompt"] is None else _json(span["prompt"]),
            response_json=None if span["response"] is None else _json(span["response"]),
        )
        span["left"] = min(span["left"], 100 - span["width"])
        rows.append(span)
        for child in sorted(children.get(span["id"], []), key=lambda s: s["start"] or 0.0):
            visit(child, depth + 1)

    visit(root, 0)
    return {"rows": rows, "total_s": total}


def _short_error(error: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in error.items() if k != "traceback"}


# -- the overview charts ----------------------------------------------------------------------


def _figure_html(pio: Any, figure: Any, div_id: str) -> str:
    html: str = pio.to_html(
        figure, full_html=False, include_plotlyjs=False, config=_CONFIG, div_id=div_id
    )
    return html


def _layout(figure: Any, height: int, title: str) -> None:
    figure.update_layout(
        title={"text": title, "x": 0.01},
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.12},
        hovermode="closest",
    )


def _runs_chart(go: Any, data: ReportData) -> Any:
    subplots = importlib.import_module("plotly.subplots")
    figure = subplots.make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=("duration (s)", "tokens", "cost (USD)"),
    )
    runs = list(data.chart_runs)
    for status, color in _STATUS_COLORS.items():
        chosen = [r for r in runs if r["status"] == status and r["start"]]
        if not chosen:
            continue
        x = [r["start"] for r in chosen]
        text = [
            f"{r['name']} {r[RUN_ID][:8]}<br>{status}" + (f"<br>{r['error']}" if r["error"] else "")
            for r in chosen
        ]
        common = {"x": x, "text": text, "mode": "markers", "legendgroup": status}
        figure.add_trace(
            go.Scatter(
                y=[r["duration_s"] for r in chosen],
                name=f"{status} ({len(chosen):,})",
                marker={"color": color, "size": 7},
                hovertemplate="%{text}<br>%{y:.3f} s<extra></extra>",
                **common,
            ),
            row=1,
            col=1,
        )
        for row, key, fmt in ((2, "tokens", "%{y:,} tokens"), (3, "cost_usd", "$%{y:.4f}")):
            figure.add_trace(
                go.Scatter(
                    y=[r[key] for r in chosen],
                    showlegend=False,
                    marker={"color": color, "size": 5},
                    hovertemplate=f"%{{text}}<br>{fmt}<extra></extra>",
                    **common,
                ),
                row=row,
                col=1,
            )
    _layout(figure, 560, "Runs over time")
    return figure


def _error_rate_chart(go: Any, data: ReportData) -> Any:
    """Runs per time bucket by status, and the share that failed."""
    times = [(t, r["status"]) for r in data.chart_runs if (t := parse_time(r["start"]))]
    figure = go.Figure()
    if times:
        low = min(t for t, _ in times)
        span = max((max(t for t, _ in times) - low).total_seconds(), 1.0)
        width = span / 30
        buckets: dict[int, dict[str, int]] = {}
        for when, status in times:
            index = min(int((when - low).total_seconds() / width), 29)
            bucket = buckets.setdefault(index, {})
            bucket[status] = bucket.get(status, 0) + 1
        keys = sorted(buckets)
        x = [
            datetime.fromtimestamp(low.timestamp() + (k + 0.5) * width, timezone.utc).isoformat()
            for k in keys
        ]
        for status, color in _STATUS_COLORS.items():
            figure.add_bar(
                x=x, y=[buckets[k].get(status, 0) for k in keys], name=status, marker_color=color
            )
        rates = [100 * buckets[k].get("error", 0) / sum(buckets[k].values()) for k in keys]
        figure.add_scatter(
            x=x, y=rates, name="error rate %", yaxis="y2", mode="lines+markers", line_color="#444"
        )
        figure.update_layout(
            barmode="stack",
            yaxis={"title": "runs"},
            yaxis2={"title": "error rate %", "overlaying": "y", "side": "right", "range": [0, 100]},
        )
    _layout(figure, 320, "Runs and error rate")
    return figure


def _groups_chart(go: Any, rows: list[dict[str, Any]], title: str, money: bool) -> Any:
    subplots = importlib.import_module("plotly.subplots")
    names = [r["key"] for r in rows]
    columns = 3 if money else 1
    titles = ("latency p50 / p95 (s)", "tokens", "cost (USD)")[:columns]
    figure = subplots.make_subplots(rows=1, cols=columns, subplot_titles=titles)
    figure.add_bar(x=names, y=[r["p50_s"] for r in rows], name="p50", row=1, col=1)
    figure.add_bar(x=names, y=[r["p95_s"] for r in rows], name="p95", row=1, col=1)
    if money:
        figure.add_bar(x=names, y=[r["input_tokens"] for r in rows], name="input", row=1, col=2)
        figure.add_bar(x=names, y=[r["output_tokens"] for r in rows], name="output", row=1, col=2)
        figure.add_bar(x=names, y=[r["cost_usd"] or 0 for r in rows], name="cost", row=1, col=3)
    _layout(figure, 340, title)
    return figure


# -- the page ---------------------------------------------------------------------------------


def render(data: ReportData, sources: list[str]) -> str:
    """The whole page as one string."""
    jinja2, go, pio = _libraries()
    plotly_offline = importlib.import_module("plotly.offline")
    models = sorted(
        (g.row(k) for k, g in data.models.items()), key=lambda r: r["count"], reverse=True
    )
    steps = sorted(
        (g.row(k) for k, g in data.steps.items()), key=lambda r: r["count"], reverse=True
    )
    charts = {
        "error_rate": _figure_html(pio, _error_rate_chart(go, data), "chart-error-rate"),
        "runs": _figure_html(pio, _runs_chart(go, data), "chart-runs"),
    }
    if models:
        chart = _groups_chart(go, models[:20], "The 20 models called most", money=True)
        charts["models"] = _figure_html(pio, chart, "chart-models")
    if steps:
        chart = _groups_chart(go, steps[:20], "The 20 most frequent step names", money=False)
        charts["steps"] = _figure_html(pio, chart, "chart-steps")
    detailed = data.detailed()
    runs: list[dict[str, Any]] = [
        {"run": run.summary(), "timeline": timeline(run), "dropped": run.dropped}
        for run in detailed
    ]
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("llmops_logging.cli.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["secs"] = _secs
    environment.filters["cost"] = _cost
    template = environment.get_template("report.html.j2")
    text: str = template.render(
        data=data,
        sources=sources,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        models=models,
        steps=steps,
        runs=runs,
        failed=[r for r in runs if r["run"]["status"] == "error"],
        charts=charts,
        plotly_js=plotly_offline.get_plotlyjs(),
        limits={
            "recent": RECENT_RUNS,
            "failed": FAILED_RUNS,
            "chart": MAX_CHART_RUNS,
            "records": MAX_RUN_RECORDS,
        },
        error_rate=data.runs_failed / data.runs_seen if data.runs_seen else 0.0,
        model_of=model_of,
    )
    return text


def _cost(totals: dict[str, Any]) -> str:
    """The cost of a run, a group or the log; `>=` when some of its calls had no price."""
    cost = totals.get("cost_usd")
    if cost is None:
        return "-"
    return f"{'>=' if lower_bound(totals) else ''}${cost:,.4f}"


def _secs(value: Any) -> str:
    seconds = number(value)
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def report(records: Iterable[Record], out: str, sources: list[str]) -> ReportData:
    """Gather `records` in one pass and write the page to `out` (atomically)."""
    _libraries()  # fail before reading a large log
    data = gather(records)
    page = render(data, sources)
    with output_file(out) as stream:
        stream.write(page.encode("utf-8"))
    return data


# -- the command ------------------------------------------------------------------------------


def command(args: argparse.Namespace) -> int:
    paths = _steps.paths(args)
    out = args.out or os.path.join(os.path.dirname(default_path(paths[0], "html")), "report.html")
    stream = EventStream(paths, _steps.accept(args))
    try:
        data = report(Progress(stream.progress).wrap(stream), out, [str(p) for p in paths])
    except MissingDependency as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    _steps.warn(stream.report)
    if args.json:
        _steps.dump({"out": out, "runs": data.runs_seen, "read": stream.report.as_dict()})
    else:
        print(
            f"wrote {out}: {_steps.plural(data.runs_seen, 'run')} ({data.runs_failed:,} failed), "
            f"{len(data.detailed())} in detail, from {_steps.plural(data.records, 'record')}"
        )
    if args.open:
        webbrowser.open(pathlib.Path(out).resolve().as_uri())
    return 0
