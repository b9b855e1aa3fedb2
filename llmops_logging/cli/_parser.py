"""The command line of llmops-logs: commands, options, their types and help texts."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from .._contract import DEFAULT_LOG_DIR, LEVELS, LOG_DIR_ENV, NAME, RUN_ID
from ..reader import parse_ts

PROG = "llmops-logs"
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

DESCRIPTION = """\
llmops-logs: read, follow, summarise, check and export llmops_logging JSONL logs.

Every command takes PATHs (a log directory, a live file, a single file such as
00_smoke.jsonl; several are read one after the other), defaulting to $LLMOPS_LOG_DIR, else
data/raw_events (a directory with no log but a raw_events/ below it means that one), and
the same record filters; one that matches no record says so on stderr. Log text is shown
with its control characters escaped (\\x1b). With no COMMAND, this help. Exit status: 0
done (or this help), 1 validate found torn or invalid lines, a scores gate failed (or
export lacks its optional dependency), 2 usage error, missing path or a --run prefix of
several runs, 130 interrupted (but Ctrl-C is the normal end of tail -f: 0).
"""
EPILOG = """\
examples:
  llmops-logs tail -n 20                      last 20 records of data/raw_events
  llmops-logs tail -f --level warning         follow warnings and errors as they are written
  llmops-logs runs --since 2h                 runs that wrote in the last two hours
  llmops-logs stats --by kind --json          per-kind counts and durations, for scripts
  llmops-logs stats --by gen_ai.request.model latency, tokens and cost per model
  llmops-logs scores --by version --fail-under correct=0.8   pass rates; CI gate
  llmops-logs validate logs/ || echo broken   exit status 1 on torn or invalid lines
  llmops-logs export --format parquet --out data/derived/events.parquet
  llmops-logs report --open                   an HTML report of runs, steps and LLM calls
"""


# -- argument types -------------------------------------------------------------------------


def time_arg(text: str) -> datetime:
    """An ISO time (naive means UTC) or an age such as `30s`, `15m`, `2h`, `7d`, `1w`."""
    match = _RELATIVE.match(text.strip())
    if match:
        age = timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
        return datetime.now(timezone.utc) - age
    try:
        return parse_ts(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither an ISO time nor an age like 15m, 2h, 7d"
        ) from None


def regex_arg(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"bad regular expression {text!r}: {exc}") from None


def count_arg(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a count (0, 1, 2, ...)")
    return int(text)


# -- the parser -------------------------------------------------------------------------------


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "paths", nargs="*", metavar="PATH",
        help=f"log directory, live file or single file (default: ${LOG_DIR_ENV} or "
        f"{DEFAULT_LOG_DIR})",
    )  # fmt: skip
    f = common.add_argument_group("filters")
    f.add_argument(
        "--run",
        metavar="ID",
        help=f"{RUN_ID}, or its first characters (comma list); a prefix of several runs is "
        "an error",
    )
    f.add_argument(
        "--kind",
        action="append",
        metavar="KIND",
        help="record kind, e.g. sample or run_error (repeat or comma list)",
    )
    f.add_argument(
        "--level",
        type=str.lower,
        choices=list(LEVELS),
        metavar="LEVEL",
        help="minimum level (debug info warning error critical): warning keeps "
        "warnings, errors and criticals",
    )
    f.add_argument(
        "--since",
        type=time_arg,
        metavar="TIME",
        help="records at or after TIME: ISO (naive = UTC) or an age: 30s 15m 2h 7d",
    )
    f.add_argument("--until", type=time_arg, metavar="TIME", help="records before TIME")
    f.add_argument(
        "--grep",
        type=regex_arg,
        metavar="REGEX",
        help="records whose JSON line matches REGEX (Python syntax; (?i) ignores case)",
    )
    o = common.add_argument_group("output")
    o.add_argument("--json", action="store_true", help="JSON for scripts instead of text")
    o.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour and rich tables: auto (a terminal, no NO_COLOR), always, never",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = [_common()]

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            parents=common,
            help=help,
            description=help,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    tail = command("tail", "the last records, one readable line each (or raw JSON)")
    tail.add_argument(
        "-n",
        "--lines",
        type=count_arg,
        default=10,
        metavar="N",
        help="how many records (default 10)",
    )
    tail.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="keep printing new records across rotations; Ctrl-C stops (status 0)",
    )
    tail.add_argument("--interval", type=float, default=0.1, help=argparse.SUPPRESS)
    runs = command(
        "runs",
        "one row per run: id, name, start, status, duration, events, ok_rate, error, tokens, cost",
    )
    runs.add_argument(
        "--conversation",
        metavar="ID",
        help="only the runs of this conversation (gen_ai.conversation.id)",
    )
    runs.add_argument(
        "--by",
        choices=("run", "conversation"),
        default="run",
        help="one row per run (default) or per conversation: its runs, users, tokens, cost",
    )
    stats = command(
        "stats",
        "counts, error rate, duration_s p50/p95/p99/max, tokens and cost per group",
    )
    stats.add_argument(
        "--by",
        default="name",
        metavar="FIELD",
        help="name (default: run and step names, LLM calls by operation and model), run "
        "(run id), or any field path: kind, logger, tool, gen_ai.request.model, ...",
    )
    sco = command(
        "scores",
        "per score and group: count, mean, pass rate with its Wilson interval, pass@k; "
        "--compare with a significance test; --fail-under / --fail-drop gate CI (status 1)",
    )
    sco.add_argument(
        "--by",
        default=NAME,
        metavar="FIELD,...",
        help="group by these fields of the score or of its run's run_start (default: name, "
        "the run's name): model, version, item, ...",
    )
    sco.add_argument(
        "--k",
        metavar="K,...",
        help="pass@k and pass^k (every one of k) per item for these k (default: 1 and the "
        "fewest samples of any item of the group)",
    )
    sco.add_argument(
        "--compare",
        nargs=3,
        metavar=("FIELD", "A", "B"),
        help="compare each score between FIELD=A and FIELD=B: difference B-A and p "
        "(Fisher's exact test for pass/fail, Welch's t for numbers)",
    )
    sco.add_argument(
        "--fail-under",
        action="append",
        metavar="NAME=X",
        help="status 1 when a group's pass rate (mean for a numeric score) of NAME is below "
        "X, or NAME has no score (repeatable)",
    )
    sco.add_argument(
        "--fail-drop",
        action="append",
        metavar="NAME=D",
        help="with --compare: status 1 when B is below A by more than D and p < 0.05",
    )
    command("validate", "check every line against the record contract; status 1 on problems")
    exp = command(
        "export", "records to CSV or Parquet, runs to OTLP traces (default under data/derived/)"
    )
    exp.add_argument(
        "--format",
        choices=("csv", "parquet", "otlp"),
        default="csv",
        help="csv (default, flattened), parquet (nested, ts a UTC timestamp; needs the "
        "[export] extra: pyarrow) or otlp (OTLP/JSON traces, one request per run and line)",
    )
    exp.add_argument(
        "--protocol",
        choices=("http/json", "http/protobuf"),
        default="http/json",
        help="otlp: OTLP/JSON lines (default) or one binary protobuf ExportTraceServiceRequest "
        "(default file name .otlp.pb), the body an OTLP/HTTP receiver takes",
    )
    exp.add_argument(
        "--out",
        metavar="FILE",
        help="output file (default: derived/ beside raw_events/, else data/derived/)",
    )
    exp.add_argument(
        "--raw-cells",
        action="store_true",
        help="csv: write cells as logged (by default a text cell that a spreadsheet would "
        "run as a formula, starting with = + - @, tab or CR, gets a ' in front)",
    )
    shp = command(
        "ship",
        "follow a log and send its runs as OTLP traces to an OpenTelemetry backend, at least "
        "once (a checkpoint after each acknowledged batch)",
    )
    shp.add_argument(
        "--to",
        metavar="URL",
        help="OTLP/HTTP traces endpoint (default: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "
        "$OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces, else the preset's); a URL without a path "
        "gets the preset's",
    )
    shp.add_argument(
        "--protocol",
        choices=("http/protobuf", "http/json"),
        help="body encoding (default: $OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf)",
    )
    shp.add_argument(
        "--header",
        action="append",
        metavar="KEY=VALUE",
        help="a header to send, e.g. an API key (repeatable; also "
        "$OTEL_EXPORTER_OTLP_HEADERS); never printed nor stored",
    )
    shp.add_argument(
        "--preset",
        choices=("phoenix", "mlflow", "langfuse", "otel-collector"),
        help="the backend's default address and path (default: otel-collector, :4318)",
    )
    shp.add_argument("--once", action="store_true", help="ship what is there, then exit")
    shp.add_argument(
        "--batch",
        type=count_arg,
        default=2048,
        metavar="N",
        help="spans per request at most (default 2048)",
    )
    shp.add_argument(
        "--project",
        metavar="NAME",
        help="service.name and Phoenix's project (openinference.project.name)",
    )
    shp.add_argument(
        "--open-timeout",
        type=float,
        default=900.0,
        metavar="S",
        help="close a run as unfinished after S seconds without a record (default 900)",
    )
    shp.add_argument(
        "--no-pid-check",
        dest="pid_check",
        action="store_false",
        help="do not close a run as unfinished when its writer's pid is gone (use when the "
        "writer runs in another pid namespace)",
    )
    shp.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="where the position is kept (default: derived/ beside raw_events/, one per "
        "endpoint); refused batches go beside it",
    )
    shp.add_argument("--insecure", action="store_true", help="do not verify the TLS certificate")
    rep = command("report", "one self-contained HTML page: runs, timelines, models, steps, errors")
    rep.add_argument(
        "--out",
        metavar="FILE",
        help="output file (default: derived/report.html beside raw_events/, else "
        "data/derived/report.html)",
    )
    rep.add_argument("--open", action="store_true", help="open the page in a web browser")
    return parser


class _Version(argparse.Action):
    """`--version`: the installed version, looked up only when asked, so `--help` and the
    commands never load `importlib.metadata`."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        print(f"{parser.prog} {_version()}")
        parser.exit()


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("llmops_logging")
    except metadata.PackageNotFoundError:
        return "unknown"
