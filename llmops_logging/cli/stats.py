"""The `runs` and `stats` aggregations: one pass over the records, memory per group only.

Nothing here keeps records. Durations go into `Quantiles`, which holds exact values up to a
few thousand per group and then folds them into a log-bucket histogram, so the percentiles of
a million step durations cost a few kilobytes, within half a percent.

A group's tokens and cost are the sum of its `llm_call` records (`Usage`): the totals of
nested ends (a run, its step, the step's step) would count one call once per level.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from .._contract import EVENT, KIND, LEVEL, LEVELS, LLM_CALL, LOGGER, NAME, RUN_ID
from . import _steps
from ._output import (
    USAGE_HEADERS,
    Progress,
    console,
    durations,
    print_table,
    usage_cells,
    wants_color,
)
from ._usage import Usage
from ._values import number

Record = dict[str, Any]

EXACT_LIMIT = 4096
_GAMMA = 1.01  # bucket k holds (GAMMA**(k-1), GAMMA**k]: relative error <= (GAMMA-1)/2
_LOG_GAMMA = math.log(_GAMMA)
_NON_POSITIVE = -(10**9)
ERROR_LEVELS = tuple(name for name, number in LEVELS.items() if number >= logging.ERROR)
"""`error`, `critical`: a tuple, since a foreign record's level may be unhashable."""
CORE_BY_FIELDS = ("name", "run", KIND, EVENT, LOGGER, LEVEL)
"""Fields every record of the contract has: a record without one is grouped under `-`."""
_ENDS = {"run_ok": "run", "run_error": "run", "step_ok": "step", "step_error": "step"}


class Quantiles:
    """Percentiles of a stream of numbers in bounded memory: exact while small, then ~0.5%."""

    def __init__(self) -> None:
        self.count = 0
        self.max: float | None = None
        self._values: list[float] | None = []
        self._buckets: dict[int, int] = {}

    @property
    def exact(self) -> bool:
        return self._values is not None

    def add(self, value: float) -> None:
        self.count += 1
        if self.max is None or value > self.max:
            self.max = value
        if self._values is None:
            self._bucket(value)
            return
        self._values.append(value)
        if len(self._values) > EXACT_LIMIT:
            for kept in self._values:
                self._bucket(kept)
            self._values = None

    def _bucket(self, value: float) -> None:
        key = math.ceil(math.log(value) / _LOG_GAMMA) if value > 0 else _NON_POSITIVE
        self._buckets[key] = self._buckets.get(key, 0) + 1

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0..1): interpolated while exact, then a bucket's middle."""
        if not self.count:
            return None
        if self._values is not None:
            ordered = sorted(self._values)
            rank = q * (len(ordered) - 1)
            low = math.floor(rank)
            high = min(low + 1, len(ordered) - 1)
            return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
        target = q * (self.count - 1)
        seen = 0
        for key in sorted(self._buckets):
            seen += self._buckets[key]
            if seen > target:
                if key == _NON_POSITIVE:
                    return 0.0
                middle = 2 * _GAMMA**key / (_GAMMA + 1)
                return min(middle, self.max) if self.max is not None else middle
        return self.max


def is_error(record: Record) -> bool:
    kind = record.get(KIND)
    return record.get(LEVEL) in ERROR_LEVELS or (isinstance(kind, str) and kind.endswith("_error"))


def _duration(record: Record) -> float | None:
    return number(record.get("duration_s"))


_MISSING = object()


def field_value(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (`gen_ai.request.model`), or a flattened key of that name."""
    value = record.get(path, _MISSING)
    if value is not _MISSING or "." not in path:
        return None if value is _MISSING else value
    node: Any = record
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


# -- stats ------------------------------------------------------------------------------------


@dataclass
class Group:
    records: int = 0
    errors: int = 0
    durations: Quantiles = field(default_factory=Quantiles)
    calls: Usage = field(default_factory=Usage)  # from llm_call records only

    def row(self, key: str) -> dict[str, Any]:
        d = self.durations
        usage = self.calls.as_dict()
        return {
            "key": key,
            "records": self.records,
            "errors": self.errors,
            "error_rate": self.errors / self.records if self.records else None,
            "durations": d.count,
            "p50_s": d.quantile(0.50),
            "p95_s": d.quantile(0.95),
            "p99_s": d.quantile(0.99),
            "max_s": d.max,
            "exact": d.exact,
            **usage,
        }


def _key(record: Record, by: str, names: dict[str, str]) -> str | None:
    if by == "name":
        kind = record.get(KIND)
        if kind == LLM_CALL:
            return f"{LLM_CALL} {record.get(EVENT, '-')}"
        scope = _ENDS.get(kind)  # type: ignore[arg-type]
        return None if scope is None else f"{scope} {record.get('name', '-')}"
    if by == "run":
        run_id = record.get(RUN_ID)
        if run_id is None:
            return "-"
        name = record.get("name")
        if record.get(KIND) == "run_start" and isinstance(name, str):
            names[str(run_id)] = name
        return str(run_id)
    value = field_value(record, by)
    if value is None:
        return "-" if by in CORE_BY_FIELDS else None
    return value if isinstance(value, str) else orjson.dumps(value, default=str).decode()


def stats(records: Iterable[Record], by: str = "name") -> list[dict[str, Any]]:
    """Rows per group, most records first.

    `by="name"` groups run and step ends by name and `llm_call` records by event; `run` by
    run id; anything else is a field path (`gen_ai.request.model`), and records without that
    field are left out (except for the contract's own fields, whose absence is grouped as `-`).
    """
    if not by:
        raise ValueError("cannot group by an empty field name")
    groups: dict[str, Group] = {}
    names: dict[str, str] = {}
    for record in records:
        key = _key(record, by, names)
        if key is None:
            continue
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group()
        group.records += 1
        if is_error(record):
            group.errors += 1
        duration = _duration(record)
        if duration is not None:
            group.durations.add(duration)
        if record.get(KIND) == LLM_CALL:
            group.calls.add(Usage.of_call(record))
    rows = [group.row(key) for key, group in groups.items()]
    if by == "run":
        for row in rows:
            row["name"] = names.get(row["key"])
    rows.sort(key=lambda row: (-row["records"], row["key"]))
    return rows


# -- the command ------------------------------------------------------------------------------


def command(args: argparse.Namespace) -> int:
    stream = _steps.stream(args)
    if not args.by:
        raise _steps.UsageError("stats --by needs a field name")
    rows = stats(Progress(stream.progress).wrap(stream), args.by)
    nothing_found = None if rows else _no_group(args.by, stream.report.matched)
    if args.json:
        _steps.dump({"by": args.by, "groups": rows, "read": stream.report.as_dict()})
        _steps.say_unmatched(stream.accept, nothing_found)
        return 0
    by_run = args.by == "run"
    first = {NAME: "run/step name", "run": RUN_ID}.get(args.by, args.by)
    llm = any(r.get("llm_calls") for r in rows)
    headers = [first, *([NAME] if by_run else []), "count", "errors", "error_rate",
               "p50", "p95", "p99", "max", *(USAGE_HEADERS if llm else ())]  # fmt: skip
    columns = {}
    for key in ("p50_s", "p95_s", "p99_s", "max_s"):  # one unit down each column
        texts = durations([r[key] for r in rows])
        columns[key] = [
            text if r["exact"] or r[key] is None or key == "max_s" else f"~{text}"
            for r, text in zip(rows, texts, strict=True)
        ]
    table = [
        [r["key"][:8] if by_run else r["key"], *([r.get(NAME)] if by_run else []),
         r["records"], r["errors"], f"{100 * r['error_rate']:.1f}%",
         *(columns[k][n] for k in ("p50_s", "p95_s", "p99_s", "max_s")),
         *(usage_cells(r) if llm else ())]
        for n, r in enumerate(rows)
    ]  # fmt: skip
    offset = 1 if by_run else 0
    print_table(
        headers,
        table,
        console(sys.stdout, wants_color(sys.stdout, args.color)),
        numeric=tuple(range(1 + offset, len(headers))),
    )
    print(_steps.footer(stream.report, _steps.plural(len(rows), "group")))
    _steps.say_unmatched(stream.accept, nothing_found)
    return 0


def _no_group(by: str, matched: int) -> str | None:
    """Why records were kept but made no group, or None when none were."""
    if not matched:
        return None
    if by == "name":
        return (
            f"no run or step end and no {LLM_CALL} among the "
            f"{_steps.plural(matched, 'record')} matched"
        )
    return None if by in CORE_BY_FIELDS else f"no record has field {by!r}"
