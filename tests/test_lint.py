"""The project's own checks as tests, so the README's one test command runs them too.

The linters run as modules of the interpreter that runs the tests (`sys.executable -m`), so
they run whether or not the environment's `bin` is on PATH; a missing linter is a failure.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "llmops_logging", "tests", "benchmarks", "examples"],
        ["mypy"],
    ],
    ids=["ruff", "ruff-format", "mypy"],
)
def test_static_checks_pass(command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
