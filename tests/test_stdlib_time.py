"""The `ts` of a stdlib record is when the `LogRecord` was created, not when it was formatted.

Records can be formatted long after they were made (a `QueueHandler` whose listener runs
later, a record rebuilt with `logging.makeLogRecord` from another process's dict), and the
file must still say when the event happened.
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
import time
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import llmops_logging as ll

from .conftest import assert_contract, read_records

# Instants a year and more in the past. The first ones are multiples of 1/64 s, which a float
# holds exactly, so their microsecond is not open to rounding; the rest are on the
# microsecond grid, where a float can only come within a fraction of a microsecond.
EXACT = [1_700_000_000 + 7 / 64, 1_732_000_123 + 63 / 64, 1_600_000_000.5]
GRID = [1_700_000_000.123456, 1_733_001_002.999999, 1_650_000_000.000001, 1_711_111_111.654321]


def _micros(ts: str) -> int:
    """Microseconds since the epoch of a contract `ts`, parsed with the stdlib."""
    instant = datetime.fromisoformat(ts)
    assert instant.utcoffset() is not None and instant.utcoffset().total_seconds() == 0
    delta = instant - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _replay(log_dir: Path, instants: list[float]) -> list[dict[str, Any]]:
    """Records rebuilt with `makeLogRecord` at the given creation times, read back."""
    ll.configure(log_dir)
    logger = logging.getLogger("replayed")
    for n, created in enumerate(instants):
        record = logging.makeLogRecord(
            {"name": "replayed", "levelno": logging.INFO, "levelname": "INFO",
             "msg": "from the past %d", "args": (n,), "created": created,
             "msecs": (created % 1) * 1000}
        )  # fmt: skip
        logger.handle(record)
    records = read_records(log_dir)
    assert [r["event"] for r in records] == [f"from the past {n}" for n in range(len(instants))]
    for record in records:
        assert_contract(record)
    return records


def test_ts_of_a_rebuilt_record_is_its_created_time(tmp_path: Path) -> None:
    records = _replay(tmp_path, EXACT + GRID)
    for record, created in zip(records, EXACT + GRID, strict=True):
        exact_micros = Fraction(created) * 1_000_000  # the float's own value, no rounding
        assert abs(_micros(record["ts"]) - exact_micros) <= Fraction(1, 2), (record["ts"], created)
    assert records[2]["ts"] == "2020-09-13T12:26:40.500000+00:00"


def test_ts_of_a_rebuilt_record_keeps_the_exact_microsecond(tmp_path: Path) -> None:
    records = _replay(tmp_path, EXACT + GRID)
    for record, created in zip(records, EXACT + GRID, strict=True):
        exact_micros = Fraction(created) * 1_000_000
        if created in EXACT:
            assert _micros(record["ts"]) == exact_micros, (record["ts"], created)
        else:  # the nearest microsecond to the float, as datetime.fromtimestamp gives it
            assert abs(_micros(record["ts"]) - exact_micros) <= Fraction(1, 2), (record, created)
    assert records[0]["ts"] == "2023-11-14T22:13:20.109375+00:00"


def test_ts_of_a_queued_record_is_its_creation_not_the_listeners_time(tmp_path: Path) -> None:
    """Records go through a QueueHandler; the listener, and so the formatting, starts only
    after the clock has moved on by a clear margin."""
    handler = ll.configure(tmp_path, capture_stdlib=False)
    created: list[float] = []

    def remember(record: logging.LogRecord) -> bool:
        created.append(record.created)
        return True

    pending: queue.Queue[logging.LogRecord] = queue.Queue()
    logger = logging.getLogger("queued")
    logger.propagate = False
    queue_handler = logging.handlers.QueueHandler(pending)
    logger.addHandler(queue_handler)
    logger.addFilter(remember)
    logger.setLevel(logging.INFO)
    try:
        for i in range(5):
            logger.info("queued %d", i)
        deadline = time.monotonic() + 60
        while time.time() < created[-1] + 0.2 and time.monotonic() < deadline:
            time.sleep(0.05)
        listener = logging.handlers.QueueListener(pending, handler)
        listener.start()
        listener.stop()
        formatted_after = time.time()
    finally:
        logger.removeHandler(queue_handler)
        logger.removeFilter(remember)
        logger.propagate = True
    records = read_records(tmp_path)
    assert [r["event"] for r in records] == [f"queued {i}" for i in range(5)]
    assert formatted_after >= created[-1] + 0.2  # the formatting did happen later
    for record, made in zip(records, created, strict=True):
        assert_contract(record)
        # Within 2 µs, as above: today's conversion can lose one.
        assert abs(_micros(record["ts"]) - Fraction(made) * 1_000_000) < 2, (record, made)
