"""`stats` and `runs` on hostile records: what they show is what was logged, whatever a
foreign writer put in a field, and the folds they run fast give what the one-record rules
give (`stats._key` and `Tally.add`, `RunSummary.add`) on the same records."""

from __future__ import annotations

import copy
import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import orjson
import pytest

import llmops_logging as ll
from llmops_logging.cli import runs as cli_runs
from llmops_logging.cli import stats as cli_stats
from llmops_logging.readmodel.keys import as_read
from llmops_logging.readmodel.runs import RunSummary
from llmops_logging.readmodel.tally import Tally
from llmops_logging.readmodel.usage import Usage

from ..conftest import cli

TS = "2026-01-01T00:00:0{}.000000+00:00"
HOSTILE_VALUES: list[Any] = [
    None, True, 0, -1, 1.5, 2**63, 2**64 - 1, 1e308, "", "x" * 5000, "NaN", [], ["run_ok"],
    {"a": 1}, {"llm_calls": 2}, {"id": 7}, {"id": "u-1"}, {"conversation": {"id": "c-1"}},
    {"conversation": {"id": 5}}, "run_ok", "llm_call", "step_ok", "error",
]  # fmt: skip
"""Values a foreign writer might put in any field: wrong types, huge, NaN-like, unhashable,
and the very words the folds look for."""


def _hostile_records() -> list[dict[str, Any]]:
    """For each field the folds read, a run of records each holding one hostile value there,
    beside a plain run and an LLM call, so every branch of the folds sees every value."""
    fields = ["kind", "name", "event", "level", "error", "duration_s", "cost_usd", "ok",
              "ok_rate", "usage", "run_id", "ts", "gen_ai", "user", "parent_run_id",
              "evaluation", "passed", "source"]  # fmt: skip
    records: list[dict[str, Any]] = []
    for n, value in enumerate(HOSTILE_VALUES):
        for kind in ("sample", "step_ok", "run_start", "llm_call", "score", "run_ok", "run_error"):
            for field in fields:
                record: dict[str, Any] = {
                    "ts": TS.format(n % 10), "run_id": f"run-{n % 3}", "kind": kind,
                    "event": kind, "level": "info", "name": "job",
                    "gen_ai": {"usage": {"input_tokens": 3, "output_tokens": 1},
                               "response": {"model": "m"}},
                    "duration_s": 0.5, "cost_usd": 0.01, "ok": True,
                    "usage": {"llm_calls": 1, "input_tokens": 3, "cost_usd": 0.01},
                }  # fmt: skip
                record[field] = value
                records.append(record)
                if field != "gen_ai":  # and without `gen_ai`, as most records are, in runs
                    plain = {k: v for k, v in record.items() if k != "gen_ai"}  # of their own
                    if field != "run_id":
                        plain["run_id"] = f"plain-{n % 3}"
                    records.append(plain)
            for counts in ("input_tokens", "output_tokens", "llm_calls"):  # inside the usages
                record = {"ts": TS.format(n % 10), "run_id": f"run-{n % 3}", "kind": kind,
                          "name": "job", "gen_ai": {"usage": {counts: value}},
                          "usage": {"llm_calls": 1, counts: value}}  # fmt: skip
                records.append(record)
    return records


def _stats_one_by_one(records: list[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    """`stats` as the one-record rules say: `_key` then `Tally.add`, a record at a time."""
    groups: dict[str, Tally] = {}
    names: dict[str, str] = {}
    for record in records:
        key = cli_stats._key(record, by, names)
        if key is None:
            continue
        usage = Usage.of_call(record) if record.get("kind") == "llm_call" else None
        groups.setdefault(key, Tally()).add(record, usage)
    rows = [cli_stats._row(key, tally) for key, tally in groups.items()]
    if by == "run":
        for row in rows:
            row["name"] = names.get(row["key"])
    rows.sort(key=lambda row: (-row["records"], row["key"]))
    return rows


def test_stats_by_each_grouping_is_the_one_record_rule_on_hostile_records() -> None:
    records = _hostile_records()
    for by in ("name", "run", "kind", "gen_ai.response.model"):
        assert cli_stats.stats(records, by) == _stats_one_by_one(records, by), by


def test_stats_sums_only_the_token_counts_the_contract_allows() -> None:
    """Whole numbers from 0 to 2**63 - 1, not bools, floats or text: spelled here again."""
    records = _hostile_records()

    def count(value: Any) -> int:
        ok = type(value) is int and 0 <= value <= 2**63 - 1
        return value if ok else 0

    calls = [r for r in records if r.get("kind") == "llm_call"]
    usages = [r["gen_ai"].get("usage") if isinstance(r.get("gen_ai"), dict) else None
              for r in calls]  # fmt: skip
    want = sum(count(u.get("input_tokens")) for u in usages if isinstance(u, dict))
    rows = cli_stats.stats(records, "name")
    got = sum(r.get("input_tokens") or 0 for r in rows if r["key"].startswith("llm_call "))
    assert got == want > 0


def test_stats_prices_and_times_only_the_floats_the_contract_allows() -> None:
    """A price is a finite float from 0 up, a duration a finite float: spelled here again,
    beside the negative, infinite and NaN floats a foreign writer (or a caller) may pass."""
    costs = [0.01, 0.25, -0.5, -0.0, 0.0, math.inf, -math.inf, math.nan, 1e308, 5e-324]
    durations = [0.5, 2.0, -0.25, 0.0, math.inf, -math.inf, math.nan, 1e308]
    records = [{"kind": "llm_call", "event": "c", "cost_usd": cost} for cost in costs]
    records += [{"kind": "step_ok", "name": "s", "duration_s": d} for d in durations]
    rows = {row["key"]: row for row in cli_stats.stats(records, "name")}
    priced = [cost for cost in costs if cost >= 0 and math.isfinite(cost)]
    call = rows["llm_call c"]
    assert (call["llm_calls"], call["priced_calls"]) == (len(costs), len(priced))
    assert call["cost_usd"] == float(sum(map(Fraction, priced)))
    timed = [d for d in durations if math.isfinite(d)]
    assert (rows["step s"]["durations"], rows["step s"]["max_s"]) == (len(timed), max(timed))


def _summary(records: list[dict[str, Any]], run_id: str) -> dict[str, Any]:
    """One run folded by `RunSummary.add` alone, its fields as `as_dict` shows them."""
    summary = RunSummary(run_id)
    for record in records:
        if record.get("run_id") == run_id:
            summary.add(record)
    return summary.as_dict()


def test_runs_fold_each_run_as_its_summary_does_on_hostile_records() -> None:
    records = _hostile_records()
    rows = cli_runs.runs(records)
    fold = cli_runs.RunsFold()
    fold.feed(records)
    for run_id, summary in fold.table.items():  # every field, the ones a row hides too
        alone = RunSummary(run_id)
        for record in records:
            if record.get("run_id") == run_id:
                alone.add(record)
        assert vars(summary) == vars(alone), run_id
    assert {"run-0", "plain-2", "run_ok", "x" * 5000} <= {row["run_id"] for row in rows}
    for row in rows:
        assert row == _summary(records, row["run_id"])
        own = [r for r in records if r.get("run_id") == row["run_id"]]
        assert row["events"] == len(own)
        conversations = [_at(r, "gen_ai", "conversation", "id") for r in own]
        users = [_at(r, "user", "id") for r in own]
        assert row.get("conversation_id") == next(filter(None, conversations), None)
        assert row.get("user_id") == next(filter(None, users), None)
    assert any(row.get("conversation_id") == "c-1" for row in rows)
    assert any(row.get("user_id") == "u-1" for row in rows)


def _at(record: Any, *keys: str) -> str | None:
    """The text at `keys` in the record, or None: spelled here, not borrowed from the model."""
    for key in keys:
        record = record.get(key) if isinstance(record, dict) else None
    return record if isinstance(record, str) else None


def test_a_kind_that_is_a_list_or_an_object_is_shown_not_a_crash(tmp_path: Path) -> None:
    """A foreign record whose `kind` is a list or an object (unhashable): `stats` and `runs`
    stopped with a TypeError; it is a record of no kind they fold, counted like any other."""
    log_dir = tmp_path / "logs"
    ll.configure(log_dir)
    with ll.run("job"):
        ll.get_logger("agent").info("fine")
    ll.reset()
    live = log_dir / "events.jsonl"
    [run_id] = {json.loads(line)["run_id"] for line in live.read_text().splitlines()}
    with live.open("ab") as out:
        for kind in (["run_ok"], {"kind": "step_ok"}):
            out.write(orjson.dumps({"ts": TS.format(9), "run_id": run_id, "kind": kind}) + b"\n")
    stats = json.loads(cli("stats", "--json", log_dir).stdout)
    assert [g["key"] for g in stats["groups"]] == ["run job"]
    assert stats["read"]["records"] == 5
    [run] = json.loads(cli("runs", "--json", log_dir).stdout)["runs"]
    assert (run["status"], run["events"]) == ("ok", 5)
    kinds = json.loads(cli("stats", "--by", "kind", "--json", log_dir).stdout)["groups"]
    assert sorted(g["key"] for g in kinds) == sorted(
        ['["run_ok"]', '{"kind":"step_ok"}', "run_ok", "run_start", "log"]
    )


def test_runs_takes_a_runs_first_time_conversation_and_user_from_any_record() -> None:
    """The first `ts`, conversation and user of a run come from whichever record holds them
    first, a sample or a step's end as much as a start or a call."""
    records = [
        {"run_id": "r", "kind": "sample", "ok": True},  # no time
        {"ts": TS.format(1), "run_id": "r", "kind": "sample", "ok": False},
        {"ts": TS.format(2), "run_id": "r", "kind": "sample", "ok": True, "user": {"id": "u-1"}},
        {"ts": TS.format(3), "run_id": "r", "kind": "step_ok", "name": "s",
         "gen_ai": {"conversation": {"id": "c-1"}}},
        {"ts": TS.format(4), "run_id": "r", "kind": "llm_call", "user": {"id": "u-2"},
         "gen_ai": {"conversation": {"id": "c-2"}}},
        {"ts": TS.format(5), "run_id": "r", "kind": "run_ok", "name": "job"},
    ]  # fmt: skip
    [row] = cli_runs.runs(records)
    assert row == _summary(records, "r")
    assert (row["start"], row["user_id"], row["conversation_id"]) == (TS.format(1), "u-1", "c-1")
    assert (row["events"], row["samples"], row["ok_rate"]) == (6, 3, 2 / 3)


class _Text(str):
    """A caller's own kind of text."""


class _Ambiguous:
    """A caller's NA: `==` gives no bool, and the bool of it raises."""

    def __eq__(self, other: object) -> Any:
        return self

    def __ne__(self, other: object) -> Any:
        return self

    def __bool__(self) -> bool:
        raise TypeError("the truth of an NA is ambiguous")

    __hash__ = object.__hash__


def test_runs_takes_a_callers_objects_as_no_run_id_or_kind() -> None:
    """Records a caller builds (rows of a data frame) may hold an NA or a str subclass: an NA
    is no run id and no kind, a str subclass is text."""
    records = [
        {"ts": TS.format(0), "run_id": _Ambiguous(), "kind": "sample", "ok": True},
        {"ts": TS.format(1), "run_id": "r", "kind": "run_start", "name": "job"},
        {"ts": TS.format(2), "run_id": "r", "kind": _Ambiguous(), "ok": True},
        {"ts": TS.format(3), "run_id": _Text("r"), "kind": _Text("sample"), "ok": True},
        {"ts": TS.format(4), "run_id": "r", "kind": "sample", "ok": 1},
        {"ts": TS.format(5), "run_id": _Ambiguous(), "kind": "run_ok"},
        {"ts": TS.format(6), "run_id": "r", "kind": _Text("step_ok"), "name": "s"},
    ]
    [row] = cli_runs.runs(records)
    alone = RunSummary("r")
    for record in records:
        if isinstance(record["run_id"], str):
            alone.add(record)
    assert row == alone.as_dict()
    assert (row["run_id"], row["status"], row["events"], row["samples"]) == ("r", "running", 5, 2)
    assert row["ok_rate"] == 0.5  # `ok` must be true itself, not 1


def test_a_run_start_after_other_records_of_its_run_starts_it() -> None:
    """A run's start may come after its first records (a score given `run_id=` before it, a
    clock that went back): it still sets the run's start, name and parent."""
    records = [
        {"ts": TS.format(1), "run_id": "r", "kind": "sample", "ok": True},
        {"ts": TS.format(2), "run_id": "r", "kind": "run_start", "name": "job",
         "parent_run_id": "p"},
        {"ts": TS.format(3), "run_id": "r", "kind": "sample", "ok": True},
    ]  # fmt: skip
    [row] = cli_runs.runs(records)
    assert row == _summary(records, "r")
    assert (row["start"], row["status"], row["name"], row["parent_run_id"]) == (
        TS.format(2), "running", "job", "p")  # fmt: skip


def test_the_kinds_runs_counts_alone_are_the_kinds_a_summary_reads_nothing_of() -> None:
    """`RunsFold.feed` counts a record of a kind not in `KINDS_READ` without `add`: `add`
    must take nothing but the count from such a record, and something from the others."""
    from llmops_logging.readmodel.runs import KINDS_READ

    record: dict[str, Any] = {
        "ts": TS.format(5), "run_id": "r", "name": "n", "ok": True, "duration_s": 1.5,
        "ok_rate": 0.5, "error": {"type": "E", "message": "m"}, "parent_run_id": "p",
        "usage": {"llm_calls": 1, "input_tokens": 2, "cost_usd": 0.5}, "cost_usd": 0.25,
        "gen_ai": {"usage": {"input_tokens": 3}, "evaluation": {"name": "e"}},
        "evaluation": {"name": "e", "score": {"value": 1.0}},
    }  # fmt: skip
    kinds = {*KINDS_READ, "step_start", "step_ok", "step_error", "tool_call", "log", "x"}
    for kind in sorted(kinds):
        summary = RunSummary("r", first_ts=TS.format(0))
        before = copy.deepcopy(vars(summary)) | {"events": 1}
        summary.add({**record, "kind": kind})
        assert (vars(summary) == before) is (kind not in KINDS_READ), kind


def test_the_folds_look_up_the_very_key_objects_orjson_reads() -> None:
    """`as_read` gives the names as the str objects records read by orjson hold (a lookup
    then finds them by identity: the folds' speed rests on it), equal to the names, so a
    record built any other way (the tests above) is found by its text alike."""
    names = ("kind", "run_id", "gen_ai", "duration_s")
    keys = as_read(*names)
    assert keys == names
    line = orjson.dumps({"run_id": "r", "kind": "sample", "gen_ai": {}, "duration_s": 0.5})
    records = [orjson.loads(line), orjson.loads(line)]
    if not all(a is b for a, b in zip(*records, strict=True)):
        pytest.skip("this orjson gives each record fresh keys: a lookup compares text")
    for record in records:
        assert all(any(held is key for held in record) for key in keys)
