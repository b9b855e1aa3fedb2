"""A log written by an attacker, read by every command on a pseudo-terminal and through a pipe.

Logged strings and planted file names carry escape sequences (the clipboard, the window title,
the screen), C1 controls, carriage returns, bidi overrides, invisible characters and rich
markup. Whatever the command, no such character from the log may reach the output: only the
colours the CLI adds itself (SGR sequences, on a terminal) may. The visible form of a payload
(`\\x1b]52;...`) must be there instead, so a test cannot pass by printing nothing.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import pytest

from llmops_logging.cli import _steps as cli_steps
from llmops_logging.cli._output import guarded, json_text, visible, visible_lines, write_json

from ..conftest import ENV, ROOT

PAYLOADS = {
    "clipboard": "\x1b]52;c;aGVsbG8=\x07",
    "title": "\x1b]0;owned\x1b\\",
    "clear": "\x1b[2J\x1b[H",
    "c1": "\x9b2J\x9d0;c1 title\x9c",
    "overwrite": "fake\rreal\x08\x08",
    "bidi": "\u202etxt.exe\u202c \u2066isolate\u2069",
    "invisible": "zero\u200bwidth\u2028line\ufeff",
    "markup": "[bold]bold[/bold] [link=https://evil.example]click[/link]",
}
HOSTILE = " ".join(PAYLOADS.values())
SHOWN = "\\x1b]52;c;aGVsbG8=\\x07"  # the clipboard payload, made visible
FILE_NAME = "events.jsonl.\x1b]0;file\x07\x9b2J\u202e"
BAD_UTF8_NAME = b"events.jsonl.\xff\x1b[2J"

SGR = re.compile(rb"\x1b\[[0-9;]*m")
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
)
ENV_TTY = {**ENV, "LLMOPS_NO_PROGRESS": "1", "TERM": "xterm-256color", "COLUMNS": "400"}
TS = "2026-11-26T13:05:26.{:06d}+00:00"


def _record(n: int, **fields: Any) -> dict[str, Any]:
    base = {"ts": TS.format(n), "run_id": RUN_ID, "event": HOSTILE, "kind": "log",
            "level": "info", "logger": HOSTILE, "event_id": f"e-{n}", "seq": n,
            "pid": 7}  # fmt: skip
    return {**base, **fields}


RUN_ID = "\x1b]0;ab\x07" + str(uuid.UUID(int=7))


def hostile_records() -> list[dict[str, Any]]:
    usage = {"llm_calls": 1, "input_tokens": 3, "output_tokens": 4, "cost_usd": 0.001}
    gen_ai = {
        "provider": {"name": HOSTILE},
        "operation": {"name": "chat"},
        "request": {"model": HOSTILE},
        "response": {"model": HOSTILE, "finish_reasons": [HOSTILE]},
        "usage": {"input_tokens": 3, "output_tokens": 4},
    }
    return [
        _record(1, kind="run_start", name=HOSTILE),
        _record(2, kind="sample", note=HOSTILE, **{HOSTILE: HOSTILE}),
        _record(3, kind="llm_call", event=f"chat {HOSTILE}", gen_ai=gen_ai, duration_s=0.5,
                error={"type": HOSTILE, "message": HOSTILE}),
        _record(4, kind=HOSTILE, level=HOSTILE),
        {"note": HOSTILE},  # another writer's record, shown as it is
        _record(5, kind="run_error", name=HOSTILE, duration_s=1.0, usage=usage,
                error={"type": HOSTILE, "message": HOSTILE, "traceback": HOSTILE}),
    ]  # fmt: skip


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode() + b"\n"


@pytest.fixture
def hostile_log(tmp_path: Path) -> Path:
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / "events.jsonl").write_bytes(b"".join(map(_line, hostile_records())))
    (log_dir / FILE_NAME).write_bytes(_line({"planted": True}))
    (log_dir / os.fsdecode(BAD_UTF8_NAME)).write_bytes(_line({"planted": True}))
    return log_dir


# -- running the CLI with its output on a terminal or a pipe ---------------------------------


class Session:
    """The CLI in a subprocess, stdout and stderr both on a new pseudo-terminal or one pipe."""

    def __init__(self, args: list[Any], terminal: bool) -> None:
        command = [sys.executable, "-m", "llmops_logging.cli", *map(str, args)]
        if terminal:
            self.fd, writer = os.openpty()
            fcntl.ioctl(writer, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 400, 0, 0))
        else:
            self.fd, writer = os.pipe()
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=writer, stderr=writer, cwd=ROOT,
            env=ENV_TTY,
        )  # fmt: skip
        os.close(writer)
        self.output = b""

    def read_until(self, marker: bytes | None, timeout: float = 120) -> bytes:
        """What it printed, until `marker` shows (None: until it closes its output)."""
        deadline = time.monotonic() + timeout
        while marker is None or marker not in self.output:
            left = deadline - time.monotonic()
            assert left > 0, (marker, self.output[-2000:])
            if not select.select([self.fd], [], [], left)[0]:
                continue
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # EIO: every holder of the terminal's other end closed it
                data = b""
            if not data:
                break
            self.output += data
        return self.output

    def finish(self) -> tuple[int, bytes]:
        self.read_until(None)
        status = self.process.wait(timeout=60)
        os.close(self.fd)
        return status, self.output.replace(b"\r\n", b"\n")  # the terminal's own line ends


def run(args: list[Any], terminal: bool) -> tuple[int, bytes]:
    return Session(args, terminal).finish()


def assert_inert(output: bytes) -> str:
    """No control or format character in `output` but newlines and the CLI's own colours;
    the text, colours removed."""
    text = SGR.sub(b"", output).decode("utf-8")  # a raw byte from a file name fails here
    found = sorted(set(UNSAFE.findall(text)))
    assert not found, (found, text[:3000])
    return text


# -- every command ----------------------------------------------------------------------------

COMMANDS = [
    ["tail", "-n", "100"],
    ["runs"],
    ["stats"],
    ["stats", "--by", "kind"],
    ["stats", "--by", "note"],
    ["stats", "--by", "run"],
    ["stats", "--by", "gen_ai.request.model"],
    ["validate"],
]


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_no_control_sequence_from_the_log_reaches_the_output(
    hostile_log: Path, command: list[str], terminal: bool
) -> None:
    status, output = run([*command, hostile_log], terminal)
    assert status == (1 if command == ["validate"] else 0), output
    text = assert_inert(output)
    assert "Traceback" not in text
    assert "not read: 2 files" in text  # the planted names, made visible
    assert "events.jsonl.\\x1b]0;file\\x07\\x9b2J\\u202e" in text
    assert "events.jsonl.\\udcff\\x1b[2J" in text
    if command[0] != "validate":
        assert SHOWN in text  # the record content is shown, escaped
    if terminal and command[0] != "validate":  # validate adds no colour
        assert SGR.search(output), output[:2000]  # the CLI's own colours stay


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
def test_rich_markup_in_the_log_is_shown_as_text(tmp_path: Path, terminal: bool) -> None:
    markup = PAYLOADS["markup"]
    (tmp_path / "events.jsonl").write_bytes(
        _line(_record(1, kind="run_start", name=markup, event="run_start", logger="t"))
        + _line(_record(2, kind="run_ok", name=markup, event="run_ok", logger="t"))
    )
    for command in (["runs"], ["stats"], ["stats", "--by", "name"], ["tail"]):
        status, output = run([*command, "--color", "always", tmp_path], terminal)
        assert status == 0
        text = assert_inert(output)
        assert markup in text, (command, text)
        assert b"\x1b]8;" not in output  # no hyperlink
        assert b"\x1b[1mbold" not in output  # no bold from the log


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
def test_tail_line_shows_each_hostile_piece_escaped(hostile_log: Path, terminal: bool) -> None:
    status, output = run(["tail", "-n", "100", "--color", "always", hostile_log], terminal)
    assert status == 0
    text = assert_inert(output)
    for shown in (
        "\\x1b]0;owned\\x1b\\",
        "\\x1b[2J\\x1b[H",
        "\\x9b2J\\x9d0;c1 title\\x9c",
        "fake\\rreal\\x08\\x08",
        "\\u202etxt.exe\\u202c",
        "zero\\u200bwidth\\u2028",
    ):
        assert shown in text, shown  # fmt: skip
    foreign = next(line for line in text.splitlines() if line.startswith("{"))
    assert json.loads(foreign) == {"note": HOSTILE}  # another writer's record stays JSON


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
def test_json_output_stays_json_with_every_character_escaped(
    tmp_path: Path, terminal: bool
) -> None:
    (tmp_path / "events.jsonl").write_bytes(b"".join(map(_line, hostile_records())))
    status, output = run(["tail", "-n", "100", "--json", tmp_path], terminal)
    assert status == 0
    text = assert_inert(output)
    assert [json.loads(line) for line in text.splitlines()] == hostile_records()
    status, output = run(["runs", "--json", tmp_path], terminal)
    (row,) = json.loads(assert_inert(output))["runs"]
    assert row["name"] == HOSTILE and row["run_id"] == RUN_ID


@pytest.mark.parametrize("command", [["runs"], ["validate"], ["tail"]], ids=" ".join)
def test_json_report_names_a_file_name_that_is_not_utf8(
    hostile_log: Path, command: list[str]
) -> None:
    status, output = run([*command, "--json", hostile_log], False)
    assert status == (1 if command == ["validate"] else 0)
    text = assert_inert(output)
    if command != ["tail"]:
        report = json.loads(text)
        read = report.get("read", report)
        assert sorted(read["unread"]) == sorted(
            str(hostile_log / name) for name in (FILE_NAME, os.fsdecode(BAD_UTF8_NAME))
        )


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
def test_tail_follow_shows_followed_records_escaped(hostile_log: Path, terminal: bool) -> None:
    session = Session(["tail", "-f", "-n", "100", hostile_log], terminal)
    try:
        session.read_until(b"run=")  # the history is printed: the follower is polling
        with open(hostile_log / "events.jsonl", "ab") as live:
            for record in hostile_records():
                live.write(_line(record))
            live.write(_line(_record(9, event="followed-to-here", logger="t")))
        session.read_until(b"followed-to-here")
    finally:
        session.process.send_signal(signal.SIGINT)
    status, output = session.finish()
    assert status == 0, output
    text = assert_inert(output)
    assert text.count(SHOWN) >= 2  # the history and the followed records alike
    if terminal:
        assert SGR.search(output)


# -- the one place ----------------------------------------------------------------------------


def test_every_control_and_format_character_is_shown_escaped() -> None:
    shown = [chr(c) for c in range(sys.maxunicode + 1)
             if unicodedata.category(chr(c)) in ("Cc", "Cf", "Cs", "Zl", "Zp")]  # fmt: skip
    assert "\x1b" in shown and "\x9b" in shown and "\u202e" in shown and "\U000e0041" in shown
    text = "".join(shown)
    escaped = visible(text)
    assert escaped.isascii() and escaped.isprintable()
    one_line = text.replace("\n", "")
    assert visible_lines(f"a\n{one_line}\n") == f"a\n{visible(one_line)}\n"
    low = "".join(c for c in text if not "\ud800" <= c <= "\udbff")  # surrogateescape's
    for value in (low, "".join(c for c in low if not "\udc00" <= c <= "\udfff")):
        as_json = json_text({"k": value}, indent=True)  # with lone surrogates, or none
        assert as_json.replace("\n", "").isascii() and as_json.replace("\n", "").isprintable()
        assert json.loads(as_json) == {"k": value}
    kept = "plain é 中文 \u00a0nbsp \ue000private \\x1b as typed"
    assert visible(kept) == kept  # printable text, spaces and backslashes stay as they are


def test_a_command_that_forgets_to_escape_still_prints_no_control_sequence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new command that prints log text raw: main's filter still shows it escaped."""
    import llmops_logging.cli as cli

    def careless(args: Any) -> int:
        print(HOSTILE)
        sys.stderr.write(f"warning: {HOSTILE}\n")
        raise cli_steps.UsageError(f"--run {HOSTILE} matches several runs")

    monkeypatch.setattr(cli, "_command", lambda name: careless)
    assert cli.main(["tail"]) == 2
    captured = capsys.readouterr()
    for printed in (captured.out, captured.err):
        assert not UNSAFE.findall(printed.replace("\n", "", printed.count("\n"))), printed
        assert SHOWN in printed
    assert captured.err.count("\n") == 2  # its own lines; the log's newlines are shown as \n


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
@pytest.mark.parametrize("command", [["export", "--format", "csv"], ["report"]], ids=" ".join)
def test_export_and_report_messages_show_planted_names_escaped(
    hostile_log: Path, tmp_path: Path, command: list[str], terminal: bool
) -> None:
    if command == ["report"]:
        pytest.importorskip("plotly")
        pytest.importorskip("jinja2")
    out = tmp_path / ("out.html" if command == ["report"] else "out.csv")
    status, output = run([*command, "--out", out, hostile_log], terminal)
    assert status == 0, output
    text = assert_inert(output)
    assert "not read: 2 files" in text
    assert "events.jsonl.\\x1b]0;file\\x07\\x9b2J\\u202e" in text
    assert out.exists()


_JSON_VALUES: list[Any] = [
    {"runs": [{"name": "plain", "n": 1, "cost": 0.5}]}, {"del": "a\x7fb"}, {"c1": "\x9b[31m"},
    {"format": "\u202e"}, {"é": "中文 \U0001f600"}, {"esc": "\x1b[2J\n\t"}, {1: "a key not text"},
    {"path": "\udcff"},
]  # fmt: skip


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("encoding", ["utf-8", "ascii", "latin-1", "utf-16"])
@pytest.mark.parametrize("value", _JSON_VALUES, ids=[str(n) for n in range(len(_JSON_VALUES))])
def test_json_output_is_the_escaped_json_text_however_it_is_written(
    value: Any, encoding: str, newline: str
) -> None:
    """`--json` is the text `json_text` makes, every character it escapes escaped, in its
    place among what was written before and after, as the stream encodes text and lines."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline=newline)
    saved = sys.stdout
    sys.stdout = stream
    try:
        with guarded():
            sys.stdout.write("before\n")
            write_json(sys.stdout, value)
            sys.stdout.write("after\n")
            sys.stdout.flush()
    except UnicodeEncodeError:  # a text this encoding cannot hold: as print() would say
        assert encoding != "utf-8" and not json_text(value, indent=True).isascii()
        return
    finally:
        sys.stdout = saved
    want = f"before\n{json_text(value, indent=True)}\nafter\n".replace("\n", newline)
    written = raw.getvalue().decode(encoding)
    assert written == want
    assert written.replace(newline, "").isprintable()  # no control or format character
