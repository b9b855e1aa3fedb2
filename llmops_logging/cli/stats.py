"""`stats`: per group, records, failures, duration percentiles and LLM usage, in one pass
over the records with memory per group only (a `readmodel.tally.Tally` each).

A group's tokens and cost are the sum of its `llm_call` records (`Usage`): the totals of
nested ends (a run, its step, the step's step) would count one call once per level.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Iterable
from typing import Any

from .._contract import (
    ERROR,
    EVENT,
    KIND,
    LEVEL,
    LLM_CALL,
    LLM_CALLS,
    LOGGER,
    NAME,
    RUN_ID,
    Record,
)
from ..readmodel.keys import as_read
from ..readmodel.records import (
    ERROR_LEVELS,
    RUN_ENDS,
    RUN_START,
    STEP_ENDS,
    failed_kind,
    kind_of,
)
from ..readmodel.tally import Tally
from ..readmodel.values import field_value, json_text, shown
from . import _fanout, _steps
from ._output import (
    USAGE_HEADERS,
    console,
    durations,
    print_table,
    usage_cells,
    wants_color,
)

CORE_BY_FIELDS = (NAME, "run", KIND, EVENT, LOGGER, LEVEL)
"""Fields every record of the contract has: a record without one is grouped under `-`."""


# -- stats ------------------------------------------------------------------------------------


_FIGURES = ("errors", "error_rate", "durations", "p50_s", "p95_s", "p99_s", "max_s", "exact")


def _row(key: str, tally: Tally) -> dict[str, Any]:
    """A group's row: its figures, and its usage only when it had calls."""
    row = tally.row(key)
    return {"key": key, "records": tally.count, **{k: row[k] for k in _FIGURES},
            **tally.usage.as_dict()}  # fmt: skip


NAMED = frozenset((LLM_CALL, *RUN_ENDS, *STEP_ENDS))
"""The kinds `--by name` groups: LLM calls, run ends and step ends."""
_SCOPES: dict[Any, tuple[str, bool]] = {
    kind: (scope, failed_kind(kind))
    for scope, kinds in ((LLM_CALL, (LLM_CALL,)), ("run", RUN_ENDS), ("step", STEP_ENDS))
    for kind in kinds
}
"""Each kind of `NAMED` to its key's first word (`_key`) and whether its records failed by
their kind alone (`records.failed`)."""
_KEYS = as_read(KIND, NAME, EVENT, LEVEL, ERROR)
"""The keys `StatsFold._feed_named` looks up in each record, as records hold them."""


def _key(record: Record, by: str, names: dict[str, str]) -> str | None:
    """A record's group, or None when it makes none (under `--by name`, the command's
    default, every record whose kind is not in `NAMED`; `StatsFold._feed_named` is this
    rule inlined, and the tests hold the two to each other)."""
    if by == NAME:
        kind = kind_of(record)
        if kind is None:
            return None
        if kind == LLM_CALL:
            return f"{LLM_CALL} {shown(record.get(EVENT, '-'))}"
        scope = "run" if kind in RUN_ENDS else "step" if kind in STEP_ENDS else None
        return None if scope is None else f"{scope} {shown(record.get(NAME, '-'))}"
    if by == "run":
        run_id = record.get(RUN_ID)
        if run_id is None:
            return "-"
        key = run_id if type(run_id) is str else shown(run_id)
        name = record.get(NAME)
        if record.get(KIND) == RUN_START and isinstance(name, str):
            names[key] = name
        return key
    value = field_value(record, by)
    if value is None:
        return "-" if by in CORE_BY_FIELDS else None
    return value if isinstance(value, str) else json_text(value)


def stats(records: Iterable[Record], by: str = "name") -> list[dict[str, Any]]:
    """Rows per group, most records first.

    `by="name"` groups run and step ends by name and `llm_call` records by event; `run` by
    run id; anything else is a field path (`gen_ai.request.model`), and records without that
    field are left out (except for the contract's own fields, whose absence is grouped as `-`).
    """
    fold = StatsFold(by)
    fold.feed(records)
    return fold.rows()


class StatsFold:
    """`stats` as a fold: `feed` records, `merge` the fold of the records that follow (read
    by another process), then `rows`. Merging gives the same rows as one pass."""

    def __init__(self, by: str = NAME) -> None:
        if not by:
            raise ValueError("cannot group by an empty field name")
        self.by = by
        self.groups: dict[str, Tally] = {}
        self.names: dict[str, str] = {}

    def feed(self, records: Iterable[Record]) -> None:
        if self.by == NAME:
            self._feed_named(records)
        else:
            self._feed_by(records)

    def _feed_by(self, records: Iterable[Record]) -> None:
        by, groups, names = self.by, self.groups, self.names
        get_group = groups.get
        for record in records:
            key = _key(record, by, names)
            if key is None:
                continue
            group = get_group(key)
            if group is None:
                group = groups[key] = Tally()
            if record.get(KIND) == LLM_CALL:
                group.add_call(record)
            else:
                group.add(record)

    def _feed_named(self, records: Iterable[Record]) -> None:
        """`feed` under `--by name`, the default: `_key`'s rule for it inlined, since most
        records (samples, starts, events) make no group and cost only the look at their kind."""
        groups = self.groups
        get_group = groups.get
        scope_of = _SCOPES.get
        kind_key, name_key, event_key, level_key, error_key = _KEYS
        for record in records:
            kind = record.get(kind_key)
            try:
                found = scope_of(kind)
            except TypeError:  # a foreign writer's list or object: no kind
                continue
            if found is None or not isinstance(kind, str):
                continue
            scope, by_kind = found
            name = record.get(name_key if scope is not LLM_CALL else event_key, "-")
            key = f"{scope} {name if type(name) is str else shown(name)}"
            group = get_group(key)
            if group is None:
                group = groups[key] = Tally()
            # `records.failed` written out, its `failed_kind` looked up once per kind
            group.count_one(record, by_kind or record.get(level_key) in ERROR_LEVELS
                            or record.get(error_key) is not None)  # fmt: skip
            if scope is LLM_CALL:
                group.usage.add_call(record)

    def settle(self) -> None:
        """The records are all fed and the fold will be merged: `Tally.settle` each group."""
        for group in self.groups.values():
            group.settle()

    def merge(self, later: StatsFold) -> None:
        """Add the fold of the records after ours: groups in first-seen order, a run's last
        name."""
        _fanout.merge_groups(self.groups, later.groups)
        self.names.update(later.names)

    def rows(self) -> list[dict[str, Any]]:
        rows = [_row(key, group) for key, group in self.groups.items()]
        if self.by == "run":
            for row in rows:
                row["name"] = self.names.get(row["key"])
        rows.sort(key=lambda row: (-row["records"], row["key"]))
        return rows


# -- the command ------------------------------------------------------------------------------


def command(args: argparse.Namespace) -> int:
    stream = _steps.stream(args)
    if not args.by:
        raise _steps.UsageError("stats --by needs a field name")
    rows = _fanout.rows(stream, functools.partial(StatsFold, args.by))
    nothing_found = None if rows else _no_group(args.by, stream.report.matched)
    if args.json:
        _steps.dump({"by": args.by, "groups": rows, "read": stream.report.as_dict()})
        _steps.say_unmatched(stream.accept, nothing_found)
        return 0
    by_run = args.by == "run"
    first = {NAME: "run/step name", "run": RUN_ID}.get(args.by, args.by)
    llm = any(r.get(LLM_CALLS) for r in rows)
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
    if by == NAME:
        return (
            f"no run or step end and no {LLM_CALL} among the "
            f"{_steps.plural(matched, 'record')} matched"
        )
    return None if by in CORE_BY_FIELDS else f"no record has field {by!r}"
