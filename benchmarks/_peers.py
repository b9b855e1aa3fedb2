"""Shared pieces of the benchmark harnesses: the contenders, multi-process runs, log audits.

A contender is set up in a fresh directory and returns a `Session` whose `run(n, proc)` loop
logs the sample workload through that library's own fast path (no wrapper call per event, so
every contender pays only for itself). The audit reads every log file back raw and checks each
`(proc, i)` of a multi-process run is there exactly once and every line is whole JSON.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import platform
import queue
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from types import SimpleNamespace
from typing import Any

import orjson

TEN_MIB = 10 * 2**20
LIVE_NAME = "events.jsonl"
WORKER_TIMEOUT = 900.0
"""Seconds a multi-process run waits for a worker before counting it as failed."""
PACKAGES = (
    "llmops_logging",
    "structlog",
    "orjson",
    "python-json-logger",
    "concurrent-log-handler",
    "portalocker",
    "loguru",
    "picologging",
)


# -- machine -------------------------------------------------------------------------------


def machine_lines() -> list[str]:
    """CPU model, core counts, Python and package versions, for the head of a report."""
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (missing)")
    return [
        f"cpu: {model}; cores: {os.cpu_count()} (usable {usable}); "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"python: {platform.python_implementation()} {platform.python_version()} "
        f"on {platform.system()} {platform.release()}",
        "packages: " + ", ".join(versions),
        *project_lines(),
    ]


def project_lines() -> list[str]:
    """Which llmops_logging source was measured: git commit, modified files, file digests."""
    import hashlib
    import subprocess

    import llmops_logging

    package = os.path.dirname(os.path.abspath(llmops_logging.__file__))
    root = os.path.dirname(package)

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", root, *args], capture_output=True, text=True)
        return done.stdout if done.returncode == 0 else "?"

    status = git("status", "--porcelain", "--", "llmops_logging").splitlines()
    dirty = [line.split(maxsplit=1)[-1] for line in status if line.strip()]
    digests = []
    for name in ("handlers.py", "processors.py", "redaction.py", "_logger.py"):
        with open(os.path.join(package, name), "rb") as f:
            digests.append(f"{name}={hashlib.sha256(f.read()).hexdigest()[:10]}")
    return [
        f"llmops_logging: {package} at git {git('rev-parse', '--short', 'HEAD').strip()}; "
        f"uncommitted: {', '.join(dirty) or 'none'}",
        "llmops_logging sha256: " + ", ".join(digests),
    ]


def compile_project() -> None:
    """The package's modules compiled to bytecode beside their source, as installing a
    package leaves them, before any fresh process is timed. A checkout installed in place
    (`pip install -e`) gets its bytecode when it is first imported, unless
    PYTHONDONTWRITEBYTECODE is set: then every fresh process compiled each of its modules
    again (50 to 90 ms of a `stats` over a million records, measured), which no installed
    peer does. The `__pycache__` folders are ignored by git."""
    import compileall

    import llmops_logging

    package = os.path.dirname(os.path.abspath(llmops_logging.__file__))
    if not compileall.compile_dir(package, quiet=1):
        raise RuntimeError(f"could not compile {package} to bytecode")


def open_fds() -> int:
    """Number of open file descriptors of this process (Linux), -1 when unknown."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


# -- contenders ----------------------------------------------------------------------------


@dataclass
class Session:
    """A configured contender: `run(n, proc)` logs n sample events, `close()` tears it down.

    `dropped()` is what the handler itself admits to: records it dropped or failed to emit.
    """

    run: Callable[[int, int | None], None]
    close: Callable[[], None]
    dropped: Callable[[], int] = lambda: 0


Setup = Callable[[str, int, int, bool], Session]
"""`(log_dir, max_bytes, backup_count, compress)`; compress gzips rotated files if supported."""


def _llmops(log_dir: str, max_bytes: int, backup_count: int, compress: bool = False) -> Session:
    import llmops_logging as ll

    handler = ll.configure(
        log_dir, max_bytes=max_bytes, backup_count=backup_count, compress=compress
    )
    workload = _kwargs_loop(ll.get_logger("bench"))

    def run(n: int, proc: int | None) -> None:
        with ll.run("bench"):  # the default chain inside a run, as agent code logs
            workload(n, proc)

    return Session(run, ll.reset, lambda: handler.dropped)


def _floor_info(log_dir: str, lock: bool, max_bytes: int, backup_count: int) -> Session:
    """The cheapest Python that writes the library's record: `info(**fields)` builds the
    dict of the nine stamps (`ts`, `run_id`, `event`, `kind`, `level`, `logger`, `event_id`,
    `seq`, `pid`) and the fields, `orjson.dumps`, one `os.write`. With `lock`, also what a
    rotating handler must do per record: take a lock, learn the size with `lseek`, and rotate
    by rename when the line would pass `max_bytes`."""
    import itertools
    import threading
    import uuid
    from datetime import datetime, timezone

    path = os.path.join(log_dir, LIVE_NAME)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
    fds = [os.open(path, flags, 0o600)]
    dumps, write, lseek, newline = orjson.dumps, os.write, os.lseek, orjson.OPT_APPEND_NEWLINE
    now, utc = datetime.now, timezone.utc
    run_id, pid, prefix = str(uuid.uuid4()), os.getpid(), os.urandom(8).hex() + "-"
    seq = itertools.count(1).__next__
    mutex = threading.Lock()

    def rotate() -> None:
        os.close(fds[0])
        for k in range(backup_count - 1, 0, -1):
            with contextlib.suppress(FileNotFoundError):
                os.replace(f"{path}.{k}", f"{path}.{k + 1}")
        os.replace(path, f"{path}.1")
        fds[0] = os.open(path, flags, 0o600)

    def info(event: str, kind: str = "log", **fields: Any) -> None:
        n = seq()
        line = dumps(
            {
                "ts": now(utc).isoformat(),
                "run_id": run_id,
                "event": event,
                "kind": kind,
                "level": "info",
                "logger": "bench",
                "event_id": prefix + str(n),
                "seq": n,
                "pid": pid,
                **fields,
            },
            option=newline,
        )
        write(fds[0], line)

    # The record is built again here, not by a shared helper: a floor measures the cheapest
    # code, and one more Python call per event would raise it for both floors.
    def info_rotating(event: str, kind: str = "log", **fields: Any) -> None:
        n = seq()
        line = dumps(
            {
                "ts": now(utc).isoformat(),
                "run_id": run_id,
                "event": event,
                "kind": kind,
                "level": "info",
                "logger": "bench",
                "event_id": prefix + str(n),
                "seq": n,
                "pid": pid,
                **fields,
            },
            option=newline,
        )
        with mutex:
            if lseek(fds[0], 0, os.SEEK_END) + len(line) > max_bytes:
                rotate()
            write(fds[0], line)

    log = SimpleNamespace(info=info_rotating if lock else info)
    return Session(_kwargs_loop(log), lambda: os.close(fds[0]))


def _floor(log_dir: str, max_bytes: int, backup_count: int, compress: bool = False) -> Session:
    return _floor_info(log_dir, False, max_bytes, backup_count)


def _floor_rotating(
    log_dir: str, max_bytes: int, backup_count: int, compress: bool = False
) -> Session:
    return _floor_info(log_dir, True, max_bytes, backup_count)


def _structlog_bytes(
    log_dir: str, max_bytes: int, backup_count: int, compress: bool = False
) -> Session:
    """structlog rendering straight to bytes, with the same stamps as the library's records
    (`run_id` bound in the context, the others by a processor; no rotation)."""
    import itertools
    import uuid

    import structlog

    pid, prefix = os.getpid(), os.urandom(8).hex() + "-"
    seq = itertools.count(1).__next__

    def add_ids(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        n = seq()
        event_dict["logger"] = "bench"
        event_dict["event_id"] = prefix + str(n)
        event_dict["seq"] = n
        event_dict["pid"] = pid
        return event_dict

    file = open(os.path.join(log_dir, LIVE_NAME), "ab")  # noqa: SIM115 - closed by the session
    structlog.configure(
        cache_logger_on_first_use=True,
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        processors=[
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            add_ids,
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        logger_factory=structlog.BytesLoggerFactory(file),
    )
    structlog.contextvars.bind_contextvars(run_id=str(uuid.uuid4()))
    log = structlog.get_logger("bench")

    def close() -> None:
        structlog.contextvars.clear_contextvars()
        structlog.reset_defaults()
        file.close()

    return Session(_kwargs_loop(log), close)


def _picologging(
    log_dir: str, max_bytes: int, backup_count: int, compress: bool = False
) -> Session:
    """picologging (the stdlib logging API in C): its RotatingFileHandler and a formatter
    that writes the stamps it has (time, level, logger, pid) and the fields as one JSON-shaped
    line; it has no JSON renderer, so `i` and `ok` travel as message arguments."""
    import picologging
    from picologging.handlers import RotatingFileHandler

    handler = RotatingFileHandler(
        os.path.join(log_dir, LIVE_NAME), maxBytes=max_bytes, backupCount=backup_count
    )
    handler.setFormatter(
        picologging.Formatter(
            '{"ts":"%(asctime)s","event":"sample","level":"%(levelname)s",'
            '"logger":"%(name)s","pid":%(process)d,%(message)s}'
        )
    )
    logger = picologging.getLogger("bench")
    logger.handlers[:] = [handler]
    logger.setLevel(picologging.INFO)
    logger.propagate = False

    def run(n: int, proc: int | None) -> None:
        info = logger.info
        if proc is None:
            for i in range(n):
                info('"kind":"sample","i":%d,"ok":%s', i, "true")
        else:
            for i in range(n):
                info('"kind":"sample","proc":%d,"i":%d,"ok":%s', proc, i, "true")

    def close() -> None:
        logger.removeHandler(handler)
        handler.close()

    return Session(run, close)


def _kwargs_loop(log: Any) -> Callable[[int, int | None], None]:
    """The workload for any logger taking fields as keyword arguments."""

    def run(n: int, proc: int | None) -> None:
        info = log.info
        if proc is None:
            for i in range(n):
                info("sample", kind="sample", i=i, ok=True)
        else:
            for i in range(n):
                info("sample", kind="sample", proc=proc, i=i, ok=True)

    return run


def _stdlib_logger(handler: logging.Handler) -> logging.Logger:
    from pythonjsonlogger.orjson import OrjsonFormatter

    handler.setFormatter(OrjsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("bench")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def _extra_loop(logger: logging.Logger) -> Callable[[int, int | None], None]:
    """The workload for a stdlib logger: the fields travel in `extra=`."""

    def run(n: int, proc: int | None) -> None:
        info = logger.info
        if proc is None:
            for i in range(n):
                info("sample", extra={"kind": "sample", "i": i, "ok": True})
        else:
            for i in range(n):
                info("sample", extra={"kind": "sample", "proc": proc, "i": i, "ok": True})

    return run


def _stdlib_session(handler: logging.Handler) -> Session:
    """A stdlib logger on `handler`; records the handler fails to emit are counted, not printed."""
    logger = _stdlib_logger(handler)
    failures = [0]

    def count_failure(record: logging.LogRecord) -> None:
        failures[0] += 1

    handler.handleError = count_failure  # type: ignore[method-assign]

    def close() -> None:
        logger.removeHandler(handler)
        handler.close()

    return Session(_extra_loop(logger), close, lambda: failures[0])


def _pjl_rfh(log_dir: str, max_bytes: int, backup_count: int, compress: bool = False) -> Session:
    from logging.handlers import RotatingFileHandler

    path = os.path.join(log_dir, LIVE_NAME)
    return _stdlib_session(RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backup_count))


def _clh_pjl(log_dir: str, max_bytes: int, backup_count: int, compress: bool = False) -> Session:
    from concurrent_log_handler import ConcurrentRotatingFileHandler

    path = os.path.join(log_dir, LIVE_NAME)
    handler = ConcurrentRotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backup_count, use_gzip=compress
    )
    return _stdlib_session(handler)


def _loguru(log_dir: str, max_bytes: int, backup_count: int, compress: bool = False) -> Session:
    from loguru import logger

    logger.remove()
    logger.add(
        os.path.join(log_dir, LIVE_NAME),
        serialize=True,
        rotation=max_bytes,
        retention=backup_count,
        level="INFO",
    )
    return Session(_kwargs_loop(logger), logger.remove)


def _structlog_stdlib(
    log_dir: str, max_bytes: int, backup_count: int, compress: bool = False
) -> Session:
    from logging.handlers import RotatingFileHandler

    import structlog

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    path = os.path.join(log_dir, LIVE_NAME)
    handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backup_count)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ]
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    log = structlog.get_logger("bench")

    def close() -> None:
        root.removeHandler(handler)
        handler.close()
        structlog.reset_defaults()

    return Session(_kwargs_loop(log), close)


@dataclass(frozen=True)
class Contender:
    key: str
    label: str
    setup: Setup
    rotates: bool = True


CONTENDERS: dict[str, Contender] = {
    c.key: c
    for c in (
        Contender("llmops", "llmops_logging configure() chain", _llmops),
        Contender("floor", "floor: same record, orjson + os.write", _floor, rotates=False),
        Contender("floor-rotating", "floor + lock, lseek, rename rotation", _floor_rotating),
        Contender(
            "structlog-bytes",
            "structlog -> orjson bytes, same stamps",
            _structlog_bytes,
            rotates=False,
        ),
        Contender("picologging", "picologging RotatingFH, JSON-shaped fmt", _picologging),
        Contender("pjl-rfh", "python-json-logger + RotatingFH", _pjl_rfh),
        Contender("clh-pjl", "concurrent-log-handler + pjl", _clh_pjl),
        Contender("loguru", "loguru serialize=True", _loguru),
        Contender("structlog-stdlib", "structlog -> stdlib ProcessorFmt", _structlog_stdlib),
    )
}


# -- multi-process runs ----------------------------------------------------------------------


@dataclass
class WorkerReport:
    proc: int
    started: float = 0.0
    finished: float = 0.0
    errors: list[str] = field(default_factory=list)
    dropped: int = 0
    fd_delta: int = 0


def _worker(
    key: str,
    log_dir: str,
    proc: int,
    n: int,
    max_bytes: int,
    backup_count: int,
    compress: bool,
    barrier: Any,
    results: Any,
    inherited: Session | None,
) -> None:
    report = WorkerReport(proc)
    fds_before = open_fds()
    session = inherited
    try:
        if session is None:
            try:
                session = CONTENDERS[key].setup(log_dir, max_bytes, backup_count, compress)
            except BaseException:
                barrier.abort()  # release the others instead of leaving them waiting
                raise
        barrier.wait(timeout=WORKER_TIMEOUT)
        report.started = time.monotonic()
        session.run(n, proc)
        report.finished = time.monotonic()
        report.dropped = session.dropped()
    except Exception:
        report.finished = report.finished or time.monotonic()
        report.errors.append(traceback.format_exc(limit=4))
    finally:
        if session is not None:
            try:
                session.close()
            except Exception:
                report.errors.append(traceback.format_exc(limit=4))
        if inherited is None:
            report.fd_delta = open_fds() - fds_before
        results.put(report)


@dataclass
class MultiResult:
    key: str
    method: str
    procs: int
    per_proc: int
    elapsed: float
    audit: Audit
    reports: list[WorkerReport]

    @property
    def total(self) -> int:
        return self.procs * self.per_proc

    @property
    def rate(self) -> float:
        return self.total / self.elapsed if self.elapsed > 0 else float("nan")

    @property
    def errors(self) -> list[str]:
        return [e for r in self.reports for e in r.errors]

    @property
    def dropped(self) -> int:
        return sum(r.dropped for r in self.reports)

    @property
    def fd_delta(self) -> int:
        return max((r.fd_delta for r in self.reports), default=0)


def run_multiprocess(
    key: str,
    *,
    procs: int,
    per_proc: int,
    max_bytes: int,
    backup_count: int,
    method: str = "fork",
    configure_before_fork: bool = False,
    compress: bool = False,
    keep: bool = False,
) -> MultiResult:
    """`procs` processes log `per_proc` events each into one fresh log, then audit it.

    Timing starts when every worker has passed the start barrier (set-up excluded) and ends
    when the last one finishes. `configure_before_fork` sets the contender up once in the
    parent and lets forked children inherit it (the usual shape of a pre-fork server).
    """
    ctx: Any = mp.get_context(method)
    log_dir = tempfile.mkdtemp(prefix=f"bench-{key}-{method}-", dir="/tmp")
    inherited = None
    if configure_before_fork:
        if method != "fork":
            raise ValueError("configure_before_fork needs the fork start method")
        inherited = CONTENDERS[key].setup(log_dir, max_bytes, backup_count, compress)
    barrier = ctx.Barrier(procs)
    results = ctx.Queue()
    workers = [
        ctx.Process(
            target=_worker,
            args=(
                key,
                log_dir,
                p,
                per_proc,
                max_bytes,
                backup_count,
                compress,
                barrier,
                results,
                inherited,
            ),
        )
        for p in range(procs)
    ]
    for w in workers:
        w.start()
    reports: list[WorkerReport] = []
    with contextlib.suppress(queue.Empty):  # a worker that died reports nothing
        for _ in workers:
            reports.append(results.get(timeout=WORKER_TIMEOUT))
    for w in workers:
        w.join(timeout=WORKER_TIMEOUT)
        if w.exitcode is None:
            w.kill()
            w.join()
    if inherited is not None:
        inherited.close()
    for w in workers:
        if w.exitcode != 0:
            reports.append(WorkerReport(-1, errors=[f"worker exit code {w.exitcode}"]))
    timed = [r for r in reports if r.started]
    elapsed = max(r.finished for r in timed) - min(r.started for r in timed) if timed else 0.0
    audit = audit_log(log_dir, procs, per_proc)
    if not keep:
        remove_tree(log_dir)
    return MultiResult(key, method, procs, per_proc, elapsed, audit, reports)


# -- audit -----------------------------------------------------------------------------------


@dataclass
class Audit:
    files: int
    lines: int
    torn: int
    lost: int
    dup: int
    size: int
    torn_examples: list[bytes] = field(default_factory=list)


def _sample_key(record: Any) -> tuple[int, int] | None:
    """`(proc, i)` of a sample record of any contender's shape (loguru nests it in `extra`)."""
    if not isinstance(record, dict):
        return None
    fields = record
    if "record" in record and isinstance(record["record"], dict):
        fields = record["record"].get("extra", {})
    proc, i = fields.get("proc"), fields.get("i")
    if isinstance(proc, int) and isinstance(i, int):
        return proc, i
    return None


def log_files(log_dir: str) -> list[str]:
    """Every file of the log: all regular files of the directory except hidden lock files."""
    return sorted(
        os.path.join(log_dir, name)
        for name in os.listdir(log_dir)
        if not name.startswith(".") and os.path.isfile(os.path.join(log_dir, name))
    )


def audit_log(log_dir: str, procs: int, per_proc: int) -> Audit:
    """Read every file raw: count torn lines and lost / duplicated `(proc, i)` records.

    A torn line is any line that is not one JSON object, or a sample record without its
    `(proc, i)`; records of other kinds (run_start, ...) are accepted and not counted.
    """
    import gzip

    seen: Counter[tuple[int, int]] = Counter()
    files = log_files(log_dir)
    lines = torn = size = 0
    examples: list[bytes] = []
    for path in files:
        opener: Any = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as f:
            data = f.read()
        size += len(data)
        for raw in data.split(b"\n"):
            if not raw:
                continue
            lines += 1
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError:
                record = None
            key = _sample_key(record)
            if key is not None:
                seen[key] += 1
            elif not isinstance(record, dict) or _is_sample(record):
                torn += 1
                if len(examples) < 3:
                    examples.append(raw[:160])
    expected = {(p, i) for p in range(procs) for i in range(per_proc)}
    lost = len(expected - seen.keys())
    dup = sum(c - 1 for k, c in seen.items() if c > 1) + sum(
        c for k, c in seen.items() if k not in expected
    )
    return Audit(len(files), lines, torn, lost, dup, size, examples)


def _is_sample(record: dict[str, Any]) -> bool:
    if record.get("event") == "sample" or record.get("message") == "sample":
        return True
    inner = record.get("record")
    return isinstance(inner, dict) and inner.get("message") == "sample"


def remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def backups_needed(records: int, record_bytes: int, max_bytes: int) -> int:
    """A `backup_count` comfortably large enough to keep every record of a run."""
    return 2 * (records * record_bytes // max_bytes) + 20


def fmt_rate(rate: float) -> str:
    return f"{rate:,.0f}"


def print_table(headers: list[str], rows: list[list[str]], out: Any = sys.stdout) -> None:
    """A plain fixed-width table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]

    def line(cells: list[str]) -> str:
        first = str(cells[0]).ljust(widths[0])
        rest = (str(c).rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    print(line(headers), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in rows:
        print(line(row), file=out)
