"""`validate`: every line of a log against the record contract in `record.schema.json`.

jsonschema is not a dependency, so the check is a small interpreter of the few JSON Schema
keywords the shipped schema uses; it refuses a schema with any other keyword, so the schema
cannot grow past what is checked. The tests hold it to jsonschema's verdicts.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import orjson

from .reader import (
    MAX_LINE_BYTES,
    READ_ERRORS,
    Accept,
    ReadReport,
    capped_lines,
    is_cut,
    log_streams,
    recover_glued,
    skip_rest,
)

Schema = dict[str, Any]
Check = Callable[[Any, list[str]], None]

ANNOTATIONS = frozenset({"$schema", "$id", "title", "description"})
KEYWORDS = ANNOTATIONS | {
    "type", "required", "properties", "enum", "pattern", "minimum", "maximum", "minLength",
    "allOf", "if", "then",
}  # fmt: skip
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),  # JSON Schema: 1.0 is an integer
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
MAX_PROBLEMS_KEPT = 10_000


@cache
def record_schema() -> Schema:
    """The shipped JSON Schema of a record."""
    text = resources.files("llmops_logging").joinpath("record.schema.json").read_text("utf-8")
    schema: Schema = json.loads(text)
    return schema


def unsupported_keywords(schema: Any) -> set[str]:
    """Keywords of `schema` (at any depth) that `check` does not implement."""
    found: set[str] = set()
    if isinstance(schema, dict):
        found |= set(schema) - KEYWORDS
        for key, value in schema.items():
            if key == "properties":
                for sub in value.values():
                    found |= unsupported_keywords(sub)
            elif key == "allOf":
                for sub in value:
                    found |= unsupported_keywords(sub)
            elif key in ("if", "then"):
                found |= unsupported_keywords(value)
    return found


def _type_name(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPES[name](value):
            return name
    return type(value).__name__


def compile_schema(schema: Schema, where: str = "") -> Check:
    """The schema turned into one function `(value, problems)` that appends what is wrong.

    Compiled once, so the keywords are looked at once, not on every line of a large log.
    """
    unknown = set(schema) - KEYWORDS
    if unknown:
        raise ValueError(f"schema keywords not supported: {sorted(unknown)}")
    label = where or "record"
    prefix = f"{where}." if where else ""
    steps: list[Check] = []
    types = schema.get("type", [])
    types = types if isinstance(types, list) else [types]
    tests = [_TYPES[t] for t in types]
    expected = " or ".join(types)
    if "enum" in schema:
        options = schema["enum"]
        allowed = {(type(o), o) for o in options}  # 1 and True and 1.0 are different values

        def enum(value: Any, out: list[str]) -> None:
            try:
                ok = (type(value), value) in allowed
            except TypeError:  # a list or an object: not among the (scalar) options
                ok = False
            if not ok:
                out.append(f"{label}: {value!r} is not one of {options}")

        steps.append(enum)
    if "minLength" in schema or "pattern" in schema:
        shortest = schema.get("minLength", 0)
        pattern = schema.get("pattern")
        search = re.compile(pattern).search if pattern is not None else None

        def string(value: Any, out: list[str]) -> None:
            if isinstance(value, str):
                if len(value) < shortest:
                    out.append(f"{label}: shorter than {shortest}")
                if search is not None and search(value) is None:
                    out.append(f"{label}: {value!r} does not match {pattern}")

        steps.append(string)
    if "minimum" in schema or "maximum" in schema:
        low, high = schema.get("minimum", -math.inf), schema.get("maximum", math.inf)

        def number(value: Any, out: list[str]) -> None:
            if _TYPES["number"](value) and not low <= value <= high:
                out.append(
                    f"{label}: {value!r} is "
                    + ("below " if value < low else "above ")
                    + str(low if value < low else high)
                )

        steps.append(number)
    required = tuple(schema.get("required", ()))
    properties = [(n, compile_schema(sub, f"{prefix}{n}"))
                  for n, sub in schema.get("properties", {}).items()]  # fmt: skip
    if required or properties:

        def members(value: Any, out: list[str]) -> None:
            if isinstance(value, dict):
                for name in required:
                    if name not in value:
                        out.append(f"{prefix}{name}: missing")
                for name, sub_check in properties:
                    if name in value:
                        sub_check(value[name], out)

        steps.append(members)
    steps += [compile_schema(sub, where) for sub in schema.get("allOf", ())]
    if "if" in schema and "then" in schema:
        condition, then = compile_schema(schema["if"], where), compile_schema(schema["then"], where)

        def if_then(value: Any, out: list[str]) -> None:
            failed: list[str] = []
            condition(value, failed)
            if not failed:
                then(value, out)

        steps.append(if_then)

    def run(value: Any, out: list[str]) -> None:
        if tests and not any(test(value) for test in tests):
            out.append(f"{label}: expected {expected}, got {_type_name(value)}")
            return
        for step in steps:
            step(value, out)

    if len(tests) == 1 and len(steps) <= 1:  # the common leaf: one type, one keyword at most
        test = tests[0]
        step = steps[0] if steps else None

        def leaf(value: Any, out: list[str]) -> None:
            if not test(value):
                out.append(f"{label}: expected {expected}, got {_type_name(value)}")
            elif step is not None:
                step(value, out)

        return leaf
    return run


def check(value: Any, schema: Schema, where: str = "") -> list[str]:
    """Problems of `value` against `schema`, as `field: message` strings; empty when valid."""
    problems: list[str] = []
    compile_schema(schema, where)(value, problems)
    return problems


@cache
def record_check() -> Check:
    """The shipped schema, compiled."""
    return compile_schema(record_schema())


def is_foreign(record: dict[str, Any]) -> bool:
    """Another writer's record: it claims none of the contract's own stamps."""
    return "kind" not in record and "event_id" not in record


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
    check_record = record_check()
    verdict = Verdict()
    report = verdict.report

    def problem(where: str, message: str) -> None:
        if len(verdict.problems) < MAX_PROBLEMS_KEPT:
            verdict.problems.append({"where": where, "problem": message})
        on_problem(where, message)

    for path in paths:
        for name, stream in log_streams(path, report):
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
                    if not line.strip():
                        continue
                    try:
                        record = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        record = None
                    if not isinstance(record, dict):
                        verdict.torn += 1
                        report.add_bad(f"{name}:{number}")
                        complete = line.endswith(b"\n")
                        problem(
                            f"{name}:{number}",
                            "torn or not a JSON object"
                            if complete
                            else "torn: no newline at end of file",
                        )
                        record = recover_glued(line)
                        if record is None:
                            continue
                    report.records += 1
                    if accept is not None and not accept(record, line):
                        continue
                    report.matched += 1
                    if is_foreign(record):
                        verdict.foreign += 1
                        continue
                    found: list[str] = []
                    check_record(record, found)
                    if found:
                        verdict.invalid += 1
                        problem(f"{name}:{number}", "; ".join(found))
                    else:
                        verdict.valid += 1
            except READ_ERRORS as exc:
                report.errors.append(f"{name}: {type(exc).__name__}: {exc} after line {number}")
                problem(f"{name}:{number + 1}", f"unreadable: {type(exc).__name__}: {exc}")
            finally:
                stream.close()
                report.lines += number
    return verdict
