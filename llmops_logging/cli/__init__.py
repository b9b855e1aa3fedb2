"""llmops-logs: read, follow, summarise, check and export llmops_logging JSONL logs.

`main` parses the command line (`_parser`) and hands it to the command's module: `tail`,
`runs`, `stats`, `scores`, `validate`, `export`, `report`, each with a `command(args)` returning the
exit status. `_output` draws (rich), `_steps` holds what every command shares (paths, filters,
footers). Only the reader is used to read logs: the CLI knows nothing of the writer.

Only the module of the command that runs is imported, when it runs: `--help`, `--version`
and the message that names the missing `[cli]` extra work without rich or the schema
validator, and a command loads no extra it does not use (pyarrow, plotly, jsonschema).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence

from ._parser import PROG, build_parser

CLI_EXTRA = frozenset({"rich", "fastjsonschema", "jsonschema"})
"""The packages of the `[cli]` extra, which the commands import."""
MISSING_EXTRA = (
    "{name} is not installed: the commands of llmops-logs need the [cli] extra; "
    "install it with: pip install 'llmops_logging[cli]'"
)

__all__ = ["main"]


COMMANDS = ("tail", "runs", "stats", "scores", "validate", "export", "report", "ship")
"""The commands, each the `command(args)` of the module of its name."""


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    """The command's function; raises ImportError when a package of the `[cli]` extra is not
    installed (looked up without importing it: `validate` alone loads the schema checkers)."""
    for package in sorted(CLI_EXTRA):
        if importlib.util.find_spec(package) is None:
            raise ImportError(f"No module named {package!r}", name=package)
    if name not in COMMANDS:
        raise ValueError(f"unknown command {name!r}")
    command: Callable[[argparse.Namespace], int]
    command = importlib.import_module(f".{name}", __name__).command
    return command


def main(argv: Sequence[str] | None = None) -> int:
    """The console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # no command: the list of them, as --help gives it
        parser.print_help()
        return 0
    try:
        command = _command(args.command)
    except ImportError as exc:
        name = (exc.name or "").partition(".")[0]
        if name not in CLI_EXTRA:
            raise
        print(f"{PROG}: {MISSING_EXTRA.format(name=name)}", file=sys.stderr)
        return 1
    from ._output import guarded  # imported with the commands: it needs rich

    with guarded():  # nothing a command prints can carry a control sequence from the log
        return _run(command, args)


def _run(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    from ._output import visible
    from ._steps import UsageError

    try:
        status = command(args)
        sys.stdout.flush()
    except UsageError as exc:  # may quote the log: a run id, a file name
        print(f"{PROG}: {visible(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:  # a file that cannot be read, a full disk for export
        print(f"{PROG}: {visible(str(exc))}", file=sys.stderr)
        return 1
    return status
