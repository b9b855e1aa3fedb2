"""The tests run llmops-logs in-process (`conftest.cli`); here each kind of outcome is run both
ways, and the in-process run must print exactly what a fresh interpreter prints and exit with
the same status, and leave the test's process as it found it."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import llmops_logging as ll

from ..conftest import CLI_MAIN, ENV, ROOT, build_rotated_log, cli


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log_dir = tmp_path_factory.mktemp("rotated") / "logs"
    build_rotated_log(log_dir)
    ll.reset()
    return log_dir


OUTCOMES = {
    "the list of commands": [],
    "a command's help (argparse exits)": ["runs", "--help"],
    "an unknown option (argparse exits 2)": ["runs", "--bogus"],
    "a table on a pipe": ["runs", "{log}"],
    "records in colour": ["tail", "-n", "5", "--color", "always", "{log}"],
    "JSON, and notes on stderr": ["stats", "--json", "{log}"],
    "a failed check (status 1)": ["validate", "{log}"],
    "a usage error (status 2)": ["tail", "--since", "soon", "{log}"],
    "a missing path": ["runs", "{log}/nope"],
}


@pytest.mark.parametrize("args", OUTCOMES.values(), ids=OUTCOMES.keys())
def test_the_same_output_and_status_as_a_fresh_interpreter(args: list[str], rotated: Path) -> None:
    argv = [arg.format(log=rotated) for arg in args]
    fresh = subprocess.run(
        [sys.executable, "-c", CLI_MAIN, *argv],
        capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=300,
    )  # fmt: skip
    here = cli(*argv, status=None)
    assert (here.returncode, here.stdout, here.stderr) == (
        fresh.returncode, fresh.stdout, fresh.stderr,
    )  # fmt: skip
    assert fresh.stdout or fresh.stderr


def test_the_environment_and_directory_are_the_given_ones_and_put_back(
    rotated: Path, tmp_path: Path
) -> None:
    before = dict(os.environ), os.getcwd(), sys.stdout, sys.stderr, list(warnings.filters)
    env = {**ENV, "LLMOPS_LOG_DIR": str(rotated)}
    fresh = subprocess.run(
        [sys.executable, "-c", CLI_MAIN, "runs", "--json"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )  # fmt: skip
    here = cli("runs", "--json", cwd=tmp_path, env=env)
    assert here.stdout == fresh.stdout and '"runs"' in here.stdout
    nowhere = cli("runs", cwd=tmp_path, status=2)  # no LLMOPS_LOG_DIR in ENV: data/raw_events
    assert "no such file or directory: data/raw_events" in nowhere.stderr
    after = dict(os.environ), os.getcwd(), sys.stdout, sys.stderr, list(warnings.filters)
    assert after == before
