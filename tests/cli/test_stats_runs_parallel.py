"""`stats` and `runs` folded in several processes, each taking shares of the files in turn: the
output is the one-process output byte for byte, a worker that dies or an interrupt leaves no
process behind, and each fold's `merge` is folding the concatenation."""

from __future__ import annotations

import gzip
import itertools
import json
import math
import os
import pickle
import random
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmops_logging.cli import runs as cli_runs
from llmops_logging.cli import stats as cli_stats
from llmops_logging.readmodel.runs import RunSummary
from llmops_logging.readmodel.tally import EXACT_LIMIT, SETTLE_FROM, Quantiles, Tally
from llmops_logging.readmodel.usage import Usage

from ..conftest import CLI_MAIN, ENV, cli
from .test_stats_runs_hostile import _hostile_records

T0 = 1_767_225_600  # 2026-01-01
WORKERS = "LLMOPS_LOGS_WORKERS"
"""How many processes read the log (`cli._fanout`): 1 for one."""


def _ts(second: float) -> str:
    whole = int(second)
    micro = round((second - whole) * 1e6)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(T0 + whole)) + f".{micro:06d}+00:00"


def _ordinary(rng: random.Random) -> list[dict[str, Any]]:
    """Runs of steps and priced LLM calls with scores, more step durations under one name than
    `EXACT_LIMIT`, and runs whose records the files' boundaries will cut through."""
    records: list[dict[str, Any]] = []
    second = 0.0
    for run in range(12):
        run_id = f"run-{run:02d}"
        second += 1
        records.append({"ts": _ts(second), "kind": "run_start", "run_id": run_id, "name": "eval",
                        "user": {"id": f"u{run % 3}"}, "level": "info"})  # fmt: skip
        for step in range(500):
            second += 0.001
            records.append({"ts": _ts(second), "kind": "step_ok", "run_id": run_id,
                            "name": "think", "duration_s": rng.lognormvariate(0, 1),
                            "level": "info"})  # fmt: skip
            if step % 5 == 0:
                records.append({
                    "ts": _ts(second), "kind": "llm_call", "run_id": run_id, "event": "chat",
                    "gen_ai": {"usage": {"input_tokens": rng.randrange(1000),
                                         "output_tokens": rng.randrange(100)},
                               "request": {"model": rng.choice(["m1", "m2"])},
                               "conversation": {"id": f"c{run % 4}"}},
                    "cost_usd": rng.random() * 10 ** -rng.randrange(1, 9),
                    "duration_s": rng.random(), "level": "info",
                })  # fmt: skip
            if step % 97 == 0:
                records.append({"ts": _ts(second), "kind": "score", "run_id": run_id,
                                "evaluation": {"name": "correct",
                                               "score": {"value": rng.random()}}})  # fmt: skip
        if run % 4 == 1:  # started again after a restart: the later start wins
            records.append({"ts": _ts(second), "kind": "run_start", "run_id": run_id,
                            "name": "eval-again", "parent_run_id": "run-00"})  # fmt: skip
        if run % 4 != 3:  # one in four still running
            second += 0.5
            end: dict[str, Any] = {"ts": _ts(second), "run_id": run_id, "duration_s": 1.5,
                                   "kind": "run_ok" if run % 2 else "run_error", "name": "eval",
                                   "ok_rate": 0.5, "usage": {"llm_calls": 100,
                                                             "cost_usd": 0.123456789}}  # fmt: skip
            if run % 2 == 0:
                end["error"] = {"type": "Boom", "message": "no"}
            records.append(end)
    return records


TORN = [
    b'{"ts":"2026-01-01T00:00:01.000000+00:00","kind":"llm_c',  # a killed writer's fragment
    b"not json at all",
    b"",
    b"[1, 2, 3]",
    b'{"ts":"bad \xff utf-8","kind":"step_ok"}',
    b'{"ts":"2026-01-01T00:00:02.000000+00:00","kind":"step_ok","kind":"llm_call",'
    b'"run_id":"run-03","event":"dup","cost_usd":0.3,"name":"dup","name":"twice"}',
]
"""Lines a reader must survive: torn, foreign, blank, not an object, not UTF-8, and
duplicate keys (the last one wins)."""


def _write_log(log_dir: Path, lines: list[bytes], files: int) -> None:
    """`lines` cut into `files` files of the log (the second one gzipped), oldest first; every
    other file ends with a killed writer's fragment on a line of its own."""
    log_dir.mkdir()
    cut = [len(lines) * n // files for n in range(files + 1)]
    for n in range(files):
        body = b"\n".join(lines[cut[n] : cut[n + 1]]) + b"\n"
        if n % 2 == 0:
            body += TORN[0] + b"\n"
        name = log_dir / ("events.jsonl" if n == files - 1 else f"events.jsonl.{n + 1:06d}")
        if n == 1:
            name = name.with_name(name.name + ".gz")
            name.write_bytes(gzip.compress(body))
        else:
            name.write_bytes(body)


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(7)
    records = _ordinary(rng) + _hostile_records()
    lines = [json.dumps(r).encode() for r in records]
    for number, torn in enumerate(TORN * 20):  # torn lines all over, some glued to a record
        at = rng.randrange(len(lines))
        lines.insert(at, torn + lines[at] if number % 3 == 0 else torn)
    path = tmp_path_factory.mktemp("parallel") / "logs"
    _write_log(path, lines, 5)
    return path


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The workers the fan-out started (pids), to see that it did."""
    started: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        with warnings.catch_warnings():  # 3.12+: this test process has threads (xdist's)
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = real_fork()
        if pid:
            started.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return started


COMMANDS = [
    ["stats"], ["stats", "--json"], ["stats", "--by", "run", "--json"], ["stats", "--by", "run"],
    ["stats", "--by", "gen_ai.request.model", "--json"], ["stats", "--by", "kind", "--json"],
    ["stats", "--kind", "llm_call,step_ok", "--json"], ["stats", "--grep", "run-0[13]"],
    ["stats", "--kind", "nothing"], ["stats", "--since", "2026-01-01T00:00:05", "--json"],
    ["runs"], ["runs", "--json"], ["runs", "--by", "conversation", "--json"],
    ["runs", "--kind", "run_start,run_ok,llm_call", "--json"], ["runs", "--level", "error"],
]  # fmt: skip


def _run(argv: list[str], log: Path, workers: int) -> tuple[int, str, str]:
    done = cli(*argv, log, env={**ENV, WORKERS: str(workers)}, status=None)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_several_processes_print_what_one_prints(
    argv: list[str], log_dir: Path, forks: list[int]
) -> None:
    one = _run(argv, log_dir, 1)
    assert not forks
    assert one[0] == 0 and one[1], one
    for workers in (3, 9):  # a share per file, and more workers than files
        assert _run(argv, log_dir, workers) == one, workers
        assert forks, "the log was not read in several processes"
        forks.clear()


@pytest.fixture(scope="module")
def many_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The differential test's kind of log in 40 files: more than 2 x 8, so that shares hold
    several files each."""
    rng = random.Random(11)
    lines = [json.dumps(r).encode() for r in _ordinary(rng) + _hostile_records()]
    for number, torn in enumerate(TORN * 5):
        at = rng.randrange(len(lines))
        lines.insert(at, torn + lines[at] if number % 3 == 0 else torn)
    path = tmp_path_factory.mktemp("many") / "logs"
    _write_log(path, lines, 40)
    return path


@pytest.mark.parametrize("argv", COMMANDS[1:3] + COMMANDS[6:7] + COMMANDS[11:13], ids=" ".join)
def test_shares_of_several_files_print_what_one_pass_prints(
    argv: list[str], many_files: Path, forks: list[int]
) -> None:
    one = _run(argv, many_files, 1)
    assert one[0] == 0 and one[1], one
    for workers in (2, 3):
        assert _run(argv, many_files, workers) == one, workers
        assert forks, "the log was not read in several processes"
        forks.clear()


def test_the_log_read_in_shares_has_what_the_differential_test_needs(log_dir: Path) -> None:
    """The fixture holds what the test above must see: a group past `EXACT_LIMIT` durations,
    torn lines in the footer, runs whose records span files."""
    stats = json.loads(_run(["stats", "--json"], log_dir, 1)[1])
    think = next(g for g in stats["groups"] if g["key"] == "step think")
    assert think["durations"] > EXACT_LIMIT and not think["exact"]
    assert stats["read"]["bad_count"] > 50 and len(stats["read"]["files"]) == 5
    runs = json.loads(_run(["runs", "--json"], log_dir, 1)[1])["runs"]
    assert {r["status"] for r in runs} == {"ok", "error", "running"}
    assert any(r["name"] == "eval" and r["run_id"] == "run-01" for r in runs)


def test_a_file_that_breaks_off_twice_is_said_twice(tmp_path: Path, forks: list[int]) -> None:
    """A log named twice whose gzip file is cut short breaks off once per read: one pass says
    so twice, and so do several processes (a refusal to open a file is said once, by both)."""
    lines = [json.dumps(r).encode() for r in _ordinary(random.Random(5))]
    log = tmp_path / "logs"
    _write_log(log, lines, 4)
    gz = log / "events.jsonl.000002.gz"
    gz.write_bytes(gz.read_bytes()[:-200])
    argv = ["stats", "--json", str(log)]  # and the log again, as `_run` adds it
    one = _run(argv, log, 1)
    errors = json.loads(one[1])["read"]["errors"]
    assert len(errors) == 2 and errors[0] == errors[1] and "EOFError" in errors[0], errors
    assert _run(argv, log, 2) == one
    assert forks


def test_a_worker_killed_is_said_and_the_log_read_again(
    log_dir: Path, forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = os.getpid()
    feed = cli_stats.StatsFold.feed

    def dies_in_a_worker(self: cli_stats.StatsFold, records: Any) -> None:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        feed(self, records)

    one = _run(["stats", "--json"], log_dir, 1)
    monkeypatch.setattr(cli_stats.StatsFold, "feed", dies_in_a_worker)
    status, out, err = _run(["stats", "--json"], log_dir, 3)
    assert forks
    assert (status, out) == one[:2]
    assert err.count("llmops-logs: a process reading part of the log was killed by SIGKILL; "
                     "reading the log again in one process\n") == 1  # fmt: skip
    with pytest.raises(ChildProcessError):  # every worker was waited for
        os.waitpid(-1, os.WNOHANG)


def test_an_error_in_a_worker_is_the_error_of_one_pass(
    log_dir: Path, forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker whose read raises makes the log read again in one process, which raises it
    where one pass does: the same status and message, no word of the worker."""

    def fails(self: cli_stats.StatsFold, records: Any) -> None:
        for record in records:
            if record.get("run_id") == "run-11":
                raise RuntimeError("a fold that fails on a late record")

    monkeypatch.setattr(cli_stats.StatsFold, "feed", fails)
    one = _run(["stats"], log_dir, 1)
    assert one[0] == 1 and "RuntimeError: a fold that fails on a late record" in one[2]
    assert _run(["stats"], log_dir, 3) == one
    assert forks


def test_an_interrupt_stops_the_workers(
    log_dir: Path, forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = os.getpid()
    feed = cli_runs.RunsFold.feed

    def slow_worker_and_interrupted_parent(self: cli_runs.RunsFold, records: Any) -> None:
        if os.getpid() != parent:
            time.sleep(60)  # only a kill ends it before the test's bound
        else:
            raise KeyboardInterrupt
        feed(self, records)

    monkeypatch.setattr(cli_runs.RunsFold, "feed", slow_worker_and_interrupted_parent)
    started = time.monotonic()
    status, out, _ = _run(["runs", "--json"], log_dir, 3)
    assert (status, out) == (130, "")
    assert len(forks) == 2
    assert time.monotonic() - started < 30
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_a_worker_that_fails_stops_the_others_at_once(
    log_dir: Path, forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log is read again as soon as one worker died: the others are killed, not waited for."""
    parent = os.getpid()
    feed = cli_stats.StatsFold.feed

    def first_dies_others_dawdle(self: cli_stats.StatsFold, records: Any) -> None:
        if os.getpid() != parent:
            if not forks:  # the first worker forked: none noted when it was
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(60)
        feed(self, records)

    one = _run(["stats", "--json"], log_dir, 1)
    monkeypatch.setattr(cli_stats.StatsFold, "feed", first_dies_others_dawdle)
    started = time.monotonic()
    status, out, err = _run(["stats", "--json"], log_dir, 3)
    assert (status, out) == one[:2] and "was killed by SIGKILL" in err
    assert len(forks) == 2
    assert time.monotonic() - started < 30
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def _notes_logs(root: Path) -> tuple[Path, Path, Path]:
    """A: three files, the live one heaviest; B: only another tool's file named like the log;
    C: A's files with a symbolic link at the live name."""
    line = json.dumps({"ts": _ts(0), "kind": "step_ok", "name": "x", "run_id": "r",
                       "duration_s": 1.0, "level": "info"}).encode() + b"\n"  # fmt: skip
    a, b, c = root / "A", root / "B", root / "C"
    for d in (a, b, c):
        d.mkdir()
    for log in (a, c):
        (log / "events.jsonl.000001").write_bytes(line)
        (log / "events.jsonl.000002").write_bytes(line)
    (a / "events.jsonl").write_bytes(line * 200)
    (c / "events.jsonl.000003").write_bytes(line * 200)
    (b / "events.jsonl.1").write_bytes(b"{}\n")
    (root / "target").write_bytes(b"{}\n")
    (c / "events.jsonl").symlink_to(root / "target")
    return a, b, c


def test_notes_after_the_last_file_are_kept(tmp_path: Path, forks: list[int]) -> None:
    """The last log named has no file to read (only another tool's): what it noted is said."""
    a, b, _ = _notes_logs(tmp_path)
    for argv in (["stats", a, b], ["stats", "--json", a, b], ["runs", a, b]):
        serial = cli(*argv, env={**ENV, WORKERS: "1"}).stdout
        assert "events.jsonl.1" in serial
        assert cli(*argv, env={**ENV, WORKERS: "3"}).stdout == serial, argv
        assert forks
        forks.clear()


def test_a_refusal_is_noted_once_for_a_log_named_twice(tmp_path: Path, forks: list[int]) -> None:
    _, _, c = _notes_logs(tmp_path)
    serial = json.loads(cli("stats", "--json", c, c, env={**ENV, WORKERS: "1"}).stdout)
    assert serial["read"]["errors"] == [f"{c}/events.jsonl: a symbolic link, not read "
                                        "(the writer never makes one)"]  # fmt: skip
    for workers in (2, 3):
        out = cli("stats", "--json", c, c, env={**ENV, WORKERS: str(workers)}).stdout
        assert json.loads(out)["read"] == serial["read"], workers
        assert forks
        forks.clear()


@pytest.mark.parametrize("value", ["0", "abc", "-2"])
def test_workers_not_a_count_is_a_usage_error(log_dir: Path, value: str) -> None:
    for command in ("stats", "runs"):
        done = cli(command, log_dir, env={**ENV, WORKERS: value}, status=2)
        assert done.stdout == ""
        assert done.stderr == (f"llmops-logs: ${WORKERS} must be a whole number of at "
                               f"least 1, not {value!r}\n")  # fmt: skip


SLOW_FEED = f"""
import os, sys, time
from llmops_logging.cli import stats
marks, parent, feed = sys.argv.pop(1), os.getpid(), stats.StatsFold.feed
def slow(self, records):
    open(os.path.join(marks, str(os.getpid())), "w").close()
    if os.getpid() != parent or os.environ["{WORKERS}"] == "1":
        time.sleep(60)
    feed(self, records)
stats.StatsFold.feed = slow
"""
"""The command line with a fold that writes its pid to a directory and then dawdles: in the
workers, or in the one process reading alone."""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="looks for processes in /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_a_kill_mid_read_ends_the_workers_too(log_dir: Path, tmp_path: Path, signum: int) -> None:
    """SIGTERM or SIGHUP to a command reading in several processes: it ends as one reading
    alone ends, and no worker is left reading."""
    statuses = []
    for workers in ("1", "2"):
        marks = tmp_path / workers
        marks.mkdir()
        process = subprocess.Popen(
            [sys.executable, "-c", SLOW_FEED + CLI_MAIN, str(marks), "stats", str(log_dir)],
            env={**ENV, WORKERS: workers}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while len(os.listdir(marks)) < int(workers) and time.monotonic() < deadline:
            time.sleep(0.01)
        pids = [int(name) for name in os.listdir(marks) if int(name) != process.pid]
        assert len(pids) == int(workers) - 1
        process.send_signal(signum)
        statuses.append(process.wait(timeout=30))
        while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert all(_gone(pid) for pid in pids), "a worker still runs"
    assert statuses == [-signum, -signum]


WAITING_FEED = """
import os, signal, sys, time
from llmops_logging.cli import stats
signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
marks, parent, feed = sys.argv.pop(1), os.getpid(), stats.StatsFold.feed
def waiting(self, records):
    open(os.path.join(marks, str(os.getpid())), "w").close()
    while os.getpid() != parent and not os.path.exists(os.path.join(marks, "go")):
        time.sleep(0.01)
    feed(self, records)
stats.StatsFold.feed = waiting
"""
"""The command line, with SIGHUP ignored, and a fold whose workers wait for a `go` file."""


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP here")
def test_a_signal_the_command_ignores_is_ignored_by_its_workers(
    log_dir: Path, tmp_path: Path
) -> None:
    """Under nohup, a hangup sent to the command's process group leaves its workers reading:
    the result comes from them, with nothing read again."""
    alone = cli("stats", log_dir, "--json", env={**ENV, WORKERS: "1"})
    process = subprocess.Popen(
        [sys.executable, "-c", WAITING_FEED + CLI_MAIN, str(tmp_path), "stats", str(log_dir),
         "--json"],
        env={**ENV, WORKERS: "3"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while len(os.listdir(tmp_path)) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGHUP)
    (tmp_path / "go").touch()
    out, err = process.communicate(timeout=60)
    assert (process.returncode, err) == (0, ""), err
    assert out == alone.stdout


# -- merges -----------------------------------------------------------------------------------


def _cuts(size: int) -> Iterator[list[int]]:
    """Ways to cut `size` items into consecutive shares: at each end, in halves, in sevenths."""
    yield [0, size]
    yield [0, 0, size]
    yield [0, size, size]
    yield [0, 1, size]
    yield [0, size // 2, size]
    yield [size * n // 7 for n in range(8)]


def _state(q: Quantiles) -> tuple[Any, ...]:
    """What a reader of `q` sees: its count, its largest value (its sign too), whether it is
    exact, and its percentiles."""
    top = q.max
    return (q.count, top, None if top is None else math.copysign(1, top), q.exact,
            [q.quantile(p / 100) for p in range(101)])  # fmt: skip


@pytest.mark.parametrize("size", [0, 5, EXACT_LIMIT, EXACT_LIMIT + 1, 3 * EXACT_LIMIT])
@pytest.mark.parametrize("positive", [True, False], ids=["positive", "no-positive"])
@pytest.mark.parametrize("settled", [False, True], ids=["as-read", "settled-and-pickled"])
def test_quantiles_merged_are_the_quantiles_of_the_concatenation(
    size: int, positive: bool, settled: bool
) -> None:
    """Also with each share settled and sent through pickle, as `stats`' processes do; a
    share given one more value after it settled (its settled buckets then stale) too."""
    rng = random.Random(size)
    values = [rng.choice([0.0, -0.0, -1.0, *((rng.random(), rng.lognormvariate(0, 3))
                                            if positive else ())])
              for _ in range(size)]  # fmt: skip
    whole = Quantiles()
    for value in values:
        whole.add(value)
    for cut in _cuts(size):
        shares = []
        for low, high in itertools.pairwise(cut):
            # every other share settled before its last value: its settled buckets stale
            stale = settled and len(shares) % 2 == 1 and high - low > SETTLE_FROM
            share = Quantiles()
            for value in values[low : high - 1 if stale else high]:
                share.add(value)
            if settled:
                share.settle()
                share = pickle.loads(pickle.dumps(share))
            if stale:
                share.add(values[high - 1])
            shares.append(share)
        merged = shares[0]
        for share in shares[1:]:
            merged.merge(share)
        assert _state(merged) == _state(whole), cut


def test_the_largest_of_equal_values_is_the_first_one_whatever_the_shares() -> None:
    """-0.0 and 0.0 are equal and print differently: `max_s` is the first of them, in a
    merge of shares too, whichever of them holds exact values and which buckets."""
    first = [-1.0] * (EXACT_LIMIT + 1) + [-0.0]
    later = [0.0] + [-1.0] * EXACT_LIMIT
    whole, merged, share = Quantiles(), Quantiles(), Quantiles()
    for value in first + later:
        whole.add(value)
    for value in first:
        merged.add(value)
    for value in later:
        share.add(value)
    merged.merge(share)
    assert _state(merged) == _state(whole)
    assert whole.max is not None and math.copysign(1, whole.max) == -1


def test_cost_is_summed_exactly_whatever_the_order() -> None:
    """An exactly rounded sum (`math.fsum`), so every order and every merge gives its bits,
    where adding floats one by one does not."""
    rng = random.Random(3)
    prices = [rng.random() * 10 ** -rng.randrange(0, 12) for _ in range(2000)] + [1e6, 1e-300]
    calls = [{"cost_usd": p, "gen_ai": {"usage": {"input_tokens": 1}}} for p in prices]

    def one_by_one(values: Iterable[float]) -> float:
        total = 0.0
        for value in values:  # not sum(): 3.12+ compensates its rounding
            total += value
        return total

    assert one_by_one(prices) != math.fsum(prices) or one_by_one(prices[::-1]) != math.fsum(prices)
    for order in (calls, calls[::-1], sorted(calls, key=lambda c: c["cost_usd"])):
        usage = Usage()
        for call in order:
            usage.add_call(call)
        assert usage.cost_usd == math.fsum(prices)
    left, right = Usage(), Usage()
    for n, call in enumerate(calls):
        (left if n % 2 else right).add_call(call)
    right.add(left)
    assert right.cost == math.fsum(prices) and right.priced_calls == len(prices)
    assert Usage(1, cost_usd=math.inf, priced_calls=1).cost_usd == math.inf
    # a scale at which a later price is beyond the floats, and scales finer than a float
    for prices in ([2.0**-970, 1e18, 0.1, 3.5], [5e-324, 0.1, 3e-310, 0.25, 5e-324]):
        usage = Usage()
        for price in prices:
            usage.add_call({"cost_usd": price})
        assert usage.cost_usd == math.fsum(prices) and usage.priced_calls == len(prices)


def _records_for_merges() -> list[dict[str, Any]]:
    rng = random.Random(11)
    return _ordinary(rng)[::7] + _hostile_records()[::3]


def test_tallies_merged_are_the_tally_of_the_concatenation() -> None:
    records = _records_for_merges()
    whole = Tally()
    for record in records:
        whole.add_call(record) if record.get("kind") == "llm_call" else whole.add(record)
    for cut in _cuts(len(records)):
        merged = Tally()
        for low, high in itertools.pairwise(cut):
            share = Tally()
            for record in records[low:high]:
                share.add_call(record) if record.get("kind") == "llm_call" else share.add(record)
            merged.merge(share)
        assert merged.row("k") == whole.row("k") and merged.usage == whole.usage, cut


def test_run_summaries_merged_are_the_summary_of_the_concatenation() -> None:
    """Every cut of each run's records, hostile ones included: starts, ends, names, errors,
    scores and first-seen fields on either side."""
    records = _records_for_merges()
    by_run: dict[Any, list[dict[str, Any]]] = {}
    for record in records:
        if isinstance(record.get("run_id"), str):
            by_run.setdefault(record["run_id"], []).append(record)
    for run_id, own in by_run.items():
        whole = RunSummary(run_id)
        for record in own:
            whole.add(record)
        for at in sorted({0, 1, len(own) // 3, len(own) // 2, len(own) - 1, len(own)}):
            left, right = RunSummary(run_id), RunSummary(run_id)
            for record in own[:at]:
                left.add(record)
            for record in own[at:]:
                right.add(record)
            left.merge(right)
            assert left.as_dict() == whole.as_dict(), (run_id, at)
            assert left == whole, (run_id, at)


def _start(**fields: Any) -> dict[str, Any]:
    return {"ts": _ts(1), "kind": "run_start", "run_id": "r", "name": "first", **fields}


LATER_RECORDS_THAT_SET = {
    "a name of None": [_start(name=None)],
    "no name": [{"ts": _ts(2), "kind": "run_ok", "run_id": "r", "duration_s": 2}],
    "a start at no time": [_start(ts=5, parent_run_id="p")],
    "an end then a start": [
        {"ts": _ts(3), "kind": "run_error", "run_id": "r", "error": {"type": None}},
        _start(ts=None),
    ],
    "only a sample": [{"ts": None, "kind": "sample", "run_id": "r", "ok": True}],
    "an end without usage": [{"ts": _ts(4), "kind": "run_ok", "run_id": "r", "usage": 3}],
}
"""A run's later share that sets (or leaves) each field a start or end sets."""


@pytest.mark.parametrize("later", LATER_RECORDS_THAT_SET, ids=str)
def test_a_later_share_of_a_run_sets_what_its_records_set(later: str) -> None:
    earlier = [_start(user={"id": "u"}),
               {"ts": _ts(2), "kind": "run_ok", "run_id": "r", "ok_rate": 0.5,
                "error": {"type": "E", "message": "m"}, "usage": {"llm_calls": 1}}]  # fmt: skip
    records = earlier + LATER_RECORDS_THAT_SET[later]
    whole, left, right = RunSummary("r"), RunSummary("r"), RunSummary("r")
    for record in records:
        whole.add(record)
    for record in earlier:
        left.add(record)
    for record in LATER_RECORDS_THAT_SET[later]:
        right.add(record)
    left.merge(right)
    assert left.as_dict() == whole.as_dict()


@pytest.mark.parametrize("by", ["name", "run", "kind", "gen_ai.request.model"])
def test_stats_and_runs_folds_merged_are_the_fold_of_the_concatenation(by: str) -> None:
    records = _records_for_merges()
    for cut in _cuts(len(records)):
        stats, runs = cli_stats.StatsFold(by), cli_runs.RunsFold()
        for low, high in itertools.pairwise(cut):
            share, run_share = cli_stats.StatsFold(by), cli_runs.RunsFold()
            share.feed(records[low:high])
            run_share.feed(records[low:high])
            stats.merge(share)
            runs.merge(run_share)
        assert stats.rows() == cli_stats.stats(records, by), cut
        assert runs.rows() == cli_runs.runs(records), cut


class _Where:
    """A fold that notes which process read each share and how many records it had; a worker
    (not `PARENT`) reads slowly, as one whose core another job holds."""

    PARENT = 0

    def __init__(self) -> None:
        self.shares: list[tuple[int, int]] = []

    def feed(self, records: Iterable[Any]) -> None:
        count = sum(1 for _ in records)
        if os.getpid() != self.PARENT:
            time.sleep(1.0)  # the others take ~50 ms, even on a loaded machine well under this
        self.shares.append((os.getpid(), count))

    def settle(self) -> None:
        pass

    def merge(self, later: _Where) -> None:
        self.shares += later.shares


def test_a_slow_process_takes_fewer_shares(
    log_dir: Path, forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shares go to whichever process is free: while a worker is held up on its first
    one, this process reads all the others, and the merge is still in file order."""
    from llmops_logging.cli import _fanout
    from llmops_logging.reader import EventStream

    monkeypatch.setenv(WORKERS, "2")
    monkeypatch.setattr(_Where, "PARENT", os.getpid())
    stream = EventStream([log_dir])
    where = _fanout.fold(stream, _Where)
    assert len(forks) == 1
    assert len(stream.report.files) == 5  # cut into at most 5 shares: fewer than 2 x 32
    by_worker = [count for pid, count in where.shares if pid == forks[0]]
    assert len(by_worker) == 1 and len(where.shares) >= 4, where.shares
    assert sum(count for _, count in where.shares) == stream.report.matched
    one = EventStream([log_dir])
    monkeypatch.setenv(WORKERS, "1")
    assert _fanout.fold(one, _Where).shares == [(os.getpid(), one.report.matched)]
    assert one.report == stream.report


def test_shares_are_contiguous_with_a_file_each() -> None:
    from llmops_logging._logset import LogPart
    from llmops_logging.cli import _fanout
    from llmops_logging.reader import Notes

    steps: list[Any] = [Notes([], []), *(LogPart(f"/nonexistent/{n}") for n in range(5))]
    for count in range(1, 8):
        shares = _fanout.share_out(steps, count)
        assert [s for share in shares for s in share] == steps
        assert len(shares) == min(count, 5)
        assert all(any(isinstance(s, LogPart) for s in share) for share in shares)
