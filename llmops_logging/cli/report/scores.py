"""The report's scores: per score name and group what `llmops-logs scores` shows, and the pass
rate over time.

The report has no `--by`, so the groups are the runs' `version` when any scored run carries
one (a version is what a reader compares), else the runs' names. Both groupings are folded in
the one pass by the fold `scores` uses (`Fold`), and the choice is made at the end. Pass/fail
outcomes are also counted per hour of their `ts`; scores that span more than `HOURLY_SPAN` are
charted per day. Memory: the folds' few fields per run and their groups, and a pair of counts
per group and hour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from ..._contract import NAME, PASSED, SCORE_INVALID, TS, Record
from ...reader import ts_parts
from ...readmodel.values import field_value, number
from .._significance import wilson
from ..scores import NO_GROUP, VALUE_PATH, Fold

VERSION = "version"
"""The run field the report groups scores by, when runs carry it."""
HOURLY_SPAN = timedelta(days=2)
"""Scores spanning longer than this are charted per day, shorter ones per hour."""
_HOUR = 3600
Key = tuple[str, tuple[str, ...]]


def _hour(ts: Any) -> int | None:
    """The hour (since the epoch, UTC when the text names no zone) of a record's `ts`; None
    when that hour lies past either end of the calendar (`9999-12-31T23:00-05:00`), where no
    chart bucket can be dated."""
    parts = ts_parts(ts)
    if parts is None:
        return None
    when = parts[0] if parts[0].tzinfo is not None else parts[0].replace(tzinfo=timezone.utc)
    try:
        return math.floor(when.astimezone(timezone.utc).timestamp() / _HOUR)
    except OverflowError:
        return None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


@dataclass
class ScoreData:
    """The score records of the log, folded by version and by run name."""

    folds: dict[str, Fold] = field(
        default_factory=lambda: {VERSION: Fold([VERSION], None), NAME: Fold([NAME], None)}
    )
    hours: dict[str, dict[Key, dict[int, list[int]]]] = field(
        default_factory=lambda: {VERSION: {}, NAME: {}}
    )
    """Per grouping and (score, group): per hour, [passes, outcomes]."""

    def add(self, record: Record) -> None:
        """Take a `run_start` or `score` record."""
        hour: int | None = None
        for by, fold in self.folds.items():
            key = fold.add(record)
            if key is None:
                continue
            passed = record.get(PASSED)
            if not isinstance(passed, bool) or SCORE_INVALID in record:
                continue
            if number(field_value(record, VALUE_PATH)) is None:
                continue
            hour = _hour(record.get(TS)) if hour is None else hour
            if hour is None:
                continue
            tally = self.hours[by].setdefault(key, {}).setdefault(hour, [0, 0])
            tally[0] += passed
            tally[1] += 1

    @property
    def by(self) -> str:
        """`version` when any score's run carries one, else the run's name."""
        groups = self.folds[VERSION].groups
        return VERSION if any(values != (NO_GROUP,) for _, values in groups) else NAME

    @property
    def present(self) -> bool:
        return bool(self.folds[NAME].groups)

    def table(self) -> list[dict[str, str]]:
        """One row of text per score name and group, as the page shows it."""
        by = self.by
        rows = []
        for row in self.folds[by].rows(None):
            ci = row["ci95"]
            rows.append(
                {
                    "score": row["score"],
                    "group": row["group"][by],
                    "count": str(row["count"]),
                    "mean": "-" if row["mean"] is None else f"{row['mean']:.3g}",
                    "pass_rate": _pct(row["pass_rate"]),
                    "ci95": "-" if ci is None else f"{_pct(ci[0])} to {_pct(ci[1])}",
                }
            )
        return rows

    def series(self) -> tuple[str, list[dict[str, Any]]]:
        """The bucket ("hour" or "day") and, per pass/fail score and group, its pass rate and
        95% interval per bucket, in percent."""
        tallies = self.hours[self.by]
        hours = [hour for per in tallies.values() for hour in per]
        if not hours:
            return "hour", []
        daily = (max(hours) - min(hours)) * _HOUR > HOURLY_SPAN.total_seconds()
        width = 24 if daily else 1
        out = []
        for (name, values), per_hour in sorted(tallies.items()):
            buckets: dict[int, list[int]] = {}
            for hour, (passes, n) in per_hour.items():
                bucket = buckets.setdefault(hour // width, [0, 0])
                bucket[0] += passes
                bucket[1] += n
            points = []
            for index in sorted(buckets):
                passes, n = buckets[index]
                low, high = wilson(passes, n) or (0.0, 0.0)
                start = datetime.fromtimestamp(index * width * _HOUR, timezone.utc)
                points.append((start.isoformat(), passes, n, low, high))
            out.append({"score": name, "group": values[0], "points": points})
        return ("day" if daily else "hour"), out
