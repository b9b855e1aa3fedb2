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
    CORE_FIELDS,
    ERROR,
    EVENT,
    KIND,
    LEVEL,
    LEVELS,
    LLM_CALL,
    STEP_KINDS,
    TOOL_CALL,
    TS,
)
from ...reader import EventStream
from .. import _steps
from .._outfile import output_file
from .._output import Progress
from .._parser import PROG
from .._values import number, path
from ..export import MissingDependency, default_path
from ..export.span_semantics import is_agent
from ..stats import ERROR_LEVELS
from . import charts
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
from .formats import cost, secs
from .policy import content_security_policy, script_json

REPORT_MISSING = (
    "report needs jinja2 and plotly, which are not installed; "
    "install them with: pip install 'llmops_logging[report]'"
)
_CORE = frozenset(CORE_FIELDS)
_SPAN_KINDS = frozenset((*STEP_KINDS, LLM_CALL, TOOL_CALL))


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
        return "llm", str(record.get(EVENT))
    if kind == TOOL_CALL:
        name = path(record, "gen_ai", "tool", "name")
        return "tool", str(name if isinstance(name, str) else record.get(EVENT))
    name = record.get("name")
    if is_agent(record):
        agent = path(record, "gen_ai", "agent", "name")
        return "agent", str(agent if isinstance(agent, str) else name)
    return "step", str(name)


def _content_text(value: Any) -> str | None:
    """A tool's arguments or result for the page: text as it is, anything else as JSON."""
    if value is None:
        return None
    return value if isinstance(value, str) else _json(value)


def _user_fields(record: Record) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in _CORE and k != ERROR}


def timeline(run: Run) -> dict[str, Any]:
    """The run's steps, agents, LLM calls and tool calls as nested rows with bar positions in
    percent."""
    records = [trim(record) for record in run.records or ()]
    origin = parse_time(run.start) or parse_time(records[0].get(TS) if records else None)
    if origin is None:
        return {"rows": [], "total_s": 0.0}
    root = _span(run.run_id, "run", f"run {run.name}", None)
    spans: dict[str, dict[str, Any]] = {run.run_id: root}
    # The rows first: a tool call's record comes after what was logged while it ran.
    for record in records:
        step_id = record.get("step_id")
        if record.get(KIND) in _SPAN_KINDS and isinstance(step_id, str) and step_id not in spans:
            spans[step_id] = _span(step_id, *_row_kind(record), record.get("parent_id"))
    for record in records:
        kind = record.get(KIND)
        at = _offset(record.get(TS), origin)
        step_id = record.get("step_id")
        if kind in ("run_start", "run_ok", "run_error"):
            span = root
        elif kind in _SPAN_KINDS and isinstance(step_id, str):
            span = spans[step_id]
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
        if kind == LLM_CALL and isinstance(fields.get("gen_ai"), dict):
            # The content is shown as prompt and response; the rest stays among the fields.
            fields["gen_ai"] = {
                k: v
                for k, v in fields["gen_ai"].items()
                if k not in ("input", "output", "system_instructions")
            }
        if kind == TOOL_CALL and isinstance(path(fields, "gen_ai", "tool"), dict):
            # The arguments and result are shown as such; the rest stays among the fields.
            tool = dict(fields["gen_ai"]["tool"])
            call = tool.pop("call", None)
            span["arguments"], span["result"] = path(call, "arguments"), path(call, "result")
            if isinstance(call, dict) and (rest := {
                k: v for k, v in call.items() if k not in ("arguments", "result")
            }):  # fmt: skip
                tool["call"] = rest
            fields["gen_ai"] = {**fields["gen_ai"], "tool": tool}
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
        if kind == LLM_CALL:
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
    environment.filters["secs"] = secs
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
        model_of=model_of,
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
