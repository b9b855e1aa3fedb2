"""Headers hold API keys: `ship` says so when they would cross a network unencrypted (plain
http to a host other than this machine's loopback), naming the headers, never their values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops_logging.cli.ship import send

from .conftest import cli

SECRET = "sk-live-5e0c9a1b7d3f"


@pytest.fixture
def log_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    def refuse(self: send.Sender, body: bytes, stop: object = None) -> bytes:
        raise send.Fatal("HTTP 401 from the test")  # what the warning is about comes first

    monkeypatch.setattr(send.Sender, "send", refuse)
    logs = tmp_path / "logs"
    logs.mkdir()
    start = {"ts": "2026-01-01T00:00:00Z", "kind": "run_start", "run_id": "r1", "name": "x"}
    end = {**start, "kind": "run_ok", "duration_s": 1.0}
    (logs / "events.jsonl").write_text(json.dumps(start) + "\n" + json.dumps(end) + "\n")
    return logs


@pytest.mark.parametrize(
    "url",
    [
        "http://collector.example:4318",
        "http://10.0.0.7:4318/v1/traces",
        "HTTP://[2001:db8::1]:4318",
    ],
)
def test_headers_sent_in_clear_to_another_host_are_named_in_a_warning(
    log_dir: Path, url: str
) -> None:
    done = cli("ship", log_dir, "--to", url, "--once", "--header", f"x-api-key={SECRET}",
               "--header", "authorization=Bearer t", status=1)  # fmt: skip
    warning = [line for line in done.stderr.splitlines() if "unencrypted" in line]
    assert len(warning) == 1, done.stderr
    assert "x-api-key" in warning[0] and "authorization" in warning[0]
    assert "https://" in warning[0]
    assert SECRET not in done.stderr + done.stdout


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:4318", "http://localhost:6006", "http://[::1]:4318", "http://127.5.0.1:1",
     "http://[::ffff:127.0.0.1]:4318", "http://localhost.:4318",
     "https://collector.example:4318"],
)  # fmt: skip
def test_no_warning_over_loopback_or_tls(log_dir: Path, url: str) -> None:
    done = cli("ship", log_dir, "--to", url, "--once", "--header", f"x-api-key={SECRET}", status=1)
    assert "unencrypted" not in done.stderr
    assert "HTTP 401 from the test" in done.stderr


def test_no_warning_without_headers(log_dir: Path) -> None:
    done = cli("ship", log_dir, "--to", "http://collector.example:4318", "--once", status=1)
    assert "unencrypted" not in done.stderr


def test_a_bad_address_with_headers_is_a_usage_error_not_a_traceback(log_dir: Path) -> None:
    done = cli("ship", log_dir, "--to", "http://collector.example:99999", "--once",
               "--header", f"x-api-key={SECRET}", status=2)  # fmt: skip
    assert "Port out of range" in done.stderr and "Traceback" not in done.stderr
    assert SECRET not in done.stderr + done.stdout
