"""read_events() against logs written by the library, read back independently of the reader.

The expected records, files and bad lines come from a raw scan that follows the naming
contract with its own code (and the stdlib json module), never from the reader under test.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import textwrap
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import orjson
import pytest

import llmops_logging as ll
from llmops_logging._logset import log_files
from llmops_logging.reader import EventStream

from ..conftest import FOREIGN, INVALID, build_rotated_log, raw_files, raw_scan


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log_dir = tmp_path_factory.mktemp("rotated") / "raw_events"
    build_rotated_log(log_dir)
    ll.reset()
    return log_dir


# -- reading a whole log ------------------------------------------------------------------


def test_rotated_log_is_read_in_write_order_with_torn_lines_counted(rotated: Path) -> None:
    files = raw_files(rotated)
    assert sum(f.suffix == ".gz" for f in files) >= 3 and len(files) >= 5
    expected, bad, lines = raw_scan(files)
    assert bad, "the fixture must hold a torn line"

    stream = ll.read_events(rotated)
    got = list(stream)

    assert got == expected
    assert FOREIGN in got and INVALID in got
    seqs = [r["seq"] for r in got if "seq" in r and r.get("pid") == got[0]["pid"]]
    assert seqs == sorted(seqs)
    report = stream.report
    assert report.files == [str(f) for f in files]
    assert (report.lines, report.records, report.matched) == (lines, len(expected), len(got))
    assert report.bad == bad and report.bad_count == len(bad)
    assert report.errors == []


def test_live_file_path_reads_its_rotated_siblings(rotated: Path) -> None:
    by_dir = list(ll.read_events(rotated))
    assert list(ll.read_events(rotated / "events.jsonl")) == by_dir
    assert list(ll.read_events(str(rotated / "events.jsonl"))) == by_dir


def test_a_rotated_file_named_alone_is_read_alone(rotated: Path) -> None:
    gz = next(f for f in raw_files(rotated) if f.suffix == ".gz")
    stream = ll.read_events(gz)
    assert list(stream) == raw_scan([gz])[0]
    assert stream.report.files == [str(gz)]


def test_smoke_summary_is_read_only_when_named(tmp_path: Path) -> None:
    data = tmp_path / "data"
    subprocess.run(
        [sys.executable, "examples/smoke.py", "--data-dir", str(data), "--sleep", "0"],
        check=True, capture_output=True, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    raw = data / "raw_events"
    events = list(ll.read_events(raw))
    assert [r["kind"] for r in events] == ["run_start"] + ["sample"] * 10 + ["run_ok"]
    summary = list(ll.read_events(raw / "00_smoke.jsonl"))
    assert len(summary) == 1 and summary[0]["run_id"] == events[0]["run_id"]
    assert "kind" not in summary[0] and len(summary[0]["samples"]) == 10
    both = ll.read_events([raw, raw / "00_smoke.jsonl"])
    assert list(both) == events + summary
    assert both.report.files == [str(raw / "events.jsonl"), str(raw / "00_smoke.jsonl")]


def test_gz_wins_over_its_plain_twin_and_hidden_files_are_ignored(tmp_path: Path) -> None:
    """Mid-compression a number has both files; temp and lock files are not part of the log."""
    lines = [json.dumps({"event": f"e{i}", "i": i}).encode() + b"\n" for i in range(6)]
    (tmp_path / "events.jsonl.000001").write_bytes(b"".join(lines[:2]))
    (tmp_path / "events.jsonl.000002").write_bytes(b"".join(lines[2:4]))
    (tmp_path / "events.jsonl.000002.gz").write_bytes(gzip.compress(b"".join(lines[2:4])))
    (tmp_path / "events.jsonl").write_bytes(b"".join(lines[4:]))
    (tmp_path / ".events.jsonl.000003.gz.tmp").write_bytes(b"garbage\n")
    (tmp_path / ".events.jsonl.lock").write_bytes(b"2\n")
    (tmp_path / "events.jsonl.bak").write_bytes(lines[0])
    stream = ll.read_events(tmp_path)
    assert [r["i"] for r in stream] == list(range(6))
    assert [Path(f).name for f in stream.report.files] == [
        "events.jsonl.000001", "events.jsonl.000002.gz", "events.jsonl",
    ]  # fmt: skip
    assert stream.report.bad_count == 0


def test_files_other_tools_named_are_listed_as_unread_not_mixed_in(tmp_path: Path) -> None:
    """logrotate's `events.jsonl.2` beside the writer's `events.jsonl.000002` hid one of the
    two files; now the log's own files are all read and the others are listed, not read."""
    ll.configure(tmp_path, max_bytes=600, backup_count=100)
    log = ll.get_logger("t")
    for i in range(40):
        log.info("n", i=i)
    ll.reset()
    ours = raw_files(tmp_path)
    assert len(ours) >= 4 and (tmp_path / "events.jsonl.000002").exists()
    others = ["events.jsonl-20261126", "events.jsonl.1.gz", "events.jsonl.2", "events.jsonl.bak"]
    for number, name in enumerate(others):
        body = json.dumps({"other": number}).encode() + b"\n"
        (tmp_path / name).write_bytes(gzip.compress(body) if name.endswith(".gz") else body)
    stream = ll.read_events(tmp_path)
    assert [r["i"] for r in stream] == list(range(40))
    assert stream.report.files == [str(f) for f in ours]
    assert stream.report.unread == [str(tmp_path / name) for name in others]
    assert log_files(tmp_path) == [str(f) for f in ours]
    assert list(ll.read_events(tmp_path / "events.jsonl.2")) == [{"other": 2}]  # named alone


def test_non_object_json_and_blank_lines(tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_bytes(b'{"a":1}\n[1,2]\n\n"text"\nNaN\n{"a":2}')
    stream = ll.read_events(tmp_path)
    assert list(stream) == [{"a": 1}, {"a": 2}]  # a last line without newline still counts
    live = str(tmp_path / "events.jsonl")
    assert stream.report.bad == [f"{live}:2", f"{live}:4", f"{live}:5"]
    assert (stream.report.lines, stream.report.records) == (6, 2)


def test_truncated_gzip_is_reported_and_reading_goes_on(tmp_path: Path) -> None:
    body = b"".join(json.dumps({"i": i, "pad": "x" * 50}).encode() + b"\n" for i in range(2000))
    packed = gzip.compress(body)
    (tmp_path / "events.jsonl.000001.gz").write_bytes(packed[: len(packed) // 2])
    (tmp_path / "events.jsonl").write_bytes(b'{"i":"live"}\n')
    stream = ll.read_events(tmp_path)
    got = list(stream)
    assert got[-1] == {"i": "live"} and 0 < len(got) - 1 < 2000
    assert [r["i"] for r in got[:-1]] == list(range(len(got) - 1))
    assert len(stream.report.errors) == 1 and "000001.gz" in stream.report.errors[0]


def test_missing_path_raises_at_call_and_empty_dir_is_an_empty_log(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ll.read_events(tmp_path / "nope")
    with pytest.raises(FileNotFoundError):
        ll.read_events(tmp_path / "nope" / "events.jsonl")
    stream = ll.read_events(tmp_path)
    assert list(stream) == [] and stream.report.files == []


def test_stream_is_a_one_pass_iterator_that_closes_early(rotated: Path) -> None:
    stream = ll.read_events(rotated)
    first, second = next(stream), next(stream)
    assert (first["kind"], second["kind"]) == ("run_start", "step_start")
    rest = list(stream)
    assert [first, second, *rest] == list(ll.read_events(rotated))
    assert list(stream) == []
    with ll.read_events(rotated) as early:
        next(early)
    with pytest.raises(StopIteration):
        next(early)
    assert len(early.report.files) == 1


# -- filters --------------------------------------------------------------------------------


def test_filters_match_plain_python_filtering(rotated: Path) -> None:
    everything = list(ll.read_events(rotated))
    ours = [r for r in everything if "seq" in r]
    run_id = next(r["run_id"] for r in ours if r["kind"] == "run_error")
    middle = ours[len(ours) // 2]["ts"]
    late = ours[-3]["ts"]

    def check(expected: list[dict[str, Any]], **filters: Any) -> None:
        stream = ll.read_events(rotated, **filters)
        assert list(stream) == expected and expected, filters
        assert stream.report.matched == len(expected)
        assert stream.report.records == len(everything)

    check([r for r in everything if r.get("run_id") == run_id], run_id=run_id)
    check([r for r in everything if r.get("kind") == "sample"], kind="sample")
    check([r for r in everything if r.get("kind") in ("run_ok", "run_error")],
          kind=["run_ok", "run_error"])  # fmt: skip
    check([r for r in everything if r.get("level") in ("warning", "error", "critical")],
          level="WARNING")  # fmt: skip
    check([r for r in ours if r["ts"] >= middle], since=middle)
    check([r for r in ours if r["ts"] < middle], until=datetime.fromisoformat(middle))
    check([r for r in ours if middle <= r["ts"] < late], since=middle, until=late)
    check([r for r in everything if "another writer" in json.dumps(r)], grep="another writer")
    check([r for r in everything if r.get("kind") == "sample" and r.get("ok") is False],
          kind="sample", where=lambda r: r.get("ok") is False)  # fmt: skip


def test_since_accepts_zulu_and_naive_times_as_utc(tmp_path: Path) -> None:
    lines = [
        {"ts": "2026-11-26T10:00:00.000000+00:00", "n": 1},
        {"ts": "2026-11-26T12:00:00.000000+02:00", "n": 2},  # 10:00 UTC, other form
        {"ts": "2026-11-26T11:00:00.000000+00:00", "n": 3},
        {"ts": None, "n": 4},
    ]
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    assert [r["n"] for r in ll.read_events(tmp_path, since="2026-11-26T10:30:00Z")] == [3]
    naive = datetime(2026, 11, 26, 10, 0)
    assert [r["n"] for r in ll.read_events(tmp_path, until=naive)] == []
    aware = datetime(2026, 11, 26, 10, 0, 1, tzinfo=timezone.utc)
    assert [r["n"] for r in ll.read_events(tmp_path, until=aware)] == [1, 2]
    with pytest.raises(ValueError):
        ll.read_events(tmp_path, level="loud")


def test_times_whose_utc_instant_is_past_the_calendar_order_at_its_ends(tmp_path: Path) -> None:
    """`9999-12-31T23:59:59-23:59` is in year 10000 in UTC and `0001-01-01T00:00:00+14:00` in
    year 0, which Python's datetime cannot hold: as records or as bounds, they are later, and
    earlier, than every other time, never an OverflowError."""
    lines = [
        {"ts": "0001-01-01T00:00:00+14:00", "n": 1},
        {"ts": "2026-11-26T10:00:00.000000+00:00", "n": 2},
        {"ts": "9999-12-31T23:59:59.999999-23:59", "n": 3},
    ]
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    assert [r["n"] for r in ll.read_events(tmp_path, since="2026-01-01")] == [2, 3]
    assert [r["n"] for r in ll.read_events(tmp_path, until="2026-01-01")] == [1]
    assert [r["n"] for r in ll.read_events(tmp_path, since="0001-01-01T00:00:00")] == [2, 3]
    assert [r["n"] for r in ll.read_events(tmp_path, until="9999-12-31T23:59:59.999999")] == [1, 2]
    assert [r["n"] for r in ll.read_events(tmp_path, since="9999-12-31T00:00:00-20:00")] == [3]
    assert [r["n"] for r in ll.read_events(tmp_path, until="0001-01-01T05:00:00+10:00")] == [1]


# -- memory and concurrency -------------------------------------------------------------------


def test_reading_streams_in_constant_memory(tmp_path: Path) -> None:
    line = {"ts": "2026-11-26T13:05:26.123456+00:00", "run_id": "r" * 36, "event": "sample",
            "kind": "sample", "level": "info", "logger": "bench", "prompt": "p" * 120}  # fmt: skip
    body = b"".join(json.dumps({**line, "seq": i}).encode() + b"\n" for i in range(60_000))
    (tmp_path / "events.jsonl.000001").write_bytes(body)
    (tmp_path / "events.jsonl").write_bytes(body)
    size = 2 * len(body)
    tracemalloc.start()
    try:
        count = sum(1 for _ in ll.read_events(tmp_path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 120_000
    assert peak < size / 8, f"peak {peak} bytes while reading {size} bytes"


PEAK_RSS = (
    "import re; "
    "peak = int(re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read())[1]) / 1024"
)
"""Peak RSS in MiB of this process image only (`ru_maxrss` keeps that of the parent that
spawned it, which is pytest's own)."""
MEASURED_READ = textwrap.dedent(
    """
    import json, sys
    import llmops_logging as ll
    stream = ll.read_events(sys.argv[1])
    numbers = [record["i"] for record in stream]
    """
) + textwrap.dedent(
    f"""
    {PEAK_RSS}
    print(json.dumps({{"numbers": numbers, "oversize": stream.report.oversize,
                      "bad": stream.report.bad, "lines": stream.report.lines, "peak_mib": peak}}))
    """
)
MEASURED_VALIDATE = (
    "import sys; from llmops_logging.cli import main; status = main(sys.argv[1:]); "
    f"{PEAK_RSS}; print(peak, file=sys.stderr); sys.exit(status)"
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_a_huge_line_and_a_gzip_bomb_are_skipped_in_bounded_memory(tmp_path: Path) -> None:
    """A 200 MiB line and a 0.26 MB gzip that inflates to a 256 MiB line: both skipped as they
    stream past and reported as oversize, the records around them read, memory bounded."""

    def record(i: int) -> bytes:
        return json.dumps({"ts": "2026-11-26T13:05:26.123456+00:00", "i": i}).encode() + b"\n"

    with gzip.open(tmp_path / "events.jsonl.000001.gz", "wb") as bomb:
        bomb.write(record(0))
        block = b"x" * 2**20
        for _ in range(256):
            bomb.write(block)
        bomb.write(b"\n" + record(1))
    assert (tmp_path / "events.jsonl.000001.gz").stat().st_size < 2**20
    with open(tmp_path / "events.jsonl", "wb") as live:  # sparse: 200 MiB of NULs, no disk
        live.write(record(2))
        live.seek(200 * 2**20, os.SEEK_CUR)
        live.write(b"\n" + record(3))
    bound_mib = 120  # the interpreter with the library: about 35; the lines: 200 and 256

    done = subprocess.run(
        [sys.executable, "-c", MEASURED_READ, str(tmp_path)],
        capture_output=True, check=True, timeout=300,
    )  # fmt: skip
    read = json.loads(done.stdout)
    assert read["numbers"] == [0, 1, 2, 3] and read["bad"] == [] and read["lines"] == 6
    assert read["oversize"] == [
        f"{tmp_path / 'events.jsonl.000001.gz'}:2", f"{tmp_path / 'events.jsonl'}:2",
    ]  # fmt: skip
    assert read["peak_mib"] < bound_mib, f"peak RSS {read['peak_mib']:.0f} MiB"

    done = subprocess.run(
        [sys.executable, "-c", MEASURED_VALIDATE, "validate", "--json", str(tmp_path)],
        capture_output=True, timeout=300,
    )  # fmt: skip
    verdict = json.loads(done.stdout)
    assert done.returncode == 1 and not verdict["ok"]
    assert (verdict["oversize"], verdict["foreign"], verdict["torn"]) == (2, 4, 0)
    assert [p["where"] for p in verdict["problems"]] == read["oversize"]
    assert all("oversize" in p["problem"] for p in verdict["problems"])
    assert float(done.stderr.splitlines()[-1]) < bound_mib, done.stderr


def test_max_line_bytes_is_the_limit_for_read_events(tmp_path: Path) -> None:
    lines = [b'{"i":0}', b'{"i":1,"pad":"' + b"p" * 100 + b'"}', b'{"i":2}']
    (tmp_path / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n" + b"x" * 101)
    stream = ll.read_events(tmp_path, max_line_bytes=100)
    assert [r["i"] for r in stream] == [0, 2]
    live = tmp_path / "events.jsonl"
    assert stream.report.oversize == [f"{live}:2", f"{live}:4"]
    assert stream.report.oversize_count == 2 and stream.report.bad == []
    assert [r["i"] for r in ll.read_events(tmp_path, max_line_bytes=len(lines[1]))] == [0, 1, 2]
    with pytest.raises(ValueError):
        ll.read_events(tmp_path, max_line_bytes=0)


@pytest.mark.parametrize("tail", [b"", b'{"i":9}'], ids=["spaces", "a-record-after-spaces"])
def test_a_line_whose_start_reads_as_json_is_still_too_long(tmp_path: Path, tail: bytes) -> None:
    """A line cut at the limit whose first bytes are a whole object and spaces (which JSON
    allows after it) is too long all the same: it is not read as that object, and the rest
    of it is not read as a line of its own."""
    lines = [b'{"i":0}', b'{"i":1}' + b" " * 120 + tail, b'{"i":2}', b'{"i":3}' + b" " * 93]
    (tmp_path / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n" + lines[1])
    stream = ll.read_events(tmp_path, max_line_bytes=100)
    assert [r["i"] for r in stream] == [0, 2, 3]  # the last line, without a newline, too long
    live = tmp_path / "events.jsonl"
    assert stream.report.oversize == [f"{live}:2", f"{live}:5"]
    assert (stream.report.lines, stream.report.records, stream.report.bad) == (5, 3, [])


def test_a_too_long_line_cut_short_by_a_truncated_gzip_is_too_long(tmp_path: Path) -> None:
    """The rest of a line past the limit is read past, and the file breaks off there (a gzip
    file without its end): the line is still noted as too long and is no record, as reading
    by blocks says too."""
    data = b'{"i":0}\n{"i":1}\n{"x":"' + b"a" * 5000
    rotated = tmp_path / "events.jsonl.000001.gz"
    rotated.write_bytes(gzip.compress(data)[:-8])  # without its CRC and size
    (tmp_path / "events.jsonl").write_bytes(b'{"i":2}\n')
    stream = ll.read_events(tmp_path, max_line_bytes=100)
    assert [r["i"] for r in stream] == [0, 1, 2]
    report = stream.report
    assert (report.lines, report.records, report.oversize) == (4, 3, [f"{rotated}:3"])
    assert len(report.errors) == 1 and "EOFError" in report.errors[0], report.errors
    for size in (64, 8192, 1 << 20):  # the break in the block with the line's start, or after
        by_blocks = ll.read_events(tmp_path, max_line_bytes=100)
        read = [r for block in by_blocks.blocks(lambda data, lines: None, size) for r in block]
        assert [r["i"] for r in read] == [0, 1, 2], size
        assert by_blocks.report == report, size


def test_a_filter_that_raises_ends_the_stream(tmp_path: Path) -> None:
    """The caller's `where` raising on a record of the first of two files: the error reaches
    the caller, and the stream ends there (as a generator does), the second file unread."""
    for name, i in (("events.jsonl.000001", 0), ("events.jsonl", 1)):
        lines = (orjson.dumps({"i": i, "j": j, "kind": "x"}) + b"\n" for j in range(3))
        (tmp_path / name).write_bytes(b"".join(lines))

    def where(record: dict[str, Any]) -> bool:
        if record["i"] == 0 and record["j"] == 1:
            raise ValueError("a filter's own error")
        return True

    stream = ll.read_events(tmp_path, where=where)
    seen = []
    with pytest.raises(ValueError, match="a filter's own error"):
        for record in stream:
            seen.append((record["i"], record["j"]))
    assert seen == [(0, 0)]
    assert stream._current is None  # its file closed as the error left the stream
    assert list(stream) == []
    assert stream.report.files == [str(tmp_path / "events.jsonl.000001")]
    assert stream.report.lines == 2


WRITER = textwrap.dedent(
    """
    import sys, llmops_logging as ll
    ll.configure(sys.argv[1], max_bytes=4096, backup_count=100000, compress=True)
    log = ll.get_logger("w")
    for i in range(int(sys.argv[2])):
        log.info("n", i=i)
    """
)


def test_snapshots_while_a_writer_rotates_and_compresses(tmp_path: Path) -> None:
    """Every read taken during rotation and compression is a gapless, duplicate-free prefix."""
    total = 8000
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(total)])
    seen, reads = 0, 0
    try:
        while writer.poll() is None or reads == 0:
            numbers = [r["i"] for r in ll.read_events(tmp_path) if "i" in r]
            assert numbers == list(range(len(numbers)))
            assert len(numbers) >= seen
            seen, reads = len(numbers), reads + 1
    finally:
        writer.wait(timeout=60)
    assert writer.returncode == 0
    assert [r["i"] for r in ll.read_events(tmp_path)] == list(range(total))
    assert any(f.suffix == ".gz" for f in tmp_path.iterdir())


def test_live_file_rotated_between_open_and_listing_is_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rotation racing the read's first steps neither hides nor repeats records."""
    from llmops_logging import _logset

    (tmp_path / "events.jsonl.000001").write_text('{"i":0}\n')
    (tmp_path / "events.jsonl").write_text('{"i":1}\n')
    real = _logset.open_log_file
    rotated = False

    def racing(path: str, found: bool = False) -> IO[bytes]:
        nonlocal rotated
        stream = real(path, found)
        if path.endswith("events.jsonl") and not rotated:  # a writer rotates right after
            rotated = True
            os.rename(tmp_path / "events.jsonl", tmp_path / "events.jsonl.000002")
            (tmp_path / "events.jsonl").write_text('{"i":2}\n')
        return stream

    monkeypatch.setattr(_logset, "open_log_file", racing)
    assert [r["i"] for r in ll.read_events(tmp_path)] == [0, 1, 2]


def test_log_files_lists_the_log_in_write_order(rotated: Path, tmp_path: Path) -> None:
    assert log_files(rotated) == [str(f) for f in raw_files(rotated)]
    shutil.copy(rotated / "events.jsonl", tmp_path / "custom.jsonl")
    assert log_files(tmp_path / "custom.jsonl") == [str(tmp_path / "custom.jsonl")]
    assert isinstance(ll.read_events(tmp_path), EventStream)


def test_progress_reaches_the_total(rotated: Path) -> None:
    stream = ll.read_events(rotated)
    assert stream.progress()[0] == 0
    for _ in stream:
        pass
    done, total = stream.progress()
    assert done == total == sum(f.stat().st_size for f in raw_files(rotated))
