"""Folding a large log on several cores: `stats` and `runs` over a million records.

Parsing JSON a line at a time and folding the records take one core each about half the time;
a log of several rotated files can be read by several processes instead. The files are found
once, here (`EventStream.plan`: the live file pinned open, so a rotation while reading
behaves as for one reader), and cut into contiguous shares, several per process. Process k
(this one is 0, the ones it forks 1, 2, ...) reads share k, then takes the next share from a
queue (a pipe of share numbers) whenever it is free, so a process slowed by another job on its
core takes fewer; each share is read through the same reader (framing, torn lines, filters,
report) into a fold of its own. The workers send back their folds and reports (each share's
pickled as soon as it is read) over a pipe, and this process merges all of them in file
order. The folds' `merge` is exact (see `StatsFold`, `RunsFold`), so the output is the one
pass's, byte for byte.

Only for a large read on a machine with two usable cores or more (`MIN_BYTES`, at least two
files), where `os.fork` exists; not under `--run`, whose filter must see the records in order.
A share whose read raised, in a worker or here, makes this process read the log again, which
raises the same error the same way; a worker that dies is reported on stderr and the log read
again here too (the others killed at once). Ctrl-C, SIGTERM or SIGHUP kills the workers before
it ends this process as it ends one reading alone; a worker whose parent died stops by itself.
`LLMOPS_LOGS_WORKERS=N` forces N processes (for tests and benchmarks; 1 turns the fan-out
off).
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import os
import pickle
import selectors
import signal
import struct
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

from .._contract import GZ_SUFFIX, Record
from .._logset import LogPart, close_parts, log_files
from ..reader import EventStream, Notes, ReadReport, Step
from ._output import Progress, every
from ._parser import PROG
from ._steps import UsageError

WORKERS_ENV = "LLMOPS_LOGS_WORKERS"
"""Forces the number of processes (tests, benchmarks): 1 reads in one process."""
MIN_BYTES = 24 * 2**20
"""A smaller log is read in one process: forking and merging would cost more than it saves."""
SHARES_PER_PROCESS = 32
"""The log is cut into up to this many shares per process (each of one file or more): small
shares, so the processes end within about one of each other (a file, for 10 MiB files)."""
GZ_WEIGHT = 8
"""A gzip file's bytes weigh this much more when the files are shared out: they inflate."""
READ_AGAIN = 3
"""A worker's exit status when reading a share raised: the log is read again in one process,
which raises it where one pass does (the message and status are that pass's)."""
_STOPS = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
"""Signals that end the process by default: the workers are killed first."""
_BLOCKED = {signal.SIGINT, *_STOPS}
_SLOT = struct.Struct("<qq")  # a worker's bytes read and records, for the progress bar
_NUMBER = struct.Struct("<I")  # a share's number in the queue: read whole by one process
_QUEUED = 4096 // _NUMBER.size
"""Share numbers the queue holds at most: a pipe holds at least a page unread, so filling it
before any process reads never blocks."""
_EVERY = 8192


class Mergeable(Protocol):
    def merge(self, later: Any) -> None: ...


class Fold(Mergeable, Protocol):
    def feed(self, records: Iterable[Record]) -> None: ...

    def settle(self) -> None:
        """Its records all fed, the fold will be merged: anything the merge would work out
        alone, while the other processes wait, is worked out now, by the one that read them."""

    def rows(self) -> list[dict[str, Any]]: ...


F = TypeVar("F", bound=Fold)
K = TypeVar("K")
M = TypeVar("M", bound=Mergeable)


def merge_groups(groups: dict[K, M], later: dict[K, M]) -> None:
    """Add `later`'s groups (each with a `merge`) to `groups`: a group on both sides merged,
    a new one appended, so groups stay in first-seen order."""
    for key, group in later.items():
        mine = groups.get(key)
        if mine is None:
            groups[key] = group
        else:
            mine.merge(group)


def fold(stream: EventStream, make: Callable[[], F]) -> F:
    """`make()` fed the records of `stream`, with its report (and filters) filled in: in one
    process, or for a large log in several and merged, with the same result."""
    with _without_cycle_collection():
        return _fold(stream, make)


def rows(stream: EventStream, make: Callable[[], Fold]) -> list[dict[str, Any]]:
    """`fold(stream, make).rows()`, the collector still off while the rows are made: a row
    per run is 10,000 new dicts for a million records, and the collections they set off
    walk every summary too (10 ms of the 20 `runs` spends on its rows)."""
    with _without_cycle_collection():
        return fold(stream, make).rows()


@contextlib.contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector off while a fold runs (in the workers too). A fold makes
    no reference cycles (records and the folds' groups are trees, freed by their counts), but
    the groups it keeps (a run's summary, its usage) count as allocations that set off
    collections, each walking every group so far: 5% of `runs`' CPU time on a million
    records. The collector's state is put back after, whatever it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _fold(stream: EventStream, make: Callable[[], F]) -> F:
    planned = _shares(stream)
    if planned is not None:
        with _stopping():
            result, failure = _fan_out(stream, make, *planned)
        if result is not None:
            return result
        if failure:
            print(f"{PROG}: {failure}; reading the log again in one process", file=sys.stderr)
    result = make()
    progress = Progress(stream.progress)
    try:
        result.feed(progress.counted(stream))
    finally:
        progress.done()
    return result


class _Stopped(BaseException):
    """SIGTERM or SIGHUP during the fan-out: unwinds it (the workers killed) like Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, frame: object) -> None:
    raise _Stopped(signum)


@contextlib.contextmanager
def _stopping() -> Iterator[None]:
    """SIGTERM and SIGHUP, where they would end the process, unwind the fan-out instead (its
    `finally` kills and reaps the workers); then the signal is sent again with its previous
    handler, so the process ends as one reading alone would (status 143, 129)."""
    previous: dict[int, Any] = {}
    for number in _STOPS:
        if signal.getsignal(number) == signal.SIG_DFL:
            with contextlib.suppress(ValueError):  # not the main thread: its handlers stay
                previous[number] = signal.signal(number, _stop)
    try:
        yield
    except _Stopped as stopped:
        for number, handler in previous.items():
            signal.signal(number, handler)
        previous = {}
        os.kill(os.getpid(), stopped.signum)
        raise SystemExit(128 + stopped.signum) from None  # if the signal did not end it
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def workers() -> int | None:
    """The processes `WORKERS_ENV` forces, or None when it is not set."""
    text = os.environ.get(WORKERS_ENV, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"${WORKERS_ENV} must be a whole number of at least 1, not {text!r}")
    return int(text)


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, where the platform tells)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _shares(stream: EventStream) -> tuple[list[list[Step]], int] | None:
    """The plan of `stream` cut into contiguous shares, several per process, and the number
    of processes; None to read it in one (a small log, one file, one CPU, no fork, `--run`)."""
    forced = workers()
    count = forced if forced is not None else usable_cpus()
    if count < 2 or not hasattr(os, "fork"):
        return None
    accept: Any = stream.accept
    if accept is not None and (not hasattr(accept, "split") or accept.split() is None):
        return None
    if forced is None:  # a cheap look first: the plan opens the live files
        try:
            files = [name for path in stream.paths for name in log_files(path)]
            size = sum(_size(LogPart(name)) for name in files)
        except OSError:
            return None
        if len(files) < 2 or size < MIN_BYTES:
            return None
    try:
        steps = stream.plan()
    except OSError:
        return None  # one process raises it, the same way
    shares = share_out(steps, min(count * SHARES_PER_PROCESS, count + _QUEUED))
    if len(shares) < 2:
        close_parts(steps)
        return None
    return shares, min(count, len(shares))


def share_out(steps: list[Step], count: int) -> list[list[Step]]:
    """`steps` cut into at most `count` contiguous shares of about the same weight, each with
    at least one file; a log's notes go with the share of the file after them."""
    weights = [_size(s) * (GZ_WEIGHT if s.name.endswith(GZ_SUFFIX) else 1)
               for s in steps if isinstance(s, LogPart)]  # fmt: skip
    files = len(weights)
    count = min(count, files)
    total = sum(weights)
    shares: list[list[Step]] = [[] for _ in range(max(count, 1))]
    held: list[Step] = []
    seen = before = 0
    for step in steps:
        held.append(step)
        if isinstance(step, Notes):
            continue
        weight = weights[seen]
        middle = (before + weight / 2) / total if total else (seen + 0.5) / files
        shares[min(int(middle * count), count - 1)] += held
        held, seen, before = [], seen + 1, before + weight
    with_file = [share for share in shares if any(isinstance(s, LogPart) for s in share)]
    if with_file:  # notes after the last file: with the last share that reads one
        with_file[-1] += held
    return with_file


def _size(step: Step) -> int:
    if not isinstance(step, LogPart):
        return 0
    with contextlib.suppress(OSError):
        if step.stream is not None:
            return os.fstat(step.stream.fileno()).st_size
        return os.path.getsize(step.name)
    return 0


Taken = tuple[int, Any, ReadReport, Any]
"""A share read by one process: `(its number, its fold, its report, the filters it saw)`."""


def _fan_out(
    stream: EventStream, make: Callable[[], F], shares: list[list[Step]], count: int
) -> tuple[F | None, str]:
    """Fork `count - 1` workers; process k reads share k, then each takes shares from the
    queue until it is empty; merge all in file order: the merged fold, or None and why ("" to
    say nothing) if a worker could not be started or did not deliver, or a share was not
    read."""
    total = sum(_size(step) for share in shares for step in share)
    workers: list[tuple[int, int]] = []  # (pid, the pipe's read end)
    running: set[int] = set()  # not waited for yet: a pid once waited for may be reused
    parent = os.getpid()
    slots: mmap.mmap | None = None
    queue = -1
    try:
        slots = mmap.mmap(-1, _SLOT.size * count)
        die_with = _die_with_parent()
        queue, filling = os.pipe()
        # the numbers of the shares after the first `count` written before the first fork
        # (at most `_QUEUED`, 4 KiB: a pipe holds that much unread), and the write end
        # closed, so an empty queue reads as its end in every process
        with open(filling, "wb") as numbers:
            numbers.write(b"".join(_NUMBER.pack(n) for n in range(count, len(shares))))
        for number in range(1, count):
            read_end, write_end = os.pipe()
            # No signal between the fork and the pid noted (here) or the worker's `try`.
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED)
            try:
                try:
                    pid = os.fork()
                except OSError as exc:
                    os.close(read_end)
                    os.close(write_end)
                    return None, f"could not start a process to read part of the log: {exc}"
                if pid == 0:  # the worker: never returns
                    others = [read_end, *(fd for _, fd in workers)]
                    _work(shares, queue, stream, make, write_end, slots, number, others,
                          parent, die_with, mask)  # fmt: skip
                running.add(pid)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            os.close(write_end)
            workers.append((pid, read_end))
        shared = slots

        def workers_read(field: int) -> int:  # 0: bytes, 1: records, over the workers' slots
            return sum(_SLOT.unpack_from(shared, _SLOT.size * n)[field] for n in range(1, count))

        mine = _Reading()

        def measure() -> tuple[int, int]:
            done = mine.bytes() + workers_read(0)
            return done, max(done, total)

        progress = Progress(measure)
        progress.others = lambda: workers_read(1)
        try:
            try:
                taken = _take(shares, 0, queue, stream, make, mine, progress.counted)
            except Exception:  # as in a worker: one process raises it again, as one pass does
                return None, ""
            payloads, failure = _collect(workers, running, progress)
        finally:
            progress.done()
        if payloads is None:
            return None, failure
        for later in payloads:
            taken += later
        taken.sort(key=lambda one: one[0])
        if [one[0] for one in taken] != list(range(len(shares))):
            return None, "the processes reading the log did not read each part of it once"
        return _merged(stream, taken), ""
    finally:
        for pid in running:  # still running: an interrupt, or another worker failed
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for pid in running:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        for fd in (queue, *(read_end for _, read_end in workers)):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        for share in shares:
            close_parts(share)
        if slots is not None:
            slots.close()


class _Reading:
    """What one process has read of the shares it took: the bytes of the finished ones and of
    the current one so far, the records of the finished ones."""

    def __init__(self) -> None:
        self.finished = 0
        self.records = 0
        self.current: EventStream | None = None

    def bytes(self) -> int:
        current = self.current
        return self.finished + (current.progress()[0] if current is not None else 0)


def _take(
    shares: list[list[Step]],
    first: int,
    queue: int,
    stream: EventStream,
    make: Callable[[], Fold],
    reading: _Reading,
    counted: Callable[[EventStream], Iterable[Record]],
    keep: Callable[[Taken], Any] = lambda taken: taken,
) -> list[Any]:
    """Read share `first`, then share after share as the queue gives their numbers, each into
    a fold of its own (with its own split of the filters), until the queue is empty; each
    share read as `keep` keeps it (a worker: pickled at once, while the others still read,
    not all at the end while they wait: 2% of `runs`' time)."""
    accept: Any = stream.accept
    taken: list[Any] = []
    number: int | None = first
    while number is not None:
        mine = accept.split() if accept is not None else None
        share_stream = EventStream.of_plan(shares[number], mine, stream.max_line_bytes)
        reading.current = share_stream
        result = make()
        result.feed(counted(share_stream))
        result.settle()
        reading.finished += share_stream.progress()[0]
        reading.records += share_stream.report.matched  # the items `counted` passed on
        reading.current = None
        seen = mine.seen() if mine is not None else None
        taken.append(keep((number, result, share_stream.report, seen)))
        data = os.read(queue, _NUMBER.size)
        number = _NUMBER.unpack(data)[0] if data else None
    return taken


def _merged(stream: EventStream, taken: list[Taken]) -> Any:
    """The folds of all shares, in file order, merged into the first; the stream's report and
    filters are the shares' merged the same way."""
    accept: Any = stream.accept
    result = taken[0][1]
    report = ReadReport()
    for number, later, later_report, seen in taken:
        if number:
            result.merge(later)
        report.merge(later_report)
        if accept is not None:
            accept.merge(seen)
    stream.report = report
    return result


def _collect(
    workers: list[tuple[int, int]], running: set[int], progress: Progress
) -> tuple[list[list[Taken]] | None, str]:
    """The shares each worker took, read from all pipes at once (a worker blocks on a full
    pipe), in the workers' order; None and why as soon as one did not deliver (the others are
    killed then, not waited for)."""
    pids = {fd: pid for pid, fd in workers}
    chunks: dict[int, list[bytes]] = {fd: [] for _, fd in workers}
    with selectors.DefaultSelector() as selector:
        for _, fd in workers:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            for key, _ in selector.select(timeout=0.25):
                data = os.read(key.fd, 1 << 20)
                if data:
                    chunks[key.fd].append(data)
                    continue
                selector.unregister(key.fd)  # it is done: how?
                _, status = os.waitpid(pids[key.fd], 0)
                running.discard(pids[key.fd])
                if status:
                    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == READ_AGAIN:
                        return None, ""
                    return None, f"a process reading part of the log {_ended(status)}"
            progress.tick(0)
    payloads = []
    for _, fd in workers:
        try:
            payloads.append([pickle.loads(one) for one in pickle.loads(b"".join(chunks[fd]))])
        except Exception as exc:  # anything it sent that does not load
            return None, f"a process reading part of the log sent what does not load: {exc!r}"
    return payloads, ""


def _ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(number).name}"
        return f"was killed by signal {number}"
    return f"failed (exit status {os.waitstatus_to_exitcode(status)})"


def _die_with_parent() -> Callable[[], object] | None:
    """Asks the kernel to kill this process when its parent dies (Linux's PR_SET_PDEATHSIG),
    or None where that cannot be asked (the worker then watches its parent's pid)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):  # a Python built without _ctypes
        return None
    return lambda: prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG


def _work(
    shares: list[list[Step]],
    queue: int,
    stream: EventStream,
    make: Callable[[], Fold],
    write_end: int,
    slots: mmap.mmap,
    number: int,
    others: list[int],
    parent: int,
    die_with: Callable[[], object] | None,
    mask: Iterable[int],
) -> None:
    """A worker: fold the shares it takes from the queue, write what it took (`Taken` each,
    pickled as it is read) to the pipe, and leave without running the parent's exit handlers
    or flushing its buffers twice. It starts with the signals blocked, so none runs the
    parent's handlers here; it ends with its parent."""
    code = 1
    try:
        for number_ in _BLOCKED:  # Ctrl-C or a kill stops it at once; ignored stays ignored
            if signal.getsignal(number_) != signal.SIG_IGN:  # (under nohup, as its parent)
                signal.signal(number_, signal.SIG_DFL)
        for fd in others:  # the pipes of the others: theirs to close
            os.close(fd)
        if die_with is not None:
            die_with()
        if os.getppid() != parent:  # it died before the kernel was asked
            return
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        reading = _Reading()
        tell = _teller(reading, slots, number, parent)

        def counted(share_stream: EventStream) -> Iterable[Record]:
            before = reading.records  # of the shares read before this one
            tell(before)  # and, with them, an orphan stops before it takes another share
            return every(share_stream, _EVERY, lambda count: tell(before + count))

        taken = _take(shares, number, queue, stream, make, reading, counted, _pickled)
        tell(reading.records)
        data = pickle.dumps(taken, pickle.HIGHEST_PROTOCOL)
        with open(write_end, "wb") as pipe:
            pipe.write(data)
        code = 0
    except Exception:  # one process raises it again, where one pass would
        code = READ_AGAIN
    finally:
        os._exit(code)


def _pickled(taken: Taken) -> bytes:
    return pickle.dumps(taken, pickle.HIGHEST_PROTOCOL)


def _teller(reading: _Reading, slots: mmap.mmap, number: int, parent: int) -> Callable[[int], None]:
    """`tell(records)`: the bytes read so far and `records` told to the progress bar's
    process (as each share begins, every few thousand records, and at the end); an orphan
    (its parent gone) stops."""
    offset = _SLOT.size * number

    def tell(count: int) -> None:
        _SLOT.pack_into(slots, offset, reading.bytes(), count)
        if os.getppid() != parent:
            os._exit(1)

    return tell
