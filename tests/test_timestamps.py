"""Times the log may hold in any ISO-8601 spelling (`Z`, fractions of any length) are read
alike on every supported Python, by the report, the OTLP export and Parquet."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from llmops_logging.cli.export import _otlp_values
from llmops_logging.cli.report import data
from llmops_logging.reader import parse_ts, ts_parts

UTC = timezone.utc
SPELLINGS = [
    ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), 0),
    ("2026-01-02T03:04:05.1234567+00:00", datetime(2026, 1, 2, 3, 4, 5, 123456, UTC), 700),
    ("2026-01-02T03:04:05.123456789Z", datetime(2026, 1, 2, 3, 4, 5, 123456, UTC), 789),
    ("2026-01-02T03:04:05.12Z", datetime(2026, 1, 2, 3, 4, 5, 120000, UTC), 0),
    ("2026-01-02T05:04:05.5+02:00", datetime(2026, 1, 2, 3, 4, 5, 500000, UTC), 0),
]


@pytest.mark.parametrize(("text", "moment", "extra"), SPELLINGS)
def test_every_spelling_of_a_time_is_read_to_the_nanosecond(
    text: str, moment: datetime, extra: int
) -> None:
    parts = ts_parts(text)
    assert parts is not None and parts[0] == moment and parts[1] == extra
    assert parse_ts(text) == moment
    assert data.parse_time(text) == moment
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    micros = (moment - epoch) // timedelta(microseconds=1)
    assert _otlp_values.nanos(text) == micros * 1000 + extra


@pytest.mark.parametrize(("text", "moment", "extra"), SPELLINGS)
def test_parquet_keeps_the_time_of_every_spelling(text: str, moment: datetime, extra: int) -> None:
    pytest.importorskip("pyarrow")
    from llmops_logging.cli.export import parquet

    assert parquet._utc(text) == moment


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01T00:00:00Z"])
def test_what_is_not_a_time_is_none(text: str) -> None:
    assert ts_parts(text) is None and data.parse_time(text) is None
    assert _otlp_values.nanos(text) is None
