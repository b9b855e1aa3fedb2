"""Parquet export hands Arrow the log's own lines a block at a time, and reads a block line by
line when it holds anything else (`EventStream.blocks`). Both routes must give the table and the
read report that the reader's line loop gives, on logs with every kind of hostile line: the
"line by line" runs force the slow route everywhere, and the expected report comes from
iterating `EventStream` itself.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

import llmops_logging as ll
from llmops_logging import _lines, reader
from llmops_logging.cli import main
from llmops_logging.cli.export import parquet
from llmops_logging.reader import EventStream

from ..conftest import FOREIGN, INVALID, TORN

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

RECORD = b'{"ts":"2026-11-30T10:00:%02d.000000+00:00","kind":"x","i":%d}'
HOSTILE = {
    "torn": TORN,
    "torn and glued": TORN + RECORD % (1, 1),
    "not json": b"Traceback (most recent call last):",
    "blank": b"",
    "spaces": b"   ",
    "crlf": RECORD[:-1] % (2, 2) + b',"crlf":1}\r',
    "trailing space": RECORD % (3, 3) + b" ",
    "bom": b"\xef\xbb\xbf" + RECORD % (4, 4),
    "array": b"[1,2]",
    "string": b'"text"',
    "nan": b'{"ts":"2026-11-30T10:00:05.000000+00:00","x":NaN}',
    "infinity": b'{"ts":"2026-11-30T10:00:06.000000+00:00","x":-Infinity}',
    "two on a line": RECORD % (7, 7) + b" " + RECORD % (8, 8),
    "glued without space": RECORD % (9, 9) + RECORD % (10, 10),
    "pretty": b'{"ts":"2026-11-30T10:00:11.000000+00:00",\n "pretty":true}',
    "duplicate key": b'{"ts":"2026-11-30T10:00:12.000000+00:00","i":1,"i":2}',
    "escaped duplicate": b'{"ts":"2026-11-30T10:00:13.000000+00:00","j":1,"\\u006a":2}',
    "bad utf-8": b'{"ts":"2026-11-30T10:00:14.000000+00:00","s":"\xff\xfe"}',
    "surrogate": b'{"ts":"2026-11-30T10:00:15.000000+00:00","s":"\\ud800"}',
    "deep": b'{"deep":' + b"[" * 1100 + b"]" * 1100 + b"}",
    "tab in a string": b'{"ts":"2026-11-30T10:00:16.000000+00:00","s":"a\tb"}',
    "big numbers": b'{"n":18446744073709551615,"m":-9223372036854775809,"e":1E2,"z":-0}',
    "unicode": '{"s":"héllo ✓ 😀","\\u00e9":"\\ud83d\\ude00"}'.encode(),
    "foreign": json.dumps(FOREIGN).encode(),
    "foreign types": b'{"value":"three","note":{"nested":[1,2.5]}}',
    "invalid ts": json.dumps(INVALID).encode(),
    "empty object": b"{}",
    "list of mixed lists": b'{"ts":"2026-11-30T10:00:17.000000+00:00","l":[1,[1,"a"]]}',
}


def write_log(log_dir: Path, hostile: list[bytes], *, records: int = 3) -> None:
    """A log written by the library, rotated and gzipped, with `hostile` lines appended to
    the live file between writers, and a last line with no newline."""
    settings: dict[str, Any] = {"max_bytes": 2000, "backup_count": 1000, "compress": True}
    log = ll.get_logger("agent")
    for n, line in enumerate(hostile):
        ll.configure(log_dir, **settings)
        with ll.run("agent", attempt=n):
            for i in range(records):
                log.info("sample", kind="sample", i=i, ok=i % 2 == 0, gen_ai={"usage": {"n": i}})
        ll.reset()
        with open(log_dir / "events.jsonl", "ab") as live:
            live.write(line + (b"" if line == TORN else b"\n"))
    with open(log_dir / "events.jsonl", "ab") as live:
        live.write(RECORD % (59, 59))


def read_back(log_dir: Path, accept: reader.Accept | None = None) -> tuple[list[Any], Any]:
    """The records and the report of the reader's own line loop."""
    stream = EventStream([log_dir], accept)
    return list(stream), stream.report.as_dict()


def export(
    log_dir: Path, out: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[Any, dict[str, Any]]:
    """The table `export --format parquet` writes, and the read report it prints."""
    capsys.readouterr()
    assert main(["export", "--json", "--format", "parquet", "--out", str(out), *args]) == 0
    printed = json.loads(capsys.readouterr().out)
    return pq.read_table(out), printed["read"]


def line_by_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every block goes the slow route, as if none looked like plain records."""
    monkeypatch.setattr(reader, "plain_lines", lambda block, lines: False)


def both_routes(
    log_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
) -> tuple[Any, dict[str, Any]]:
    """The table and report of each route, checked equal; returns the fast route's."""
    fast, fast_report = export(log_dir, tmp_path / "fast.parquet", capsys, *args, str(log_dir))
    with monkeypatch.context() as patched:
        line_by_line(patched)
        slow, slow_report = export(log_dir, tmp_path / "slow.parquet", capsys, *args, str(log_dir))
    assert fast_report == slow_report
    assert fast.schema == slow.schema
    assert fast.equals(slow)
    return fast, fast_report


def check_rows(table: Any, records: list[dict[str, Any]]) -> None:
    """The table holds the records in order: the fields that are plain values, compared."""
    assert table.num_rows == len(records)
    rows = table.to_pylist()
    for name in ("seq", "event", "kind", "i", "ok", "note", "run_id"):
        if name not in table.column_names:
            continue
        text = table.schema.field(name).type == pa.string()  # a field of mixed types
        expected = [record.get(name) for record in records]
        if text:
            expected = [v if v is None or isinstance(v, str) else orjson.dumps(v).decode()
                        for v in expected]  # fmt: skip
        assert [row[name] for row in rows] == expected, name
    for row, record in zip(rows, records, strict=True):
        ts = record.get("ts")
        if isinstance(ts, str) and ts.endswith("+00:00"):
            assert row["ts"].isoformat(timespec="microseconds") == ts
        else:
            assert row["ts"] is None


@pytest.mark.parametrize("batch_bytes", [200, 3000, 4 << 20], ids=["tiny", "small", "default"])
def test_both_routes_give_the_table_and_report_of_the_line_loop(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    batch_bytes: int,
) -> None:
    monkeypatch.setattr(parquet, "BATCH_BYTES", batch_bytes)
    log_dir = tmp_path / "logs"
    write_log(log_dir, list(HOSTILE.values()))
    (log_dir / "events.jsonl.1").write_bytes(b'{"logrotate": 1}\n')  # not of the log: unread
    records, report = read_back(log_dir)
    assert any(name.endswith(".gz") for name in report["files"])
    assert report["bad_count"] > 10 and report["unread"]
    table, exported = both_routes(log_dir, tmp_path, capsys, monkeypatch)
    assert exported == report
    check_rows(table, records)
    assert table.column_names[:2] == ["ts", "run_id"]
    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("value").type == pa.string()  # 3, then "three": text


@pytest.mark.parametrize("name", list(HOSTILE))
def test_each_kind_of_line_is_read_as_the_line_loop_reads_it(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One hostile line among the library's own: whatever Arrow would make of it, the export
    keeps exactly what `read_events` keeps and reports what it reports."""
    log_dir = tmp_path / "logs"
    write_log(log_dir, [HOSTILE[name]], records=40)
    records, report = read_back(log_dir)
    table, exported = export(log_dir, tmp_path / "out.parquet", capsys, str(log_dir))
    assert exported == report
    check_rows(table, records)


def test_a_filter_reads_line_by_line_and_keeps_what_it_matches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parquet, "BATCH_BYTES", 1000)
    log_dir = tmp_path / "logs"
    write_log(log_dir, list(HOSTILE.values())[:8])
    accept = reader.make_filter(kind="sample")
    records, report = read_back(log_dir, accept)
    assert 0 < report["matched"] < report["records"]
    table, exported = both_routes(log_dir, tmp_path, capsys, monkeypatch, "--kind", "sample")
    assert exported == report
    check_rows(table, records)
    everything, _ = export(log_dir, tmp_path / "all.parquet", capsys, str(log_dir))
    assert everything.num_rows == report["records"] > table.num_rows


def test_an_empty_log_gives_an_empty_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / "events.jsonl").write_bytes(b"")
    (log_dir / "events.jsonl.000001").write_bytes(b"\n\n")
    table, report = both_routes(log_dir, tmp_path, capsys, monkeypatch)
    assert table.num_rows == 0 and report == read_back(log_dir)[1]
    assert report["lines"] == 2 and report["records"] == 0


def test_a_file_that_starts_with_a_byte_order_mark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Arrow skips a BOM at the start of its input; orjson does not: the line is torn, and
    its record recovered."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    body = b"".join(RECORD % (n, n) + b"\n" for n in range(50))
    (log_dir / "events.jsonl.000001").write_bytes(b"\xef\xbb\xbf" + body)
    (log_dir / "events.jsonl").write_bytes(body)
    records, report = read_back(log_dir)
    assert report["bad_count"] == 1 and len(records) == 100  # recovered after the BOM
    table, exported = both_routes(log_dir, tmp_path, capsys, monkeypatch)
    assert exported == report
    check_rows(table, records)


def test_types_that_change_from_block_to_block_become_text_in_both_routes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parquet, "BATCH_BYTES", 300)
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    values: list[Any] = [1, 2, 2.5, None, "three", {"k": [1]}, [1, "a"], True, 7]
    lines = [
        {"ts": f"2026-11-30T10:00:{n:02d}.000000+00:00", "x": value, "y": {"z": n}, "w": n}
        for n, value in enumerate(values)
    ]
    lines[4]["y"] = {"z": 1.5, "extra": "yes"}  # a struct gains a field, ints widen to floats
    (log_dir / "events.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    table, report = both_routes(log_dir, tmp_path, capsys, monkeypatch)
    assert report == read_back(log_dir)[1]
    got = table.to_pylist()
    assert [row["x"] for row in got] == ["1", "2", "2.5", None, "three", '{"k":[1]}',
                                         '[1,"a"]', "true", "7"]  # fmt: skip
    assert table.schema.field("y").type == pa.struct([("z", pa.float64()), ("extra", pa.string())])
    assert got[4]["y"] == {"z": 1.5, "extra": "yes"} and got[5]["y"] == {"z": 5.0, "extra": None}
    assert [row["w"] for row in got] == list(range(len(values)))


def test_a_list_holding_a_list_of_mixed_types_is_json_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list whose items have no common type because one of them is a list of mixed types
    (`[1, [1, "a"]]`): the field is JSON text in both routes, as a list of mixed types is."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    values: list[Any] = [[1, [1, "a"]], [[1, "a"], 2], [{"k": [1, "b"]}, 3]]
    lines = [{"ts": f"2026-11-30T10:00:{n:02d}.000000+00:00", "x": v} for n, v in enumerate(values)]
    (log_dir / "events.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    table, report = both_routes(log_dir, tmp_path, capsys, monkeypatch)
    assert report == read_back(log_dir)[1]
    assert [row["x"] for row in table.to_pylist()] == [orjson.dumps(v).decode() for v in values]


def test_lines_longer_than_the_limit_and_than_a_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line over `MAX_LINE_BYTES` is skipped as oversize, in the middle of a file and as its
    unfinished end; a line longer than a block but under the limit is a record."""
    monkeypatch.setattr(parquet, "BATCH_BYTES", 1 << 20)
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    huge = b'{"huge":"' + b"h" * _lines.MAX_LINE_BYTES + b'"}\n'
    long = b'{"long":"' + b"l" * (3 << 20) + b'"}\n'
    body = b"".join(RECORD % (n, n) + b"\n" for n in range(5000))
    (log_dir / "events.jsonl.000001").write_bytes(body + huge + long + body)
    (log_dir / "events.jsonl").write_bytes(body + huge[:-1])  # the last line, unfinished
    records, report = read_back(log_dir)
    assert report["oversize_count"] == 2 and len(records) == 15001
    table, exported = both_routes(log_dir, tmp_path, capsys, monkeypatch)
    assert exported == report
    assert table.column("long").null_count == 15000
    assert table.column("i").to_pylist() == [r.get("i") for r in records]


def test_a_truncated_gzip_is_reported_and_its_lines_before_the_break_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parquet, "BATCH_BYTES", 64 << 10)
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    body = b"".join(RECORD % (n % 60, n) + b"\n" for n in range(20000))
    packed = gzip.compress(body)
    (log_dir / "events.jsonl.000001.gz").write_bytes(packed[: len(packed) // 2])
    (log_dir / "events.jsonl").write_bytes(RECORD % (0, -1) + b"\n")
    records, report = read_back(log_dir)
    assert len(report["errors"]) == 1 and 1 < len(records) < 20000
    table, exported = both_routes(log_dir, tmp_path, capsys, monkeypatch)
    assert exported == report
    check_rows(table, records)


def test_duckdb_reads_what_the_blocks_gave(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    duckdb = pytest.importorskip("duckdb")
    monkeypatch.setattr(parquet, "BATCH_BYTES", 2000)
    log_dir = tmp_path / "logs"
    write_log(log_dir, [HOSTILE["torn and glued"], HOSTILE["nan"], HOSTILE["unicode"]])
    records, _ = read_back(log_dir)
    out = tmp_path / "out.parquet"
    export(log_dir, out, capsys, str(log_dir))
    rows = duckdb.sql(f"SELECT seq, gen_ai.usage.n, i, s FROM '{out}'").fetchall()
    assert rows == [
        (r.get("seq"), r.get("gen_ai", {}).get("usage", {}).get("n"), r.get("i"), r.get("s"))
        for r in records
    ]
    assert any(row[3] == "héllo ✓ 😀" for row in rows)


def test_progress_ticks_count_every_record_of_both_passes(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    write_log(log_dir, [HOSTILE["torn"], HOSTILE["foreign"]], records=50)
    records, _ = read_back(log_dir)
    ticks: list[int] = []
    opened: Callable[[], EventStream] = lambda: EventStream([log_dir])  # noqa: E731
    with (tmp_path / "out.parquet").open("wb") as sink:
        rows, _, _, _ = parquet.write_parquet(opened, sink, str(tmp_path), ticks.append)
    assert rows == len(records) and sum(ticks) == 2 * rows


def test_blocks_give_what_parse_returns_and_the_same_report(tmp_path: Path) -> None:
    """The reader's side: plain blocks go to `parse`, the rest come line by line, and the
    report is the line loop's, whatever `parse` refuses."""
    log_dir = tmp_path / "logs"
    write_log(log_dir, list(HOSTILE.values()))
    records, report = read_back(log_dir)

    def parse(data: bytes, lines: int) -> tuple[Any, ...] | None:  # refuses what orjson does
        try:
            parsed = tuple(orjson.loads(line) for line in data.split(b"\n")[:-1])
        except orjson.JSONDecodeError:
            return None
        return parsed if all(type(r) is dict for r in parsed) else None

    for size in (1, 150, 4096, 1 << 20):
        stream = EventStream([log_dir])
        items = list(stream.blocks(parse, size))
        assert [r for item in items for r in item] == records
        assert stream.report.as_dict() == report
        assert any(isinstance(item, tuple) for item in items)
        assert any(isinstance(item, list) and item for item in items)
    with pytest.raises(RuntimeError):
        iter(stream)


def test_a_line_is_plain_only_if_orjson_could_read_it_alone() -> None:
    plain = RECORD % (1, 1) + b"\n"
    assert _lines.plain_lines(plain * 3, 3)
    assert not _lines.plain_lines(b"\xef\xbb\xbf" + plain * 2, 2)
    for name in ("blank", "spaces", "crlf", "trailing space", "bom", "array", "string",
                 "pretty", "bad utf-8", "deep"):  # fmt: skip
        line = HOSTILE[name] + b"\n"
        block = plain + line + plain
        assert not _lines.plain_lines(block, block.count(b"\n")), name
    deep_enough = b'{"deep":' + b"[" * 1000 + b"]" * 1000 + b"}\n"
    assert _lines.plain_lines(plain + deep_enough, 2)
    wide = b'{"a":"' + b"[" * 5000 + b'"}\n'  # brackets inside a string also count
    assert not _lines.plain_lines(plain + wide, 2)


# -- keys that are data, and integers beyond int64 ---------------------------------------------


def write_events(log_dir: Path, *events: dict[str, Any]) -> list[dict[str, Any]]:
    ll.configure(log_dir, capture_stdlib=False)
    log = ll.get_logger("agent")
    for fields in events:
        log.info("event", **fields)
    ll.reset()
    return read_back(log_dir)[0]


def leaf_columns(kind: Any) -> int:
    """Columns Parquet stores for a type: one per leaf."""
    if pa.types.is_struct(kind):
        return sum(leaf_columns(kind.field(i).type) for i in range(kind.num_fields))
    if pa.types.is_list(kind):
        return leaf_columns(kind.value_type)
    return 1


@pytest.mark.parametrize("batch_bytes", [3000, 4 << 20], ids=["small", "default"])
def test_dicts_keyed_by_ids_are_json_text_and_the_schema_stays_small(
    batch_bytes: int,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    duckdb = pytest.importorskip("duckdb")
    monkeypatch.setattr(parquet, "BATCH_BYTES", batch_bytes)
    events = [
        {
            "i": i,
            "scores": {f"doc-{i}-{j}": j / 4 for j in range(2)},
            "meta": {"model": "m", "by_doc": {f"d{i}": i}},
            "hits": [{f"h{i}": True}],
            "counts": {"ok": i, "failed": 0},
        }
        for i in range(1_200)
    ]
    records = write_events(tmp_path / "logs", *events)
    table, _ = both_routes(tmp_path / "logs", tmp_path, capsys, monkeypatch)
    schema = table.schema
    assert schema.field("scores").type == pa.string()
    assert schema.field("meta").type == pa.struct([("model", pa.string()), ("by_doc", pa.string())])
    assert schema.field("hits").type == pa.list_(pa.string())
    assert schema.field("counts").type == pa.struct([("ok", pa.int64()), ("failed", pa.int64())])
    assert sum(leaf_columns(field.type) for field in schema) < 30
    rows = table.to_pylist()
    assert [json.loads(row["scores"]) for row in rows] == [r["scores"] for r in records]
    assert [json.loads(row["meta"]["by_doc"]) for row in rows] == [
        r["meta"]["by_doc"] for r in records
    ]
    assert [[json.loads(h) for h in row["hits"]] for row in rows] == [r["hits"] for r in records]
    out = tmp_path / "fast.parquet"
    got = duckdb.sql(f"SELECT i, scores::JSON, counts.ok FROM '{out}' ORDER BY seq").fetchall()
    assert [(i, json.loads(s), ok) for i, s, ok in got] == [
        (r["i"], r["scores"], r["counts"]["ok"]) for r in records
    ]
    capsys.readouterr()
    main(["export", "--json", "--format", "parquet", "--out", str(out), str(tmp_path / "logs")])
    assert json.loads(capsys.readouterr().out)["kept_whole"] == ["hits.[]", "meta.by_doc", "scores"]


@pytest.mark.parametrize("batch_bytes", [3000, 4 << 20], ids=["small", "default"])
def test_integers_up_to_2_64_stay_exact(
    batch_bytes: int,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    duckdb = pytest.importorskip("duckdb")
    monkeypatch.setattr(parquet, "BATCH_BYTES", batch_bytes)
    top = 2**64 - 1
    events = [
        {"u": i, "d": -i, "f": i, "n": {"u": i}, "l": [i]} for i in range(100)
    ] + [  # the big ones come in a later block
        {"u": top, "d": 2**63 + 7, "f": 2**63 + 1, "n": {"u": top - 1}, "l": [top]},
        {"f": 0.5},
    ]
    records = write_events(tmp_path / "logs", *events)
    assert records[-2]["u"] == top  # the writer keeps it a number
    table, _ = both_routes(tmp_path / "logs", tmp_path, capsys, monkeypatch)
    schema = table.schema
    assert schema.field("u").type == pa.uint64()
    assert schema.field("d").type == pa.decimal128(20, 0)  # beside negative integers
    assert schema.field("f").type == pa.float64()  # beside a float
    assert schema.field("n").type == pa.struct([("u", pa.uint64())])
    assert schema.field("l").type == pa.list_(pa.uint64())
    rows = table.to_pylist()
    for name in ("u", "d", "n", "l"):
        assert [row[name] for row in rows] == [r.get(name) for r in records], name
    out = tmp_path / "fast.parquet"
    got = duckdb.sql(f"SELECT u, d, n.u, l FROM '{out}' ORDER BY seq").fetchall()
    assert got == [(r.get("u"), r.get("d"), r.get("n", {}).get("u"), r.get("l")) for r in records]


def test_top_level_fields_beyond_the_cap_are_one_json_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parquet, "BATCH_BYTES", 20_000)
    events = [{f"doc_{i}_{j}": i * 10 + j for j in range(5)} for i in range(300)]
    records = write_events(tmp_path / "logs", *events)
    table, _ = both_routes(tmp_path / "logs", tmp_path, capsys, monkeypatch)
    assert table.num_columns == 1_001 and table.column_names[-1] == "_other_fields"
    for record, row in zip(records, table.to_pylist(), strict=True):
        rest = json.loads(row["_other_fields"]) if row["_other_fields"] else {}
        for name, value in record.items():
            if name.startswith("doc_"):
                assert row.get(name) == value or rest[name] == value
    capsys.readouterr()
    out = str(tmp_path / "again.parquet")
    main(["export", "--json", "--format", "parquet", "--out", out, str(tmp_path / "logs")])
    assert json.loads(capsys.readouterr().out)["rest_column"] == "_other_fields"
