"""Redaction takes time linear in the size of the record, whatever the text holds.

Each hostile text (many key-value separators, unclosed quotes, URL prefixes, token prefixes)
is redacted at two sizes eight times apart: linear work grows about eight times, quadratic
work sixty-four. Time is the process's CPU time (other processes on the machine do not count),
the best of a few rounds, and the bound is generous: 24 times.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest

import llmops_logging as ll
from llmops_logging.redaction import MARKER, Redactor

from .conftest import read_records

HOSTILE = [
    "password=",
    "token:",
    "password=x ",
    "token: x ",
    "cookie: ",
    "cookie:'x ",
    'pwd="x ',
    "api_key=;",
    "Authorization: Bearer ",
    "://a:",
    "://:p@",
    "eyJ",
    "-----BEGIN RSA PRIVATE KEY-----",
    "('set-cookie', '",
    "token%3D",
    "AKIAABCDEFGHIJKLMNOP ",
]


def cpu_seconds(redactor: Redactor, text: str) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        redactor(None, "info", {"event": "x", "value": text})
        best = min(best, time.process_time() - started)
    return max(best, 1e-4)  # the clock's resolution


@pytest.mark.parametrize("unit", HOSTILE)
def test_hostile_text_costs_linear_time(unit: str) -> None:
    small_size, factor = 8 * 1024, 8
    small = (unit * (small_size // len(unit) + 1))[:small_size]
    large = (unit * (small_size * factor // len(unit) + 1))[: small_size * factor]
    redactor = Redactor()
    ratio = cpu_seconds(redactor, large) / cpu_seconds(redactor, small)
    assert ratio < 3 * factor, f"{unit!r}: {factor}x the text took {ratio:.0f}x the time"


def test_a_string_longer_than_the_limit_is_cut_without_cutting_a_secret_in_half(
    tmp_path: Path,
) -> None:
    limit = Redactor().max_text
    key = "sk-proj-" + secrets.token_hex(24)
    # The key starts just before the cut: what remains of it must not be written.
    text = "a" * (limit - 12) + " " + key + " tail" * 100_000
    ll.configure(tmp_path, max_record_bytes=4 * limit)
    ll.get_logger("app").info("long", text=text, short="kept")
    ll.reset()
    data = (tmp_path / "events.jsonl").read_bytes()
    assert key[3:].encode() not in data and key[-16:].encode() not in data
    assert key[3:11].encode() not in data  # not even the part before the cut
    (record,) = read_records(tmp_path)
    assert record["short"] == "kept" and record["truncated"] is True
    assert record["text"].startswith("a" * 100) and record["text"].endswith("chars]")
    assert len(record["text"]) < limit + 100
    assert record["redacted"] == ["text"] and MARKER[:5] in record["text"]
