"""Terminal output for llmops-logs: tables, one-line records, a progress bar, durations.

rich is optional: with it (and a terminal) tables and the progress bar are rich's; without it,
or when output goes to a pipe or file, tables are plain aligned text that greps and diffs well.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TextIO

import orjson

Row = Sequence[Any]

RESET = "\x1b[0m"
LEVEL_STYLES = {
    "debug": ("\x1b[2m", "dim"),
    "info": ("\x1b[32m", "green"),
    "warning": ("\x1b[33m", "yellow"),
    "error": ("\x1b[1;31m", "bold red"),
    "critical": ("\x1b[1;37;41m", "bold white on red"),
}
STATUS_STYLES = {"ok": "green", "error": "bold red", "running": "yellow"}
_DIM, _BOLD, _CYAN = "\x1b[2m", "\x1b[1m", "\x1b[36m"
_SHOWN_APART = ("ts", "level", "logger", "event", "kind", "run_id", "event_id", "seq", "pid")


def wants_color(stream: TextIO, mode: str = "auto") -> bool:
    """`always`, `never`, or `auto`: a terminal and no `NO_COLOR` in the environment."""
    if mode != "auto":
        return mode == "always"
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def have_rich() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


# -- values -----------------------------------------------------------------------------------


def seconds(value: float | None) -> str:
    """A duration read at a glance: `320ns`, `812µs`, `0.102s`, `12.4s`, `3m07s`, `2h05m`."""
    if value is None:
        return "-"
    if value < 0.000001:
        return f"{value * 1e9:.0f}ns"
    if value < 0.001:
        return f"{value * 1e6:.0f}µs"
    if value < 10:
        return f"{value:.3f}s"
    if value < 60:
        return f"{value:.1f}s"
    if value < 3600:
        return f"{int(value // 60)}m{int(value % 60):02d}s"
    return f"{int(value // 3600)}h{int(value % 3600 // 60):02d}m"


def usd(value: float | None) -> str:
    """A cost in US dollars: `$0.000123` for a call, `$1.23` for a day of them."""
    if value is None:
        return "-"
    if value < 0.01:
        return f"${value:.6f}"
    return f"${value:.4f}" if value < 100 else f"${value:,.2f}"


USAGE_HEADERS = ("llm_calls", "tokens_in", "tokens_out", "cost")


def usage_cells(row: dict[str, Any]) -> list[Any]:
    """The cells under `USAGE_HEADERS`; the cost is `>=` a sum when some calls had no price."""
    cost = usd(row.get("cost_usd"))
    if row.get("cost_usd") is not None and row["priced_calls"] < row["llm_calls"]:
        cost = f">={cost}"
    return [row.get("llm_calls", 0), row.get("input_tokens"), row.get("output_tokens"), cost]


def short_ts(ts: Any) -> str:
    """`2026-11-26 13:05:26` from the contract's ISO form (other values as they are)."""
    if isinstance(ts, str) and len(ts) >= 19 and ts[10] == "T":
        return f"{ts[:10]} {ts[11:19]}"
    return "-" if ts is None else str(ts)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 1e6 else f"{value:.3g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _value(value: Any) -> str:
    if isinstance(value, str) and value and " " not in value and "=" not in value:
        return value
    if isinstance(value, float):
        return f"{value:.6g}"
    return orjson.dumps(value, default=str).decode()


def _path(record: dict[str, Any], *keys: str) -> Any:
    node: Any = record
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _error_text(value: Any) -> Any:
    if isinstance(value, dict):
        return f"{value.get('type')}: {value.get('message')}"
    return value


def llm_call_parts(record: dict[str, Any]) -> list[str]:
    """An `llm_call` in a few words: provider, model, tokens in+out, cost, duration, the
    first chunk's delay and finish reasons or the error and HTTP status; never its content."""
    response_model = _path(record, "gen_ai", "response", "model")
    model = response_model or _path(record, "gen_ai", "request", "model")
    usage = _path(record, "gen_ai", "usage")
    usage = usage if isinstance(usage, dict) else {}
    tokens_in, tokens_out = usage.get("input_tokens"), usage.get("output_tokens")
    shown: list[tuple[str, Any]] = [
        ("provider", _path(record, "gen_ai", "provider", "name")),
        ("model", model),
        ("tokens", None if tokens_in is None and tokens_out is None
         else f"{cell(tokens_in)}+{cell(tokens_out)}"),
        ("cost", None if record.get("cost_usd") is None else usd(record["cost_usd"])),
        ("duration", None if record.get("duration_s") is None else seconds(record["duration_s"])),
        ("ttft", None if record.get("ttft_s") is None else seconds(record["ttft_s"])),
        ("finish", _path(record, "gen_ai", "response", "finish_reasons")),
        ("error", _error_text(record.get("error"))),
        ("status", _path(record, "error", "status_code")),
    ]  # fmt: skip
    return [f"{key}={_value(value)}" for key, value in shown if value is not None]


# -- one record, one line ---------------------------------------------------------------------


def record_line(record: dict[str, Any], color: bool) -> str:
    """`13:05:26.123 INFO  logger  event  kind=... key=value ...  run=2b6c78b6`, one line."""
    if "event" not in record and "level" not in record:  # another writer's record: as it is
        text = orjson.dumps(record, default=str).decode()
        return f"{_DIM}{text}{RESET}" if color else text
    ts = record.get("ts")
    when = f"{ts[:10]} {ts[11:23]}" if isinstance(ts, str) and len(ts) >= 23 else str(ts or "-")
    level = record.get("level")
    level_text = f"{str(level).upper() if level is not None else '-':<8}"
    parts: list[str] = []
    kind = record.get("kind")
    if kind == "llm_call":
        parts = llm_call_parts(record)
    else:
        if kind not in (None, "log"):
            parts.append(f"kind={_value(kind)}")
        for key, value in record.items():
            if key not in _SHOWN_APART:
                parts.append(f"{key}={_value(_error_text(value) if key == 'error' else value)}")
    run_id = record.get("run_id")
    run = f"run={str(run_id)[:8]}" if run_id is not None else ""
    logger = str(record.get("logger", "-"))
    event = str(record.get("event", "-")).replace("\n", "\\n")
    fields = " ".join(parts).replace("\n", "\\n")
    if not color:
        return f"{when} {level_text} {logger} {event}  {fields}  {run}".rstrip()
    style = LEVEL_STYLES.get(str(level), ("", ""))[0]
    return (
        f"{_DIM}{when}{RESET} {style}{level_text}{RESET} {_CYAN}{logger}{RESET} "
        f"{_BOLD}{event}{RESET}  {fields}  {_DIM}{run}{RESET}"
    ).rstrip()


# -- tables -----------------------------------------------------------------------------------


def print_table(
    headers: Sequence[str],
    rows: Iterable[Row],
    out: TextIO,
    *,
    title: str | None = None,
    numeric: Sequence[int] = (),
    styles: dict[int, Callable[[Any], str]] | None = None,
    color: bool = False,
) -> None:
    """A table: rich's on a colour terminal when rich is installed, plain text otherwise."""
    text_rows = [[cell(v) for v in row] for row in rows]
    if color and have_rich():
        _rich_table(headers, text_rows, out, title, numeric, styles or {})
        return
    widths = [len(h) for h in headers]
    for row in text_rows:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if i in numeric else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    if title:
        out.write(f"{title}\n")
    out.write(line(headers) + "\n")
    for row in text_rows:
        out.write(line(row) + "\n")


def _rich_table(
    headers: Sequence[str],
    rows: list[list[str]],
    out: TextIO,
    title: str | None,
    numeric: Sequence[int],
    styles: dict[int, Callable[[Any], str]],
) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left", header_style="bold")
    for i, header in enumerate(headers):
        table.add_column(header, justify="right" if i in numeric else "left", no_wrap=i == 0)
    for row in rows:
        cells = [
            f"[{styles[i](v)}]{v}[/]" if i in styles and styles[i](v) else v
            for i, v in enumerate(row)
        ]
        table.add_row(*cells)
    Console(file=out, highlight=False, force_terminal=True).print(table)


# -- progress ---------------------------------------------------------------------------------


class Progress:
    """A progress bar on stderr that appears only when reading takes more than a moment."""

    DELAY_S = 0.7
    EVERY = 8192

    def __init__(self, measure: Callable[[], tuple[int, int]], label: str = "reading") -> None:
        self.measure = measure
        self.label = label
        self.enabled = sys.stderr.isatty() and not os.environ.get("LLMOPS_NO_PROGRESS")
        self.started = time.monotonic()
        self.count = 0
        self._shown = False
        self._rich: Any = None
        self._task: Any = None

    def wrap(self, items: Iterable[Any]) -> Iterator[Any]:
        """The same items; every few thousand, a look at the clock and maybe the bar."""
        every = self.EVERY
        try:
            for n, item in enumerate(items, 1):
                if not n % every:
                    self.tick(every)
                yield item
        finally:
            self.done()

    def tick(self, items: int = 1) -> None:
        self.count += items
        if not self.enabled or time.monotonic() - self.started < self.DELAY_S:
            return
        done, total = self.measure()
        if have_rich():
            self._tick_rich(done, total)
        else:
            percent = f"{100 * done // total:3d}%  " if total else ""
            sys.stderr.write(f"\r{self.label}: {percent}{self.count:,} records")
            sys.stderr.flush()
        self._shown = True

    def _tick_rich(self, done: int, total: int) -> None:
        if self._rich is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

            self._rich = Progress(
                TextColumn(self.label),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[records]} records"),
                console=Console(stderr=True),
                transient=True,
            )
            self._rich.start()
            self._task = self._rich.add_task(self.label, total=total or None, records="0")
        self._rich.update(
            self._task, completed=done, total=total or None, records=f"{self.count:,}"
        )

    def done(self) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None
        elif self._shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
        self._shown = False
