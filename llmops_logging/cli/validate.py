"""`validate`: every line of a log against the record contract in `record.schema.json`.

The verdict per record is fastjsonschema's (the schema compiled to Python once: ~22 µs a
record here, where jsonschema's `iter_errors` takes ~317 µs). Only a record that fails, which
is rare, goes through jsonschema's `iter_errors`, so every problem of a bad line is reported
and jsonschema, the reference implementation, has the last word on the verdict.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
import jsonschema  # type: ignore[import-untyped]  # ships no type information

from .._contract import EVENT_ID, KIND
from .._lines import (
    MAX_LINE_BYTES,
    READ_ERRORS,
    capped_lines,
    decode_line,
    is_cut,
    skip_rest,
)
from .._logset import log_streams
from ..reader import Accept, ReadReport
from . import _steps
from ._output import Progress, visible
from ._parser import PROG

Schema = dict[str, Any]
MAX_PROBLEMS_KEPT = 10_000


@cache
def record_schema() -> Schema:
    """The shipped JSON Schema of a record."""
    text = resources.files("llmops_logging").joinpath("record.schema.json").read_text("utf-8")
    schema: Schema = json.loads(text)
    return schema


@cache
def _fast() -> Callable[[Any], Any]:
    return fastjsonschema.compile(record_schema())


@cache
def _reference() -> Any:
    """jsonschema's validator for the schema's own draft (2020-12)."""
    schema = record_schema()
    return jsonschema.validators.validator_for(schema)(schema)


TOO_DEEP_TO_QUOTE = "a value nested deeper than its problem can be described"
"""The problem of a record whose invalid value nests past what the schema checker can quote."""


def problems(record: Any) -> list[str]:
    """Every problem of `record` against the shipped schema, `field: message`; empty if valid."""
    try:
        _fast()(record)
    except fastjsonschema.JsonSchemaValueException:
        pass
    else:
        return []
    found: list[str] = []
    errors = _reference().iter_errors(record)
    while True:
        try:
            error = next(errors, None)
        except RecursionError:  # jsonschema quotes the value: one nested past recursion
            found.append(f"record: {TOO_DEEP_TO_QUOTE}")
            break
        if error is None:
            break
        where = ".".join(str(part) for part in error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            prefix = f"{where}." if where else ""
            missing = [n for n in error.validator_value if n not in error.instance]
            found += [
                f"{prefix}{name}: missing"
                for name in missing
                if f"{prefix}{name}: missing" not in found
            ]
        else:
            found.append(f"{where or 'record'}: {error.message}")
    return found


def is_foreign(record: dict[str, Any]) -> bool:
    """Another writer's record: it claims none of the contract's own stamps."""
    return KIND not in record and EVENT_ID not in record


@dataclass
class Verdict:
    report: ReadReport = field(default_factory=ReadReport)
    valid: int = 0
    invalid: int = 0
    foreign: int = 0
    torn: int = 0
    oversize: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.invalid or self.torn or self.oversize or self.report.errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files": self.report.files,
            "lines": self.report.lines,
            "valid": self.valid,
            "invalid": self.invalid,
            "torn": self.torn,
            "foreign": self.foreign,
            "oversize": self.oversize,
            "unread": self.report.unread,
            "errors": self.report.errors,
            "problems": self.problems,
        }


def validate(
    paths: Iterable[str],
    accept: Accept | None,
    on_problem: Callable[[str, str], None],
    tick: Callable[[int], None] = lambda n: None,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Verdict:
    """Check every line; `on_problem(file:line, message)` as they are found (they are not kept
    beyond `MAX_PROBLEMS_KEPT`). Torn and oversize lines are always reported; a record glued
    to a torn line's fragment is recovered and checked; filters pick the records."""
    verdict = Verdict()
    report = verdict.report

    def problem(where: str, message: str) -> None:
        if len(verdict.problems) < MAX_PROBLEMS_KEPT:
            verdict.problems.append({"where": where, "problem": message})
        on_problem(where, message)

    for path in paths:
        for name, stream in log_streams(path, report.errors, report.unread):
            report.files.append(name)
            number = 0
            try:
                for number, line in enumerate(capped_lines(stream, max_line_bytes), 1):
                    if not number % 8192:
                        tick(8192)
                    if is_cut(line, max_line_bytes):
                        skip_rest(stream)
                        verdict.oversize += 1
                        report.add_oversize(f"{name}:{number}")
                        problem(f"{name}:{number}", f"oversize: over {max_line_bytes:,} bytes")
                        continue
                    record, torn = decode_line(line)
                    if torn:
                        verdict.torn += 1
                        report.add_bad(f"{name}:{number}")
                        complete = line.endswith(b"\n")
                        problem(
                            f"{name}:{number}",
                            "torn or not a JSON object"
                            if complete
                            else "torn: no newline at end of file",
                        )
                    if record is None:
                        continue
                    report.records += 1
                    if accept is not None and not accept(record, line):
                        continue
                    report.matched += 1
                    if is_foreign(record):
                        verdict.foreign += 1
                        continue
                    found = problems(record)
                    if found:
                        verdict.invalid += 1
                        problem(f"{name}:{number}", "; ".join(found))
                    else:
                        verdict.valid += 1
            except READ_ERRORS as exc:
                report.broke_off(name, exc, number)
                problem(f"{name}:{number + 1}", f"unreadable: {type(exc).__name__}: {exc}")
            finally:
                stream.close()
                report.lines += number
    return verdict


# -- the command ------------------------------------------------------------------------------


def command(args: argparse.Namespace) -> int:
    paths = _steps.paths(args)
    progress = Progress(lambda: (0, 0), "validating")
    show = (
        (lambda where, problem: None)
        if args.json
        else (lambda where, problem: print(f"{visible(where)}: {visible(problem)}"))
    )
    accept = _steps.accept(args)
    try:
        verdict = validate(paths, accept, show, progress.tick)
    finally:
        progress.done()
    if args.json:
        _steps.dump(verdict.as_dict())
        _steps.say_unmatched(accept)
        return 0 if verdict.ok else 1
    for error in verdict.report.errors:
        print(f"{PROG}: {visible(error)}", file=sys.stderr)
    if verdict.report.unread:
        _steps.warn(ReadReport(unread=verdict.report.unread))
    plural = _steps.plural
    oversize = f"{verdict.oversize:,} oversize, " if verdict.oversize else ""
    print(
        f"{'ok' if verdict.ok else 'FAILED'}: {plural(verdict.report.lines, 'line')} in "
        f"{plural(len(verdict.report.files), 'file')}: {verdict.valid:,} valid, "
        f"{verdict.invalid:,} invalid, {verdict.torn:,} torn, {oversize}{verdict.foreign:,} "
        "foreign (other writers' records, not checked)"
    )
    _steps.say_unmatched(accept)
    return 0 if verdict.ok else 1
