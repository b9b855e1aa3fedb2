"""What the tests share: the fixture that leaves logging unconfigured around every test, the fake
LLM API,
and the helpers that read a log back without the library's reader, build a log with every kind
of line, run the CLI as a fresh interpreter would and compute sampling decisions independently."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib
import importlib.util
import io
import json
import locale
import logging
import os
import re
import subprocess
import sys
import tempfile
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import pytest

import llmops_logging as ll

from ._order import slowest_first

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM: its bundled prices,
# not a download of them when it is imported

if TYPE_CHECKING:
    from fake_llm import FakeLLM

CONTRACT_FIELDS = {
    "ts": str,
    "run_id": str,
    "event": str,
    "kind": str,
    "level": str,
    "logger": str,
    "event_id": str,
    "seq": int,
    "pid": int,
}
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
TORN = b'{"ts":"2026-11-26T13:00:00.000000+00:00","run_id":"tor'
FOREIGN = {"note": "from another writer", "value": 3}
INVALID = {"kind": "log", "event": "clock says yesterday", "ts": "yesterday"}


FORKS_BESIDE_THREADS = pytest.mark.filterwarnings("ignore:This process:DeprecationWarning")
"""For tests that fork and count the records of the log: from Python 3.12 a fork in a process
that has threads warns (threads that other tests' libraries leave behind are enough), and the
library logs that warning like any other, as one more record."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items[:] = slowest_first(items, [item.nodeid for item in items])


@pytest.fixture(autouse=True)
def _unconfigured() -> Iterator[None]:
    ll.reset()
    yield
    ll.reset()


EXAMPLES = Path(__file__).parents[1] / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))  # fake_llm: the stand-in API the examples use too


@pytest.fixture
def server() -> Iterator[FakeLLM]:
    """The fake OpenAI and Anthropic API (examples/fake_llm.py) on a free port, one per test:
    the replies a test plans and the requests it reads are its own (a start takes about a
    millisecond)."""
    from fake_llm import FakeLLM

    with FakeLLM.start() as fake:
        yield fake


def log_files(log_dir: Path, live: str = "events.jsonl") -> list[Path]:
    """Files of the log in write order, by the naming contract, without the library's reader."""
    rotated = []
    for path in log_dir.glob(f"{live}.*"):
        match = re.fullmatch(re.escape(live) + r"\.(\d+)(\.gz)?", path.name)
        assert match, f"unexpected file under the log's glob: {path.name}"
        rotated.append((int(match.group(1)), path))
    files = [p for _, p in sorted(rotated)]
    if (log_dir / live).exists():
        files.append(log_dir / live)
    return files


def raw_lines(path: Path) -> list[bytes]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as stream:
        data = stream.read()
    assert not data or data.endswith(b"\n"), f"{path} ends in a partial line"
    return data.splitlines()


def read_records(log_dir: Path, live: str = "events.jsonl") -> list[dict[str, Any]]:
    """Every line of every file of the log, parsed with the stdlib (strict JSON, no NaN)."""
    records = []
    for path in log_files(log_dir, live):
        for line in raw_lines(path):
            records.append(json.loads(line, parse_constant=_reject_constant))
    return records


def _reject_constant(token: str) -> Any:
    raise ValueError(f"non-strict JSON token {token}")


def assert_contract(record: dict[str, Any]) -> None:
    for field, kind in CONTRACT_FIELDS.items():
        assert isinstance(record.get(field), kind), (field, record)
    assert TS_RE.match(record["ts"]), record["ts"]
    assert record["level"] in {"debug", "info", "warning", "error", "critical"}


# -- an independent view of a log, and a log with every kind of line ---------------------


def raw_files(log_dir: Path, live: str = "events.jsonl") -> list[Path]:
    """The log's files by the naming contract: numbered oldest first (.gz over plain), live.

    Numbers have six digits, or more without a leading zero (not logrotate's `events.jsonl.2`).
    """
    numbered: dict[int, Path] = {}
    for path in log_dir.iterdir():
        match = re.fullmatch(re.escape(live) + r"\.(\d{6}|[1-9]\d{6,})(\.gz)?", path.name)
        if match and (match.group(2) or int(match.group(1)) not in numbered):
            numbered[int(match.group(1))] = path
    files = [numbered[n] for n in sorted(numbered)]
    return files + ([log_dir / live] if (log_dir / live).exists() else [])


def raw_where(files: list[Path], line: bytes) -> str:
    """`file:line` of the first line equal to `line` (without its newline)."""
    for path in files:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        lines = data.split(b"\n")
        if line in lines:
            return f"{path}:{lines.index(line) + 1}"
    raise AssertionError(f"{line!r} is in none of the files")


def raw_scan(files: list[Path]) -> tuple[list[dict[str, Any]], list[str], int]:
    """(records, "file:line" of lines that are not JSON objects, line count), with stdlib json."""
    records: list[dict[str, Any]] = []
    bad: list[str] = []
    count = 0
    for path in files:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for number, line in enumerate(lines, 1):
            count += 1
            try:
                value = json.loads(line)
            except ValueError:
                value = None
            if isinstance(value, dict):
                records.append(value)
            else:
                bad.append(f"{path}:{number}")
    return records, bad, count


def build_rotated_log(log_dir: Path) -> None:
    """Three runs with steps (the last fails), a stdlib record, a torn line, a foreign record
    and a record that breaks the contract, across many rotated files, most of them gzipped."""
    settings: dict[str, Any] = {"max_bytes": 1500, "backup_count": 100, "compress": True}
    ll.configure(log_dir, **settings)
    log = ll.get_logger("agent")
    for attempt in range(3):
        try:
            with ll.run("agent", attempt=attempt) as run:
                for i in range(6):
                    with ll.step("call_llm", i=i):
                        log.info("sample", kind="sample", i=i, ok=i % 3 != 0)
                if attempt == 2:
                    raise RuntimeError("model timeout")
                run.set(ok_rate=0.5)
        except RuntimeError:
            pass
    logging.getLogger("httpx").warning("retrying %s", "POST")
    ll.reset()
    with open(log_dir / "events.jsonl", "ab") as live:
        live.write(TORN)  # a writer killed mid-line
    ll.configure(log_dir, **settings)  # the next writer starts on a new line
    log.info("after torn")
    with open(log_dir / "events.jsonl", "ab") as live:
        live.write(json.dumps(FOREIGN).encode() + b"\n")
        live.write(json.dumps(INVALID).encode() + b"\n")
    log.warning("last one", detail="x")
    ll.reset()


# -- the command line, run in this process as a fresh interpreter would run it ----------------

ROOT = Path(__file__).parents[1]
ENV = {k: v for k, v in os.environ.items() if k not in ("LLMOPS_LOG_DIR", "NO_COLOR")}
CLI_MAIN = "import sys; from llmops_logging.cli import main; sys.exit(main(sys.argv[1:]))"
"""The command line in a fresh interpreter (`python -c CLI_MAIN ARGS`), for the tests that need
a process of its own: a pseudo-terminal, a signal, a closed pipe, an import that fails."""
_PIPES = {
    "stdout": (sys.__stdout__.encoding, sys.__stdout__.errors),
    "stderr": (sys.__stderr__.encoding, sys.__stderr__.errors),
}
"""The encoding and error handler an interpreter started here gives stdout and stderr."""
_WARNINGS = list(warnings.filters)
"""The warning filters of an interpreter started here, before pytest adds its own per test."""


def cli(*args: Any, cwd: Path | None = None, env: dict[str, str] | None = None,
        status: int | None = 0) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run `llmops-logs ARGS` in this process, as a fresh interpreter with stdout and stderr on
    pipes runs it, and check its exit status unless `status=None`.

    The environment is exactly `env` (else `ENV`) and the working directory `cwd` (else the
    checkout), both put back afterwards; stdout and stderr are files that are not terminals,
    with the encoding and error handler a new interpreter would give them, and `sys.__stdout__`
    is stdout, so the terminal size is the default one, as on a pipe; warnings are shown on
    stderr as an interpreter shows them. The exit status is what the interpreter would exit
    with: `main`'s result, `SystemExit`'s code (argparse's `--help` and usage errors), or 1 with
    the traceback on stderr for an uncaught exception."""
    argv = [str(arg) for arg in args]
    captured: dict[str, str] = {}
    with _as_a_process(cwd or ROOT, env or ENV, captured):
        returncode = _exit_status(argv)
    done = subprocess.CompletedProcess(
        ["llmops-logs", *argv], returncode, captured["stdout"], captured["stderr"]
    )
    if status is not None:
        assert done.returncode == status, (args, done.stdout, done.stderr)
    return done


def _exit_status(argv: list[str]) -> int:
    from llmops_logging.cli import main

    try:
        return main(argv)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except Exception:
        traceback.print_exc()
        return 1


@contextlib.contextmanager
def _as_a_process(cwd: Path, env: dict[str, str], captured: dict[str, str]) -> Iterator[None]:
    """stdout and stderr on files, and the environment, working directory and warning filters
    of a new process, for the block; then `captured` gets what each stream received, decoded
    as `subprocess.run(..., text=True)` decodes a pipe. Everything is put back afterwards."""
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_streams = sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__
    with contextlib.ExitStack() as files:
        streams = {
            name: io.TextIOWrapper(
                files.enter_context(tempfile.TemporaryFile()), encoding=encoding, errors=errors
            )
            for name, (encoding, errors) in _PIPES.items()
        }
        try:
            with warnings.catch_warnings():
                warnings.filters[:] = _WARNINGS
                warnings.showwarning = _show_warning
                os.environ.clear()
                os.environ.update(env)
                os.chdir(cwd)
                sys.stdout = sys.__stdout__ = streams["stdout"]
                sys.stderr = sys.__stderr__ = streams["stderr"]
                yield
        finally:
            sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__ = saved_streams
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
            for name, stream in streams.items():
                stream.flush()
                stream.buffer.seek(0)
                text = stream.buffer.read().decode(locale.getpreferredencoding(False))
                captured[name] = text.replace("\r\n", "\n").replace("\r", "\n")


def _show_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int,
    file: TextIO | None = None, line: str | None = None,
) -> None:  # fmt: skip
    """As the interpreter shows a warning: on the stderr of the moment."""
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def table(stdout: str) -> list[list[str]]:
    """The rows of a plain-text table (header first), split on runs of 2+ spaces; the rule
    under the header is left out."""
    lines = [line for line in stdout.splitlines() if line.strip(" ─")]
    return [re.split(r"\s{2,}", line.strip()) for line in lines[:-1]]  # last: the footer


# -- sampling decisions, computed apart from the library ---------------------------------------


def hash_unit(*parts: object) -> float:
    """The number in [0, 1) that decides sampling, computed here so that tests do not check
    the library's hash against itself: BLAKE2b (8-byte digest) of the parts joined by NUL,
    read as a big-endian integer, over 2**64. A record is kept when it is below the rate."""
    text = "\0".join(str(part) for part in parts).encode("utf-8")
    number = int(hashlib.blake2b(text, digest_size=8).hexdigest(), 16)
    return number / 18_446_744_073_709_551_616


# -- optional frameworks -----------------------------------------------------------------------


def framework(module: str, extra: str) -> Any:
    """Import a framework that only its tests need; without it, skip with the extra to install,
    except under CI (env `CI` set), where a missing framework fails the test, unless CI names
    its extra in `LLMOPS_CI_WITHOUT` (extras it does not install on that Python)."""
    needs_framework(module, extra)
    return importlib.import_module(module)


def needs_framework(module: str, extra: str) -> None:
    """`framework`'s skip or failure, decided at collection without importing the module: for
    a framework that takes seconds to import, which a fixture of its tests then imports, so
    that not every pytest-xdist worker (each collects every test module) imports it."""
    required = extra not in os.environ.get("LLMOPS_CI_WITHOUT", "").split(",")
    try:
        spec = importlib.util.find_spec(module)
    except ImportError:
        spec = None
    if os.environ.get("CI") and required:
        if spec is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)
        return
    here = [Path(p).resolve() for p in (spec.submodule_search_locations or [])] if spec else []
    if spec is None or (here and all(p.is_relative_to(ROOT) for p in here)):
        # missing, or only a folder of that name in this project (examples/agents/)
        pytest.skip(f"{module} is missing: pip install -e '.[{extra}]'", allow_module_level=True)
