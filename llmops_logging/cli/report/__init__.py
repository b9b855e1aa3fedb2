"""`report`: one self-contained HTML page of what the log's runs did.

The page is rendered with jinja2 (autoescaping) from `templates/report.html.j2`; its charts are
plotly figures (`charts`), with plotly.js itself (the copy bundled in the installed plotly
package) inlined in the page, so it opens offline, from a file, years later, with nothing
fetched. plotly rather than a lighter library because it is the one well-kept Python charting
package that ships its browser script in the wheel: no CDN, no second download. Each run's
waterfall is plain HTML (`<details>` rows with CSS-positioned bars), so it expands without any
script. The log is hostile input: `charts` escapes its text for plotly's label markup, and the
page's Content-Security-Policy (`policy`) forbids every load and every script but its own.

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

from ..._contract import (
    AGENT_NAME_PATH,
    CORE_FIELDS,
    ERROR,
    EVENT,
    GEN_AI,
    KIND,
    LEVEL,
    LEVELS,
    LLM_CALL,
    NAME,
    TOOL_CALL,
    TOOL_CALL_PATH,
    TOOL_NAME_PATH,
    TS,
    Record,
)
from ...reader import EventStream
from ...readmodel.records import call_label
from ...readmodel.spans import Node, SpanTree
from ...readmodel.values import path, shown
from .. import _steps
from .._outfile import output_file
from .._output import Progress
from .._parser import PROG
from ..export import MissingDependency, default_path
from ..export.span_semantics import is_agent
from . import charts
from .data import (
    FAILED_RUNS,
    MAX_CHART_RUNS,
    MAX_RUN_RECORDS,
    RECENT_RUNS,
    ReportData,
    Run,
    gather,
    parse_time,
    trim,
)
from .formats import cost, secs
from .policy import content_security_policy, script_json
from .scores import VERSION

REPORT_MISSING = (
    "report needs jinja2 and plotly, which are not installed; "
    "install them with: pip install 'llmops_logging[report]'"
)
_CORE = frozenset(CORE_FIELDS)
_SYSTEM = ("system_instructions",)
_INPUT_MESSAGES = ("input", "messages")
_OUTPUT_MESSAGES = (GEN_AI, "output", "messages")
_CONTENT = ("input", "output", "system_instructions")
"""Under `gen_ai`: a call's content, shown as its prompt and response, not among its fields."""
_ARGUMENTS, _RESULT = "arguments", "result"


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
        "arguments": None,
        "result": None,
        "events": [],
    }


def _row_kind(record: Record) -> tuple[str, str]:
    """A timeline row's kind and label: an LLM call by its event, a tool and an agent by
    their names, another step by its name."""
    kind = record.get(KIND)
    if kind == LLM_CALL:
        return "llm", shown(record.get(EVENT))
    if kind == TOOL_CALL:
        name = path(record, *TOOL_NAME_PATH)
        return "tool", shown(name if isinstance(name, str) else record.get(EVENT))
    name = record.get(NAME)
    if is_agent(record):
        agent = path(record, *AGENT_NAME_PATH)
        return "agent", shown(agent if isinstance(agent, str) else name)
    return "step", shown(name)


def _content_text(value: Any) -> str | None:
    """A tool's arguments or result for the page: text as it is, anything else as JSON."""
    if value is None:
        return None
    return value if isinstance(value, str) else _json(value)


def _user_fields(record: Record) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in _CORE and k != ERROR}


def timeline(run: Run) -> dict[str, Any]:
    """The run's steps, agents, LLM calls and tool calls as nested rows with bar positions in
    percent: the run's `SpanTree`, drawn."""
    records = [trim(record) for record in run.records or ()]
    origin = parse_time(run.start) or parse_time(records[0].get(TS) if records else None)
    if origin is None:
        return {"rows": [], "total_s": 0.0}
    tree = SpanTree()
    tree.root().name = shown(run.row()[NAME])
    for record in records:
        tree.add(record)
    taken = tree.take()
    spans: dict[str, dict[str, Any]] = {}
    for node, parent in taken:
        span_key = run.run_id if node.is_root else str(node.step_id)
        spans[span_key] = _node_span(node, span_key, parent, run.run_id, origin)
    return _rows(spans[run.run_id], spans)


def _node_span(
    node: Node, span_key: str, parent: Node | None, run_id: str, origin: datetime
) -> dict[str, Any]:
    """One row of the timeline from its node: its records folded, its events listed."""
    first = node.first
    kind, label = ("run", f"run {node.name}") if node.is_root or first is None else _row_kind(first)
    parent_key = None if parent is None else run_id if parent.is_root else parent.step_id
    span = _span(span_key, kind, label, parent_key)
    for record in node.records:
        fields = _user_fields(record)
        if record.get(KIND) == LLM_CALL and isinstance(fields.get(GEN_AI), dict):
            # The content is shown as prompt and response; the rest stays among the fields.
            fields[GEN_AI] = {k: v for k, v in fields[GEN_AI].items() if k not in _CONTENT}
        if record.get(KIND) == TOOL_CALL and isinstance(path(fields, *TOOL_CALL_PATH[:-1]), dict):
            # The arguments and result are shown as such; the rest stays among the fields.
            tool = dict(fields[GEN_AI][TOOL_CALL_PATH[1]])
            call = tool.pop(TOOL_CALL_PATH[2], None)
            span["arguments"], span["result"] = path(call, _ARGUMENTS), path(call, _RESULT)
            if isinstance(call, dict) and (rest := {
                k: v for k, v in call.items() if k not in (_ARGUMENTS, _RESULT)
            }):  # fmt: skip
                tool[TOOL_CALL_PATH[2]] = rest
            fields[GEN_AI] = {**fields[GEN_AI], TOOL_CALL_PATH[1]: tool}
        span["fields"].update(fields)
        if isinstance(record.get(ERROR), dict):
            span["error"] = record[ERROR]
        if record.get(KIND) == LLM_CALL:
            span["prompt"] = {
                name: value
                for name, keys in (("system", _SYSTEM), ("messages", _INPUT_MESSAGES))
                if (value := path(record, GEN_AI, *keys)) is not None
            } or None
            span["response"] = path(record, *_OUTPUT_MESSAGES)
    span["start"] = _offset(node.start, origin)
    if node.ended:
        span["end"] = _offset(node.end, origin)
        if span["start"] is None and span["end"] is not None and node.duration_s is not None:
            span["start"] = span["end"] - node.duration_s
        span["status"] = node.status
    for _, record in sorted(node.events, key=lambda event: event[0]):
        span["events"].append(
            {
                "at": _offset(record.get(TS), origin),
                LEVEL: record.get(LEVEL),
                EVENT: record.get(EVENT),
                KIND: record.get(KIND),
                "fields": _json(_user_fields(record)),
                ERROR: record.get(ERROR),
            }
        )
    return span


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
            arguments_text=_content_text(span["arguments"]),
            result_text=_content_text(span["result"]),
        )
        span["left"] = min(span["left"], 100 - span["width"])
        rows.append(span)
        for child in sorted(children.get(span["id"], []), key=lambda s: s["start"] or 0.0):
            visit(child, depth + 1)

    visit(root, 0)
    return {"rows": rows, "total_s": total}


def _short_error(error: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in error.items() if k != "traceback"}


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
    figures = {
        "chart-error-rate": charts.error_rate_chart(go, data),
        "chart-runs": charts.runs_chart(go, data),
    }
    if models:
        chart = charts.groups_chart(go, models[:20], "The 20 models called most", money=True)
        figures["chart-models"] = chart
    if steps:
        chart = charts.groups_chart(go, steps[:20], "The 20 most frequent step names", money=False)
        figures["chart-steps"] = chart
    scores = data.scores.table() if data.scores.present else []
    bucket, series = data.scores.series()
    if series:
        figures["chart-scores"] = charts.scores_chart(go, bucket, series)
    detailed = data.detailed()
    runs: list[dict[str, Any]] = [
        {"run": run.row(), "timeline": timeline(run), "dropped": run.dropped} for run in detailed
    ]
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("llmops_logging.cli.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["secs"] = secs
    environment.filters["shown"] = shown
    environment.filters["cost"] = cost
    template = environment.get_template("report.html.j2")
    plotly_js: str = plotly_offline.get_plotlyjs()
    figures_json = {
        "config": charts.CONFIG,
        "charts": {name: charts.figure_json(pio, figure) for name, figure in figures.items()},
    }
    text: str = template.render(
        data=data,
        sources=sources,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        models=models,
        steps=steps,
        scores=scores,
        scores_by=VERSION if data.scores.by == VERSION else "run name",
        has_score_chart=bool(series),
        runs=runs,
        failed=[r for r in runs if r["run"]["status"] == "error"],
        levels=LEVELS,
        plotly_js=plotly_js,
        figures_json=script_json(figures_json),
        draw_charts=charts.DRAW_CHARTS,
        policy=content_security_policy((plotly_js, charts.DRAW_CHARTS)),
        limits={
            "recent": RECENT_RUNS,
            "failed": FAILED_RUNS,
            "chart": MAX_CHART_RUNS,
            "records": MAX_RUN_RECORDS,
        },
        error_rate=data.runs_failed / data.runs_seen if data.runs_seen else 0.0,
        model_of=call_label,
    )
    return text


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
