"""The report's plotly charts, as figure JSON for the page's one chart script.

Log text is hostile input, and plotly reads a subset of HTML in every label, hover text,
legend entry, axis tick and title (`<br>`, `<b>`, `<i>`, `<sup>`, `<sub>`, `<span style>`,
`<a href>`, even an `onclick` through `<a popup>`): a styled span loads a URL as the page opens
and a link goes live. plotly splits a label on tags first and then decodes entities once, so
every string from the log passes `plot_text`, which writes `&`, `<` and `>` as entities: the
label shows exactly what was logged and holds no tag. Only text this module writes itself
(`<br>` between lines, `<extra>`) is markup. Times are parsed before they are plotted, so a
`ts` that is not a time never becomes a category label.

Value axes fit the data (`value_range`): from zero to past the largest value, with equal values
in the middle rather than on a -0.5..1 axis. Costs read as the CLI prints them (`usd`).
"""

from __future__ import annotations

import html
import importlib
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import orjson

from ..._contract import (
    COST_USD,
    DURATION_S,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    RUN_ID,
)
from ...readmodel.values import shown
from .._output import usd
from .data import ReportData, parse_time
from .formats import secs

STATUS_COLORS = {"ok": "#2e7d32", "error": "#c62828", "running": "#f9a825"}
CONFIG = {"displaylogo": False, "responsive": True, "showSendToCloud": False, "plotlyServerURL": ""}
"""plotly's options: no logo, and no "Share chart" button, which uploads a chart's data (the
log's text) to Plotly Cloud."""
MAX_HOVER_TEXT = 500
"""Characters of a run's name and error shown when its point is hovered (the page has the rest):
the runs chart holds up to 20,000 runs, and each one's text travels in the page."""
_COST_AXIS = {"tickprefix": "$", "exponentformat": "none"}
_EXTRA = "<extra></extra>"


def plot_text(value: Any) -> str:
    """Text from the log for a plotly label: shown as typed, never read as markup."""
    return html.escape(str(value), quote=False)


def value_range(values: Iterable[float | None]) -> list[float] | None:
    """An axis range that holds `values` and zero: one value sits in the middle, several get
    8% room past the extreme; None (plotly decides) when there is no value."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    low, high = min(0.0, *present), max(0.0, *present)
    if low == high:  # all zero
        return [0.0, 1.0]
    if min(present) == max(present):
        return [min(0.0, 2 * low), max(0.0, 2 * high)]
    room = 0.08 * (high - low)
    return [low - room if low < 0 else low, high + room if high > 0 else high]


def _layout(figure: Any, height: int, title: str) -> None:
    figure.update_layout(
        title={"text": title, "x": 0.01},
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.12},
        hovermode="closest",
    )


def _hover(run: dict[str, Any], status: str) -> str:
    name = plot_text(shown(run["name"])[:MAX_HOVER_TEXT])  # a foreign run's may be any value
    text = f"{name} {plot_text(str(run[RUN_ID])[:8])}<br>{status}"
    if run["error"]:
        text += f"<br>{plot_text(run['error'][:MAX_HOVER_TEXT])}"
    return text


def runs_chart(go: Any, data: ReportData) -> Any:
    """Each run's duration, tokens and cost against its start, coloured by status."""
    subplots = importlib.import_module("plotly.subplots")
    figure = subplots.make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=("duration (s)", "tokens", "cost (USD)"),
    )
    runs = [(when, r) for r in data.chart_runs if (when := parse_time(r["start"])) is not None]
    for status, color in STATUS_COLORS.items():
        chosen = [(when, r) for when, r in runs if r["status"] == status]
        if not chosen:
            continue
        common = {
            "x": [when.isoformat() for when, _ in chosen],
            "text": [_hover(r, status) for _, r in chosen],
            "mode": "markers",
            "legendgroup": status,
        }
        figure.add_trace(
            go.Scatter(
                y=[r[DURATION_S] for _, r in chosen],
                name=f"{status} ({len(chosen):,})",
                marker={"color": color, "size": 7},
                hovertemplate=f"%{{text}}<br>%{{y:.3f}} s{_EXTRA}",
                **common,
            ),
            row=1,
            col=1,
        )
        figure.add_trace(
            go.Scatter(
                y=[r["tokens"] for _, r in chosen],
                showlegend=False,
                marker={"color": color, "size": 5},
                hovertemplate=f"%{{text}}<br>%{{y:,}} tokens{_EXTRA}",
                **common,
            ),
            row=2,
            col=1,
        )
        figure.add_trace(
            go.Scatter(
                y=[r[COST_USD] for _, r in chosen],
                customdata=[usd(r[COST_USD]) for _, r in chosen],
                showlegend=False,
                marker={"color": color, "size": 5},
                hovertemplate=f"%{{text}}<br>%{{customdata}}{_EXTRA}",
                **common,
            ),
            row=3,
            col=1,
        )
    for row, key in ((1, DURATION_S), (2, "tokens"), (3, COST_USD)):
        figure.update_yaxes(range=value_range(r[key] for _, r in runs), row=row, col=1)
    figure.update_yaxes(row=3, col=1, **_COST_AXIS)
    _layout(figure, 560, "Runs over time")
    return figure


def error_rate_chart(go: Any, data: ReportData) -> Any:
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
        for status, color in STATUS_COLORS.items():
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


def groups_chart(go: Any, rows: list[dict[str, Any]], title: str, money: bool) -> Any:
    """Latency p50 / p95 per model or step name and, for models, tokens and cost."""
    subplots = importlib.import_module("plotly.subplots")
    names = [plot_text(r["key"]) for r in rows]
    columns = 3 if money else 1
    titles = ("latency p50 / p95 (s)", "tokens", "cost (USD)")[:columns]
    figure = subplots.make_subplots(rows=1, cols=columns, subplot_titles=titles)
    for key, name in (("p50_s", "p50"), ("p95_s", "p95")):
        values = [r[key] for r in rows]
        figure.add_bar(
            x=names,
            y=values,
            customdata=[secs(v) for v in values],
            name=name,
            hovertemplate=f"%{{x}}<br>{name} %{{customdata}}{_EXTRA}",
            row=1,
            col=1,
        )
    figure.update_yaxes(range=value_range(r[k] for r in rows for k in ("p50_s", "p95_s")), col=1)
    if money:
        for key, name in ((INPUT_TOKENS, "input"), (OUTPUT_TOKENS, "output")):
            figure.add_bar(
                x=names,
                y=[r[key] for r in rows],
                name=name,
                hovertemplate=f"%{{x}}<br>%{{y:,}} {name} tokens{_EXTRA}",
                row=1,
                col=2,
            )
        tokens = [r[k] for r in rows for k in (INPUT_TOKENS, OUTPUT_TOKENS)]
        figure.update_yaxes(range=value_range(tokens), row=1, col=2)
        costs = [r[COST_USD] for r in rows]
        figure.add_bar(
            x=names,
            y=costs,
            customdata=[usd(c) for c in costs],
            name="cost",
            hovertemplate=f"%{{x}}<br>%{{customdata}}{_EXTRA}",
            row=1,
            col=3,
        )
        figure.update_yaxes(range=value_range(costs), row=1, col=3, **_COST_AXIS)
    figure.update_xaxes(type="category")
    _layout(figure, 340, title)
    return figure


def scores_chart(go: Any, bucket: str, series: list[dict[str, Any]]) -> Any:
    """Each pass/fail score's pass rate per group and time bucket, with its 95% interval."""
    figure = go.Figure()
    for line in series:
        points = line["points"]
        rates = [100 * passes / n for _, passes, n, _, _ in points]
        figure.add_scatter(
            x=[when for when, *_ in points],
            y=rates,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [100 * high - 100 * p / n for _, p, n, _, high in points],
                "arrayminus": [100 * p / n - 100 * low for _, p, n, low, _ in points],
            },
            customdata=[
                f"{passes:,} of {n:,}, 95% {100 * low:.1f}% to {100 * high:.1f}%"
                for _, passes, n, low, high in points
            ],
            name=plot_text(f"{line['score']} · {line['group']}"),
            mode="lines+markers",
            hovertemplate=f"%{{fullData.name}}<br>%{{y:.1f}}%: %{{customdata}}{_EXTRA}",
        )
    figure.update_layout(yaxis={"title": "pass rate %", "range": [0, 105]})
    _layout(figure, 340, f"Pass rate per {bucket}")
    return figure


def figure_json(pio: Any, figure: Any) -> Any:
    """The figure as plain JSON values (plotly's encoder handles its own types)."""
    return orjson.loads(pio.to_json(figure, validate=False))


DRAW_CHARTS = """
const figures = JSON.parse(document.getElementById("report-figures").textContent);
for (const [id, figure] of Object.entries(figures.charts)) {
  Plotly.newPlot(id, figure.data, figure.layout, figures.config);
}
"""
"""The page's one script of its own: it draws the figures embedded as JSON."""
