"""Terminal output for llmops-logs: tables, one-line records, a progress bar, durations, and
the one place that makes log text safe for a terminal.

A log is hostile input: a model's reply, a tool's output or a planted file name can hold escape
sequences (set the clipboard, retitle the window, clear the screen), C1 controls, bidi
overrides that reorder what is shown, or rich markup. `visible` shows every such character as
a backslash escape (`\x1b`, `\x9b`, `\u202e`, `\n`); `json_text` writes JSON that escapes
them (`\u001b`, `\u202e`), so it stays JSON and a terminal shows it as it is. rich gets only
`Text` built from visible strings, never markup. And `guarded` puts a filter in front of
stdout and stderr for the whole of a command, which escapes every control character but the
newline in what is printed through them: a message that forgets `visible` still cannot emit
a control sequence. Only this module writes past that filter: the colours it adds itself, and
`json_text`'s JSON, inert already.

rich draws every table, colour and progress bar. On a terminal tables are rich's heavy ones in
colour; on a pipe, in a file or with `--color never` the same table comes without colour in a
light box (a rule under the header, columns two spaces apart or more), on a console wide enough
that no row wraps and with no space at the end of a line, so `grep`, `awk` and `cut` work on it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sys
import time
import unicodedata
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, TextIO, TypeVar, cast

import orjson

from .._contract import (
    COST_USD,
    DEFAULT_KIND,
    DURATION_S,
    ERROR,
    EVENT,
    EVENT_ID,
    GEN_AI,
    INPUT_TOKENS,
    KIND,
    LEVEL,
    LEVELS,
    LLM_CALL,
    LLM_CALLS,
    LOGGER,
    NAME,
    OUTPUT_TOKENS,
    PID,
    RESPONSE_MODEL_PATH,
    RUN_ID,
    SEQ,
    TOOL_CALL,
    TOOL_CALL_PATH,
    TOOL_NAME_PATH,
    TS,
    TTFT_S,
    USAGE_PATH,
)
from ..readmodel.records import call_model, error_text
from ..readmodel.usage import lower_bound
from ..readmodel.values import json_text as whole_json
from ..readmodel.values import number, path, shown

if TYPE_CHECKING:  # rich is imported where a table, a colour or a bar is drawn: a command
    # writing JSON never draws one, and importing rich was a fifth of its start-up
    from rich.console import Console
    from rich.progress import Progress as RichProgress

Row = Sequence[Any]

LEVEL_STYLES = dict(
    zip(LEVELS, ("dim", "green", "yellow", "bold red", "bold white on red"), strict=True)
)
"""rich's style of each level, lowest first as `LEVELS` lists them."""
STATUS_STYLES = {"ok": "green", "error": "bold red", "running": "yellow"}
_SHOWN_APART = (TS, LEVEL, LOGGER, EVENT, KIND, RUN_ID, EVENT_ID, SEQ, PID)
WIDE = 4096
"""The console width off a terminal: a table row or a record line never wraps in a pipe."""


# -- log text, made safe for a terminal -------------------------------------------------------

SHOWN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""The Unicode categories shown as escapes: controls (C0, DEL, C1), format characters (bidi
overrides and isolates, zero-width and invisible ones, tags), lone surrogates (what a file
name's undecodable bytes become) and the line and paragraph separators."""
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _shown(char: str) -> bool:
    return not char.isprintable() and unicodedata.category(char) in SHOWN_CATEGORIES


def _escape(char: str) -> str:
    """`\\n`, `\\x1b`, `\\u202e`, `\\U000e0041`: Python's notation."""
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: str) -> str:
    """`text` with every control and format character (`SHOWN_CATEGORIES`), the newline
    included, shown as a backslash escape; other characters, backslashes too, as they are.

    Every piece of log text (record content, field names, file names, error messages that
    quote them) goes through this before it is printed."""
    if text.isprintable():  # the usual case, one pass in C
        return text
    return "".join([_escape(char) if _shown(char) else char for char in text])


def visible_lines(text: str) -> str:
    """`visible` line by line: newlines stay (the filter on stdout and stderr)."""
    return _by_line(text, visible)


def _by_line(text: str, escape: Callable[[str], str]) -> str:
    """`escape` applied to each line of `text`, newlines kept; when every character but the
    newlines is printable, the text as it is, with no call per line (`runs --json` over a
    large log writes 200,000 lines: a tenth of a second of calls that each changed nothing)."""
    if text.isprintable() or text.replace("\n", "").isprintable():  # two passes in C
        return text
    return "\n".join([escape(line) for line in text.split("\n")])


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # a UTF-16 surrogate pair, as JSON spells characters beyond the BMP
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _json_line(line: str) -> str:
    if line.isprintable():
        return line
    return "".join([_json_escape(char) if _shown(char) else char for char in line])


def json_text(value: Any, *, indent: bool = False) -> str:
    """`value` as JSON (no newline at the end) in which every character `visible` escapes is
    a `\\uXXXX` escape: orjson writes C0 controls so but DEL, C1 and format characters as
    they are. The same JSON for a parser, inert on a terminal. A file name with bytes that
    are not UTF-8 (a lone surrogate, which orjson refuses) is written as the stdlib does."""
    try:
        data = orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2 if indent else 0)
    except TypeError:
        try:
            return json.dumps(  # all ASCII; as compact as orjson's when not indented
                value, default=str, indent=2 if indent else None,
                separators=None if indent else (",", ":"),
            )  # fmt: skip
        except (RecursionError, ValueError):  # deeper than recursion allows: the export's rule
            return _json_line(whole_json(value))
    text = data.decode()
    if data.isascii() and b"\x7f" not in data:  # orjson escapes the other controls: no more to
        return text  # escape, seen in two quick passes over the bytes
    return _by_line(text, _json_line) if indent else _json_line(text)


def write_json(stream: TextIO, value: Any) -> None:
    """`json_text(value, indent=True)` and a newline, written past the filter on `stream`:
    that text is inert already, and the filter's check of it was two more passes over the
    4 MB `runs --json` writes for a million records."""
    unguarded(stream).write(json_text(value, indent=True) + "\n")


class _Guard:
    """A text stream in front of another: what is written to it is `visible_lines`."""

    def __init__(self, stream: TextIO) -> None:
        self.unguarded = stream

    def write(self, text: str) -> int:
        self.unguarded.write(visible_lines(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding, ...
        return getattr(self.unguarded, name)


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """stdout and stderr behind the filter for the block: `main` runs every command in it."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = cast(TextIO, _Guard(saved[0])), cast(TextIO, _Guard(saved[1]))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def unguarded(stream: TextIO) -> TextIO:
    """The stream behind the filter: for this module's colours around visible text."""
    guard: Any = stream
    return guard.unguarded if isinstance(guard, _Guard) else stream


# -- consoles ---------------------------------------------------------------------------------


def _terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def wants_color(stream: TextIO, mode: str = "auto") -> bool:
    """`always`, `never`, or `auto`: a terminal and no `NO_COLOR` in the environment."""
    if mode != "auto":
        return mode == "always"
    return _terminal(stream) and not os.environ.get("NO_COLOR")


def console(stream: TextIO, color: bool) -> Console:
    """A rich console on `stream` (past the filter: it prints only `Text` of visible strings,
    never markup or emoji codes): colour when asked, else none, and wide off a terminal."""
    from rich.console import Console

    terminal = _terminal(stream)
    return Console(
        file=unguarded(stream),
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        markup=False,
        emoji=False,
        highlight=False,
        width=None if terminal else WIDE,
    )


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


def durations(values: Sequence[float | None]) -> list[str]:
    """Durations of one column in one unit, the one its largest value reads best in, so rows
    compare at a glance: `812µs`, `102.345ms` or `12.400s` (`-` for none)."""
    largest = max((v for v in values if v is not None), default=0.0)
    if largest < 0.001:
        scale, unit, digits = 1e6, "µs", 0
    elif largest < 1:
        scale, unit, digits = 1e3, "ms", 3
    else:
        scale, unit, digits = 1.0, "s", 3
    return ["-" if v is None else f"{v * scale:,.{digits}f}{unit}" for v in values]


def usd(value: float | None) -> str:
    """A cost in US dollars: `$0.000123` for a call, `$1.23` for a day of them."""
    if value is None:
        return "-"
    if value < 0.01:
        return f"${value:.6f}"
    return f"${value:.4f}" if value < 100 else f"${value:,.2f}"


USAGE_HEADERS = (LLM_CALLS, "tokens_in", "tokens_out", "cost")


def usage_cells(row: dict[str, Any]) -> list[Any]:
    """The cells under `USAGE_HEADERS`; the cost is `>=` a sum when some calls had no price."""
    cost = usd(row.get(COST_USD))
    if lower_bound(row):
        cost = f">={cost}"
    return [row.get(LLM_CALLS, 0), row.get(INPUT_TOKENS), row.get(OUTPUT_TOKENS), cost]


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
    return shown(value)


def _as_logged(value: Any) -> str:
    """A core field of a line (time, level, logger, event, run) as the readers show a name
    (`values.shown`), its JSON with this module's escapes."""
    return shown(value, json_text)


def _value(value: Any) -> str:
    if isinstance(value, str) and value and " " not in value and "=" not in value:
        return value
    if isinstance(value, float):
        return f"{value:.6g}"
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:  # deeper than orjson writes
        return json_text(value)


def _figure(value: Any, show: Callable[[float], str]) -> Any:
    """A duration or cost of a record, read at a glance when it is a number; any other value
    (a foreign writer's text, list or boolean) as it was logged."""
    if value is None:
        return None
    amount = number(value)
    return value if amount is None else show(amount)


def llm_call_parts(record: dict[str, Any]) -> list[str]:
    """An `llm_call` in a few words: provider, model, tokens in+out, cost, duration, the
    first chunk's delay and finish reasons or the error and HTTP status; never its content."""
    model = call_model(record)
    usage = path(record, *USAGE_PATH)
    usage = usage if isinstance(usage, dict) else {}
    tokens_in, tokens_out = usage.get(INPUT_TOKENS), usage.get(OUTPUT_TOKENS)
    shown: list[tuple[str, Any]] = [
        ("provider", path(record, GEN_AI, "provider", NAME)),
        ("model", model),
        ("tokens", None if tokens_in is None and tokens_out is None
         else f"{cell(tokens_in)}+{cell(tokens_out)}"),
        ("cost", _figure(record.get(COST_USD), usd)),
        ("duration", _figure(record.get(DURATION_S), seconds)),
        ("ttft", _figure(record.get(TTFT_S), seconds)),
        ("finish", path(record, *RESPONSE_MODEL_PATH[:-1], "finish_reasons")),
        (ERROR, error_text(record) or record.get(ERROR)),
        ("status", path(record, ERROR, "status_code")),
    ]  # fmt: skip
    return [f"{key}={_value(value)}" for key, value in shown if value is not None]


def tool_call_parts(record: dict[str, Any]) -> list[str]:
    """A `tool_call` in a few words: the tool, its call id, duration and the error; never its
    arguments or result (content, which may be long or private)."""
    shown: list[tuple[str, Any]] = [
        ("tool", path(record, *TOOL_NAME_PATH)),
        ("call_id", path(record, *TOOL_CALL_PATH, "id")),
        ("duration", _figure(record.get(DURATION_S), seconds)),
        (ERROR, error_text(record) or record.get(ERROR)),
    ]
    return [f"{key}={_value(value)}" for key, value in shown if value is not None]


# -- one record, one line ---------------------------------------------------------------------


def _codes(style: str) -> tuple[str, str]:
    """The escape sequences that open and close a rich style, worked out once."""
    from rich.color import ColorSystem
    from rich.style import Style

    opened, _, closed = (
        Style.parse(style).render("\0", color_system=ColorSystem.STANDARD).partition("\0")
    )
    return opened, closed


class LinePrinter:
    """`2026-11-26 13:05:26.123 INFO  logger event  kind=... key=value ...  run=2b6c78b6`.

    Hand-made rather than a rich `Text` per record: measured here, rich's print costs ~180 µs
    a line and this formatting ~0.5 µs plus the fields; rich would add ~18 s to a `tail -n
    100000` that takes ~2 s (200k records of ~200 bytes read).
    The colours are still rich's styles, rendered to escape sequences once, at construction.
    """

    def __init__(self, color: bool) -> None:
        self.color = color
        plain = ("", "")
        self.dim = _codes("dim") if color else plain
        self.bold = _codes("bold") if color else plain
        self.cyan = _codes("cyan") if color else plain
        self.levels = {k: _codes(v) if color else plain for k, v in LEVEL_STYLES.items()}

    def __call__(self, record: dict[str, Any]) -> str:
        dim, bold, cyan = self.dim, self.bold, self.cyan
        if EVENT not in record and LEVEL not in record:  # another writer's record: as it is
            return f"{dim[0]}{json_text(record)}{dim[1]}"
        ts = record.get(TS)
        if isinstance(ts, str) and len(ts) >= 23:
            when = f"{ts[:10]} {ts[11:23]}"
        else:
            when = _as_logged(ts or None)
        level = record.get(LEVEL)
        level_text = f"{level.upper() if isinstance(level, str) else _as_logged(level):<8}"
        parts: list[str] = []
        kind = record.get(KIND)
        if kind == LLM_CALL:
            parts = llm_call_parts(record)
        elif kind == TOOL_CALL:
            parts = tool_call_parts(record)
        else:
            if kind not in (None, DEFAULT_KIND):
                parts.append(f"{KIND}={_value(kind)}")
            for key, value in record.items():
                if key not in _SHOWN_APART:
                    parts.append(
                        f"{key}={_value(error_text(record) or value if key == ERROR else value)}"
                    )
        run_id = record.get(RUN_ID)
        run = visible(f"run={_as_logged(run_id)[:8]}") if run_id is not None else ""
        logger = visible(_as_logged(record.get(LOGGER)))
        event = visible(_as_logged(record.get(EVENT)))
        fields = visible(" ".join(parts))
        style = self.levels.get(level if isinstance(level, str) else "", ("", ""))
        return (
            f"{dim[0]}{visible(when)}{dim[1]} {style[0]}{visible(level_text)}{style[1]} "
            f"{cyan[0]}{logger}{cyan[1]} {bold[0]}{event}{bold[1]}  {fields}  {dim[0]}{run}{dim[1]}"
        ).rstrip()


def record_printer(stream: TextIO, color: bool, as_json: bool) -> Callable[[dict[str, Any]], Any]:
    """How `tail` prints a record on `stream`: a `LinePrinter` line or `json_text`, written
    past the filter (the text in them is visible already, the colours are the CLI's own)."""
    out = unguarded(stream)
    if as_json:
        return lambda record: out.write(json_text(record) + "\n")
    line = LinePrinter(color)
    return lambda record: out.write(line(record) + "\n")


# -- tables -----------------------------------------------------------------------------------


def print_table(
    headers: Sequence[str],
    rows: Iterable[Row],
    out: Console,
    *,
    title: str | None = None,
    numeric: Sequence[int] = (),
    styles: dict[int, Callable[[Any], str]] | None = None,
) -> None:
    """A rich table: heavy and in colour on a colour console, else light and plain; off a
    terminal, without the spaces rich pads the last column and the title with."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    color = out.color_system is not None
    table = Table(
        title=None if title is None else Text(visible(title)),
        box=box.SIMPLE_HEAVY if color else box.SIMPLE_HEAD,
        show_edge=color,
        title_justify="left",
        header_style="bold" if color else "",
    )
    for i, header in enumerate(headers):
        justify: Literal["left", "right"] = "right" if i in numeric else "left"
        table.add_column(Text(visible(header)), justify=justify, no_wrap=True)
    styles = styles or {}
    for row in rows:
        cells = [visible(cell(v)) for v in row]
        table.add_row(
            *(
                Text(v, style=styles[i](v) if color and i in styles else "")
                for i, v in enumerate(cells)
            )
        )
    if _terminal(out.file):
        out.print(table, crop=False)
        return
    with out.capture() as captured:
        out.print(table, crop=False)
    out.file.write("".join(f"{line.rstrip()}\n" for line in captured.get().splitlines()))


# -- progress ---------------------------------------------------------------------------------


T = TypeVar("T")


def every(items: Iterable[T], count: int, call: Callable[[int], object]) -> Iterator[T]:
    """The same items, `call(n)` as the n-th is taken for each n a multiple of `count` (a
    look at the clock costs more than an item). Chained in C, `count - 1` items at a time:
    an item costs no step of a Python generator, only the `count`-th does. `items` must stay
    exhausted once it is, as a generator does."""
    return itertools.chain.from_iterable(_every(iter(items), count, call))


def _every(
    items: Iterator[T], count: int, call: Callable[[int], object]
) -> Generator[Iterable[T], None, None]:
    n = 0
    while True:
        yield itertools.islice(items, count - 1)
        for nth in items:  # none if the slice ran out: the items did
            n += count
            call(n)
            yield (nth,)
            break
        else:
            return


class Progress:
    """rich's progress bar on stderr, shown only when reading takes more than a moment."""

    DELAY_S = 0.7
    EVERY = 8192

    def __init__(self, measure: Callable[[], tuple[int, int]], label: str = "reading") -> None:
        self.measure = measure
        self.label = label
        self.enabled = sys.stderr.isatty() and not os.environ.get("LLMOPS_NO_PROGRESS")
        self.started = time.monotonic()
        self.count = 0
        self.others: Callable[[], int] | None = None
        """Records counted elsewhere (other processes reading the same log), shown too."""
        self._bar: RichProgress | None = None
        self._task: Any = None

    def wrap(self, items: Iterable[Any]) -> Iterator[Any]:
        """The same items; every few thousand, a look at the clock and maybe the bar."""
        try:
            yield from self.counted(items)
        finally:
            self.done()

    def counted(self, items: Iterable[T]) -> Iterator[T]:
        """`wrap` without a generator of its own between the items and the caller, for a
        fold's loop over a million records: the caller calls `done` when it is done."""
        return every(items, self.EVERY, lambda _: self.tick(self.EVERY))

    def tick(self, items: int = 1) -> None:
        self.count += items
        if not self.enabled or time.monotonic() - self.started < self.DELAY_S:
            return
        done, total = self.measure()
        if self._bar is None:  # rich.progress is imported only when a bar is shown
            from rich.console import Console
            from rich.progress import BarColumn, TaskProgressColumn, TextColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn(self.label),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[records]} records"),
                console=Console(file=unguarded(sys.stderr)),  # its own cursor codes
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=total or None, records="0")
        count = self.count + (self.others() if self.others is not None else 0)
        self._bar.update(self._task, completed=done, total=total or None, records=f"{count:,}")

    def done(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
