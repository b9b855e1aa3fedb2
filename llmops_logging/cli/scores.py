"""`scores`: per score name and group, count, mean, pass rate with its interval, pass@k; a
comparison of two values of a field with a significance test; gates for CI.

A score record names its run (`run_id`); the fields it is grouped by come from the record
itself, else from its run's `run_start` (its name, `model`, `version`, `item`, ...), read
earlier in the same pass: a run's start is always written before the scores of the run.
Memory: per run only the fields asked for, per group its counts and (for numeric scores,
which the tests need) its values.

A record is pass/fail when it has `passed` (a boolean score), else numeric; one without a
finite value (`score_invalid`) is counted apart and left out of means and rates.

Gates (exit status 1): `--fail-under NAME=X` when any group of score NAME has a pass rate
(or, for a numeric score, a mean) below X, or has no record at all; `--fail-drop NAME=D`,
with `--compare FIELD A B`, when B's pass rate (or mean) is below A's by more than D and the
difference is significant (p < 0.05): a drop that chance explains does not fail a build.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._contract import (
    EVALUATION_NAME_PATH,
    ITEM,
    KIND,
    NAME,
    PASSED,
    RUN_ID,
    RUN_START,
    SCORE,
    SCORE_INVALID,
    SCORE_VALUE_PATH,
)
from ..readmodel.values import field_value, number
from . import _steps
from ._output import Progress, console, json_text, print_table, visible, wants_color
from ._parser import PROG
from ._significance import (
    fisher_exact,
    mann_whitney,
    mean,
    pass_all_k,
    pass_at_k,
    welch,
    wilson,
)

Record = dict[str, Any]
ALPHA = 0.05
"""The significance level of `--fail-drop`."""
NO_GROUP = "-"
VALUE_PATH = ".".join(SCORE_VALUE_PATH)
NAME_PATH = ".".join(EVALUATION_NAME_PATH)


def _text(value: Any) -> str:
    if value is None:
        return NO_GROUP
    return value if isinstance(value, str) else json_text(value)


@dataclass
class Group:
    """What one score name in one group adds up to."""

    count: int = 0
    invalid: int = 0
    values: list[float] = field(default_factory=list)
    passes: int = 0
    fails: int = 0
    items: dict[str, list[int]] = field(default_factory=dict)  # item: [samples, passes]

    def add(self, record: Record, item: str) -> None:
        self.count += 1
        value = number(field_value(record, VALUE_PATH))
        if value is None or SCORE_INVALID in record:
            self.invalid += 1
            return
        self.values.append(value)
        passed = record.get(PASSED)
        if isinstance(passed, bool):
            self.passes += passed
            self.fails += not passed
            tally = self.items.setdefault(item, [0, 0])
            tally[0] += 1
            tally[1] += passed

    @property
    def pass_fail(self) -> bool:
        return bool(self.passes + self.fails)

    @property
    def rate(self) -> float | None:
        """The pass rate, or for a numeric score its mean: what the gates compare."""
        if self.pass_fail:
            return self.passes / (self.passes + self.fails)
        return mean(self.values) if self.values else None

    def row(self, ks: list[int] | None) -> dict[str, Any]:
        n = self.passes + self.fails
        interval = wilson(self.passes, n)
        row: dict[str, Any] = {
            "count": self.count,
            "invalid": self.invalid,
            "mean": mean(self.values) if self.values else None,
            "pass_fail": self.pass_fail,
            "passes": self.passes,
            "fails": self.fails,
            "pass_rate": self.passes / n if n else None,
            "ci95": list(interval) if interval else None,
            "items": len(self.items),
        }
        if self.items:
            least = min(samples for samples, _ in self.items.values())
            row["samples_per_item"] = least
            row["pass_at_k"], row["pass_all_k"] = {}, {}
            for k in ks or sorted({1, least}):
                tallies = [t for t in self.items.values() if t[0] >= k]
                if k < 1 or not tallies:
                    continue
                row["pass_at_k"][str(k)] = math.fsum(pass_at_k(n, c, k) for n, c in tallies) / len(
                    tallies
                )
                row["pass_all_k"][str(k)] = math.fsum(
                    pass_all_k(n, c, k) for n, c in tallies
                ) / len(tallies)
        return row


def _by_value(record: Record, run: Mapping[str, Any] | None, by: str) -> Any:
    if by == NAME:  # the run's name: a score's own name is its evaluation's
        return None if run is None else run.get(NAME)
    value = field_value(record, by)
    if value is None and run is not None:
        value = run.get(by)
    return value


class Fold:
    """One pass over the records: the groups of `by`, and of the compared field's two values."""

    def __init__(self, by: list[str], compare: tuple[str, str, str] | None) -> None:
        self.by = by
        self.compare = compare
        self.wanted = {*by, ITEM, NAME, *([compare[0]] if compare else [])}
        self.runs: dict[str, dict[str, Any]] = {}
        self.groups: dict[tuple[str, tuple[str, ...]], Group] = {}
        self.sides: dict[tuple[str, str], Group] = {}
        self.scores = 0

    def add(self, record: Record) -> tuple[str, tuple[str, ...]] | None:
        """Take one record; a score's (name, group values) key, None for any other record."""
        kind = record.get(KIND)
        run_id = record.get(RUN_ID)
        if kind == RUN_START and isinstance(run_id, str):
            self.runs[run_id] = {
                f: v for f in self.wanted if (v := field_value(record, f)) is not None
            }
            return None
        if kind != SCORE:
            return None
        name = field_value(record, NAME_PATH)
        if not isinstance(name, str):
            return None
        self.scores += 1
        run = self.runs.get(run_id) if isinstance(run_id, str) else None
        item = _text(_by_value(record, run, ITEM))
        key = (name, tuple(_text(_by_value(record, run, f)) for f in self.by))
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group()
        group.add(record, item)
        if self.compare is not None:
            path, first, second = self.compare
            side = _text(_by_value(record, run, path))
            if side in (first, second):
                self.sides.setdefault((name, side), Group()).add(record, item)
        return key

    def rows(self, ks: list[int] | None) -> list[dict[str, Any]]:
        return [
            {"score": name, "group": dict(zip(self.by, values, strict=True)), **g.row(ks)}
            for (name, values), g in sorted(self.groups.items())
        ]

    def comparisons(self) -> list[dict[str, Any]]:
        if self.compare is None:
            return []
        path, first, second = self.compare
        out = []
        for name in sorted({name for name, _ in self.sides}):
            a = self.sides.get((name, first), Group())
            b = self.sides.get((name, second), Group())
            result: dict[str, Any] = {
                "score": name, "field": path, "a": first, "b": second,
                "n_a": a.count - a.invalid, "n_b": b.count - b.invalid,
                "a_value": a.rate, "b_value": b.rate,
                "difference": None if a.rate is None or b.rate is None else b.rate - a.rate,
            }  # fmt: skip
            if a.pass_fail and b.pass_fail:
                result["test"] = "fisher_exact"
                result["p"] = fisher_exact(a.passes, a.fails, b.passes, b.fails)
            else:
                tested = welch(a.values, b.values)
                ranked = mann_whitney(a.values, b.values)
                result["test"] = "welch_t"
                result["p"] = None if tested is None else tested[2]
                result["mann_whitney_p"] = None if ranked is None else ranked[1]
            out.append(result)
        return out


def _thresholds(items: list[str] | None, option: str) -> dict[str, float]:
    out = {}
    for item in items or ():
        name, sep, text = item.rpartition("=")
        value = number(_float(text))
        if not sep or not name or value is None:
            raise _steps.UsageError(f"{option} takes NAME=NUMBER, not {item!r}")
        out[name] = value
    return out


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _ks(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        ks = []
    if not ks or ks[0] < 1:
        raise _steps.UsageError(f"--k takes positive whole numbers (1,5), not {text!r}")
    return ks


def _gates(
    rows: list[dict[str, Any]],
    comparisons: list[dict[str, Any]],
    under: dict[str, float],
    drop: dict[str, float],
) -> list[str]:
    """One sentence per gate that fails."""
    failures = []
    for name, floor in under.items():
        mine = [r for r in rows if r["score"] == name]
        if not mine:
            failures.append(f"--fail-under {name}: no score named {name!r}")
        for row in mine:
            value = row["pass_rate"] if row["pass_fail"] else row["mean"]
            where = ", ".join(f"{k}={v}" for k, v in row["group"].items())
            if value is None or value < floor:
                what = "pass rate" if row["pass_fail"] else "mean"
                shown = "none" if value is None else f"{value:.4g}"
                failures.append(f"--fail-under {name}: {what} {shown} < {floor:g} ({where})")
    for name, limit in drop.items():
        mine = [c for c in comparisons if c["score"] == name]
        if not mine:
            failures.append(f"--fail-drop {name}: no score named {name!r} in the comparison")
        for c in mine:
            diff, p = c["difference"], c["p"]
            if diff is not None and p is not None and -diff > limit and p < ALPHA:
                failures.append(
                    f"--fail-drop {name}: {c['b']} is {-diff:.4g} below {c['a']} "
                    f"(> {limit:g}), p={p:.3g} < {ALPHA}"
                )
    return failures


def command(args: argparse.Namespace) -> int:
    by = [f for f in (args.by or NAME).split(",") if f]
    if not by:
        raise _steps.UsageError("scores --by needs a field name")
    ks = _ks(args.k)
    under = _thresholds(args.fail_under, "--fail-under")
    drop = _thresholds(args.fail_drop, "--fail-drop")
    compare = tuple(args.compare) if args.compare else None
    if drop and compare is None:
        raise _steps.UsageError("--fail-drop needs --compare FIELD A B")
    stream = _steps.stream(args)
    fold = Fold(by, compare)
    records: Iterable[Record] = Progress(stream.progress).wrap(stream)
    for record in records:
        fold.add(record)
    rows, comparisons = fold.rows(ks), fold.comparisons()
    failures = _gates(rows, comparisons, under, drop)
    nothing = None if fold.scores or not stream.report.matched else "no score record matched"
    if args.json:
        _steps.dump(
            {"by": by, "groups": rows, "comparisons": comparisons, "gate_failures": failures,
             "read": stream.report.as_dict()}
        )  # fmt: skip
    else:
        _print(rows, comparisons, by, args, stream.report)
    _steps.say_unmatched(stream.accept, nothing)
    for failure in failures:
        print(f"{PROG}: {visible(failure)}", file=sys.stderr)
    return 1 if failures else 0


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _print(
    rows: list[dict[str, Any]],
    comparisons: list[dict[str, Any]],
    by: list[str],
    args: argparse.Namespace,
    report: Any,
) -> None:
    out = console(sys.stdout, wants_color(sys.stdout, args.color))
    if args.k is None:  # k = 1 and n, the fewest samples of an item of the row's group
        ks = ["1", "n"]

        def at(row: dict[str, Any], k: str) -> str:
            return str(row.get("samples_per_item")) if k == "n" else k
    else:
        ks = [str(k) for k in _ks(args.k) or ()]

        def at(row: dict[str, Any], k: str) -> str:
            return k

    headers = ["score", *by, "n", "mean", "pass", "95% CI", "items", "n/item",
               *(f"pass@{k}" for k in ks), *(f"pass^{k}" for k in ks if k != "1")]  # fmt: skip
    table = []
    for r in rows:
        ci = r["ci95"]
        at_k, all_k = r.get("pass_at_k", {}), r.get("pass_all_k", {})
        table.append(
            [r["score"], *r["group"].values(), r["count"] - r["invalid"],
             "-" if r["mean"] is None else f"{r['mean']:.4g}", _pct(r["pass_rate"]),
             "-" if ci is None else f"{100 * ci[0]:.1f}-{100 * ci[1]:.1f}%", r["items"],
             r.get("samples_per_item", "-"),
             *(_pct(at_k.get(at(r, k))) for k in ks),
             *(_pct(all_k.get(at(r, k))) for k in ks if k != "1")]
        )  # fmt: skip
    print_table(headers, table, out, numeric=tuple(range(1 + len(by), len(headers))))
    if comparisons:
        c0 = comparisons[0]
        print_table(
            ["score", f"{c0['field']}={c0['a']}", f"{c0['field']}={c0['b']}", "difference",
             "test", "p"],
            [[c["score"], _side(c["a_value"], c["n_a"]), _side(c["b_value"], c["n_b"]),
              "-" if c["difference"] is None else f"{c['difference']:+.4g}", c["test"],
              "-" if c["p"] is None else f"{c['p']:.3g}"] for c in comparisons],
            out,
            title="comparison",
            numeric=(1, 2, 3, 5),
        )  # fmt: skip
    print(_steps.footer(report, _steps.plural(len(rows), "group")))


def _side(value: float | None, n: int) -> str:
    return "-" if value is None else f"{value:.4g} (n={n})"
