"""A log written by an attacker: markup, style, links, frames and scripts in every string the
report shows (run, step, event, model and tool names, error messages, tracebacks, levels, field
names and values, a tool's arguments and result), each pointing at `base`, a local server that
counts the requests it gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson


def payloads(base: str) -> list[str]:
    """Markup a browser or plotly would make live, each with a load or a link to `base`."""
    return [
        f"<img src={base}/img>",
        f"<img src=x onerror=\"fetch('{base}/onerror')\">",
        f'<span style="background:url({base}/span-style)">styled</span>',
        f"<span style=\"background-image:url('{base}/span-style-2')\">s</span>",
        f'<a href="{base}/link">click me</a>',
        f'<a href="{base}/popup" target="_blank" popup="x">popup</a>',
        "<a href=\"javascript:fetch('" + base + "/js')\">js link</a>",
        f'<a href="jav&#x61;script:fetch(&quot;{base}/js-entity&quot;)">entity js</a>',
        f'<iframe src="{base}/frame"></iframe>',
        f'<iframe srcdoc="<img src={base}/srcdoc>"></iframe>',
        f"<script>fetch('{base}/script')</script>",
        f"</script><script>fetch('{base}/close-script')</script><script>",
        f'"}}]</script><img src={base}/json-break>',
        f'<svg onload="fetch(\'{base}/svg\')"><image href="{base}/svg-image"/></svg>',
        f'<link rel="stylesheet" href="{base}/css">',
        f"<style>@import url({base}/import); body {{ background: url({base}/style-bg) }}</style>",
        f'<meta http-equiv="refresh" content="0;url={base}/refresh">',
        f'<base href="{base}/base/">',
        f'<object data="{base}/object"></object><embed src="{base}/embed">',
        f'<form action="{base}/form"><button>go</button></form>',
        f"&lt;img src={base}/entity&gt; &amp;lt;b&amp;gt;",
        "fake<br>status: ok<br><b>bold</b> <i>it</i> <sup>up</sup> <sub>down</sub> <em>em</em>",
        f"<b><a href='{base}/nested'><span style='font-size:90px'>BIG</span></a></b>",
        f"<sup><a href={base}/unquoted>u</a></sup>",
    ]


def _at(second: int) -> str:
    return f"2026-11-30T10:{second // 60:02d}:{second % 60:02d}.000000+00:00"


def hostile_records(base: str) -> list[dict[str, Any]]:
    """One run per payload: the payload is the run's, step's, event's, model's and tool's name,
    an error's type, message and traceback, a level, a field's name and value, a tool's
    arguments and result."""
    records: list[dict[str, Any]] = []
    for i, text in enumerate(payloads(base)):
        run_id = f"run-{i:03d}"
        step_id = f"step-{i:03d}"
        call_id = f"call-{i:03d}"
        error = {"type": text, "message": text, "traceback": f"Traceback:\n  {text}\n{text}"}
        failed = i % 3 == 0
        common = {"run_id": run_id, "level": "info", "logger": text}
        records += [
            {**common, "ts": _at(10 * i), "kind": "run_start", "event": text, "name": text},
            {**common, "ts": _at(10 * i), "kind": "step_start", "event": text, "name": text,
             "step_id": step_id},
            {**common, "ts": _at(10 * i + 1), "kind": "llm_call", "event": f"chat {text}",
             "step_id": call_id, "parent_id": step_id, "duration_s": 0.5 + i / 10,
             "cost_usd": 0.000022 * (i + 1),
             "gen_ai": {"request": {"model": text}, "response": {"model": text},
                        "usage": {"input_tokens": 10 + i, "output_tokens": 5},
                        "input": {"messages": [{"role": "user", "content": text}]},
                        "output": {"messages": [{"role": "assistant", "content": text}]}}},
            {**common, "ts": _at(10 * i + 1), "kind": "tool_call", "event": f"execute_tool {text}",
             "step_id": f"tool-{i:03d}", "parent_id": step_id, "duration_s": 0.25,
             "gen_ai": {"operation": {"name": "execute_tool"},
                        "tool": {"name": f"tool {text}", "type": text, "description": text,
                                 "call": {"id": text, "arguments": {text: text},
                                          "result": f"result {text}"}}}},
            {**common, "ts": _at(10 * i + 2), "kind": "log", "event": text, "level": text,
             "step_id": step_id, text: text, "error": error},
            {**common, "ts": _at(10 * i + 3), "kind": "step_error" if failed else "step_ok",
             "event": text, "name": text, "step_id": step_id, "duration_s": 3.0,
             **({"error": error, "level": "error"} if failed else {})},
            {**common, "ts": _at(10 * i + 4), "kind": "run_error" if failed else "run_ok",
             "event": text, "name": text, "duration_s": 4.0 + i,
             **({"error": error, "level": "error"} if failed else {})},
        ]  # fmt: skip
    # A run whose id and start time are markup too.
    text = payloads(base)[0]
    records += [
        {"ts": text, "run_id": text, "kind": "run_start", "event": text, "name": "odd"},
        {"ts": text, "run_id": text, "kind": "run_ok", "event": text, "duration_s": 1.0},
    ]
    return records


def write_hostile_log(log_dir: Path, base: str) -> list[str]:
    """Write the log to `log_dir/events.jsonl`; the payloads it holds."""
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "events.jsonl", "wb") as stream:
        for record in hostile_records(base):
            stream.write(orjson.dumps(record) + b"\n")
    return payloads(base)
