"""configure(), get_logger() and reset(): the one entry point that wires both routes to a file.

The processor list is one list object mutated in place and the sink reaches the handler
through a class attribute, so a second `configure()` takes effect on loggers that structlog
already cached, and never leaves two handlers writing the same lines. The handlers it puts
on the root logger carry a mark that any copy of this module recognises, so a reloaded or
re-imported package replaces them too.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from . import _thread_context
from ._console import ConsoleEcho
from ._contract import LIVE_NAME, default_log_dir, level_number
from ._fused import fused_write
from ._library_logs import NamedLevels, keep_request_content_out, sdk_request_lines
from ._library_logs import capture_warnings as capture_warnings_
from ._llm_settings import LlmSettings, install, settings_from
from ._logger import CHAIN, BoundLogger, Sink, set_min_level, sink_factory
from ._platform import FILE_LOCKS
from ._render import DEFAULT_MAX_RECORD_BYTES
from .formatters import JsonlFormatter
from .handlers import (
    DEFAULT_BACKUP_COUNT,
    DEFAULT_CHECK_INTERVAL,
    DEFAULT_FILE_MODE,
    DEFAULT_MAX_BYTES,
    DIRECTORY_MODE,
    RotatingJsonlHandler,
)
from .processors import SHARED_SEQ, build_processors, file_seq
from .redaction import RedactionSettings, Redactor
from .sampling import Sampler, SampleRates

_processors = CHAIN  # the one list object loggers hold; configure() swaps its contents
_taps: list[Callable[[bytes], object]] = []
_configuring = threading.RLock()  # configure() and reset() run one at a time
_named_levels = NamedLevels()


@dataclass
class _Installed:
    handler: RotatingJsonlHandler
    root_level: int
    on_root: bool
    echo: ConsoleEcho | None


_installed: _Installed | None = None
_MARK = "_llmops_logging_installed"
"""Attribute of configure()'s handler: (root level to restore, log path, seq counter)."""
_said_single_process = False  # the platform warning is written once per process


def _log_target(log_dir: str | os.PathLike[str] | None, filename: str) -> tuple[str, str]:
    """(directory, live file name) of what `configure()` was given."""
    if log_dir is None:
        return default_log_dir(), filename
    text = os.path.expanduser(os.fspath(log_dir))
    if filename == LIVE_NAME and text.endswith(".jsonl") and not os.path.isdir(text):
        return os.path.dirname(text) or os.curdir, os.path.basename(text)
    return text, filename


def configure(
    log_dir: str | os.PathLike[str] | None = None,
    *,
    filename: str = LIVE_NAME,
    max_bytes: int = DEFAULT_MAX_BYTES,
    backup_count: int = DEFAULT_BACKUP_COUNT,
    compress: bool = False,
    level: int | str = "INFO",
    capture_stdlib: bool = True,
    console: bool = False,
    fields: Mapping[str, Any] | None = None,
    redact: RedactionSettings = True,
    sample: SampleRates | None = None,
    sample_runs: float | None = None,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    file_mode: int = DEFAULT_FILE_MODE,
    check_interval: float = DEFAULT_CHECK_INTERVAL,
    capture_content: bool = True,
    prices: Mapping[str, Mapping[str, float]] | None = None,
    levels: Mapping[str, int | str] | None = None,
    capture_warnings: bool = True,
    thread_inherit_context: bool = True,
) -> RotatingJsonlHandler:
    """Send structlog events and (with `capture_stdlib`) stdlib records to one JSONL log.

    `log_dir` defaults to `$LLMOPS_LOG_DIR`, else `./data/raw_events`, and is created; a
    path ending in `.jsonl` that is not a directory (`logs/agent.jsonl`) names the live file.
    Calling it again replaces the earlier setup. Returns the handler.
    `capture_content=False` keeps prompts and completions out of `llm_call` records;
    `prices={"my-model": {"input_per_mtok": 0.5, "output_per_mtok": 1.5}}` prices models
    the bundled table does not know (or overrides it), in USD per million tokens.
    `levels` sets named stdlib loggers' levels (`{"httpx2": "WARNING"}`); with
    `capture_warnings`, Python warnings become `kind="warning"` records of `py.warnings`.
    With `thread_inherit_context` (the default), a `threading.Thread` started and a task
    submitted to a `ThreadPoolExecutor` inside a run or step belong to it: they run in a copy
    of the context they were started or submitted in (`_thread_context`).
    """
    min_level = level_number(level)
    llm = settings_from(capture_content, prices)
    logger_levels = {str(name): level_number(value) for name, value in (levels or {}).items()}
    log_dir, filename = _log_target(log_dir, filename)
    os.makedirs(log_dir, mode=DIRECTORY_MODE, exist_ok=True)
    chain = build_processors(
        fields=fields,
        sampler=Sampler.from_settings(sample, sample_runs),
        redactor=Redactor.from_settings(redact, max_record_bytes),
        max_record_bytes=max_record_bytes,
    )
    path = os.path.abspath(os.path.join(log_dir, filename))
    marks = [getattr(h, _MARK) for h in _marked_on_root()]  # maybe another copy's
    seq_counter = file_seq(path, next((m[2] for m in marks if m[1] == path), None))
    handler = RotatingJsonlHandler(
        path,
        max_bytes=max_bytes,
        backup_count=backup_count,
        compress=compress,
        file_mode=file_mode,
        check_interval=check_interval,
        formatter=JsonlFormatter(processors=_processors, seq_counter=seq_counter),
    )
    if min_level > logging.DEBUG:  # at DEBUG the user asked for every line
        handler.addFilter(sdk_request_lines)
    echo = ConsoleEcho(sys.stderr) if console else None

    global _installed
    with _configuring:
        install(llm)
        previous = _installed
        root = logging.getLogger()
        _processors[:] = chain  # readers iterate a snapshot (processors.run_processors)
        set_min_level(min_level)
        Sink.write_line = handler.write_line
        Sink.seq_counter = seq_counter
        fused = fused_write(chain, handler.write_line, Sink)
        Sink.fused_chain = None  # a writer that sees a chain finds its function
        Sink.fused = fused.__call__ if fused is not None else None  # a bound method: called fast
        Sink.fused_chain = fused.chain if fused is not None else None
        structlog.configure(
            processors=_processors,
            wrapper_class=BoundLogger,
            context_class=dict,
            logger_factory=sink_factory,
            cache_logger_on_first_use=True,
        )
        stale = [h for h in _marked_on_root() if previous is None or h is not previous.handler]
        if previous is not None:
            root_level = previous.root_level
        else:
            root_level = getattr(stale[0], _MARK)[0] if stale else root.level
        setattr(handler, _MARK, (root_level, path, seq_counter))
        _installed = _Installed(handler, root_level, capture_stdlib, echo)
        _update_mirror()
        old = previous.handler if previous is not None and previous.on_root else None
        if capture_stdlib or stale:
            # One assignment: a record being handled sees the old list or the new, never both.
            kept = [h for h in root.handlers if h is not old and h not in stale]
            root.handlers = [*kept, handler] if capture_stdlib else kept
        if capture_stdlib:
            root.setLevel(min_level)
        for left_over in stale:  # put there by a copy of this module reloaded since
            left_over.close()
        if previous is not None:
            _detach(previous, restore_level=not capture_stdlib)
        _named_levels.apply(logger_levels)
        keep_request_content_out()
        capture_warnings_(capture_warnings)
        _thread_context.install(bool(thread_inherit_context))
    if not FILE_LOCKS:
        _say_single_process()
    return handler


def _say_single_process() -> None:
    """Write, once, that this log must have one writer: without `flock` nothing serialises
    rotation between processes, so two of them would lose or tear records. Written whatever
    the configured level: it is about the log itself."""
    global _said_single_process
    if not _said_single_process:
        _said_single_process = True
        reason = "no file locks (fcntl) on this platform: only one process may write this log"
        fields = {"reason": reason, "platform": sys.platform}
        get_logger("llmops_logging")._write_event("warning", "single_process_log", fields)


def add_tap(tap: Callable[[bytes], object]) -> None:
    """Also call `tap` with every line any configured handler writes (see `testing`)."""
    with _configuring:
        _taps.append(tap)
        _update_mirror()


def remove_tap(tap: Callable[[bytes], object]) -> None:
    with _configuring:
        _taps.remove(tap)
        _update_mirror()


def _update_mirror() -> None:
    """Give the handler a mirror only when something listens: the write path stays lean."""
    if _installed is None:
        return
    echo, taps = _installed.echo, tuple(_taps)

    def mirror(line: bytes) -> None:
        if echo is not None:
            echo(line)
        for tap in taps:
            tap(line)

    _installed.handler.mirror = mirror if echo is not None or taps else None


def get_logger(name: str | None = None, **initial_values: Any) -> Any:
    """A structlog bound logger; `name` defaults to the calling module's `__name__`.

    Once configured, the logger itself (no lazy proxy on every call); before, structlog's
    lazy proxy, which binds to whatever configuration is current when it is first used.
    Either kind follows a later `configure()`.
    """
    if name is None:
        name = sys._getframe(1).f_globals.get("__name__", "root")
    if _installed is None:
        return structlog.get_logger(name, **initial_values)
    return BoundLogger(sink_factory(name), _processors, dict(initial_values))


def current_handler() -> RotatingJsonlHandler | None:
    """The handler of the active `configure()`, if any."""
    return _installed.handler if _installed is not None else None


def reset() -> None:
    """Undo `configure()`: detach and close its handler, restore structlog's defaults."""
    global _installed
    with _configuring:
        installed, _installed = _installed, None
        install(LlmSettings())
        Sink.write_line = None
        Sink.seq_counter = SHARED_SEQ
        Sink.fused_chain = None  # first: a writer that sees the chain finds its function
        Sink.fused = None
        if installed is not None:
            _detach(installed, restore_level=True)
        for left_over in _marked_on_root():  # a reloaded copy of this module's
            logging.getLogger().removeHandler(left_over)
            logging.getLogger().setLevel(getattr(left_over, _MARK)[0])
            left_over.close()
        _named_levels.restore()
        sdk_request_lines.active = False
        capture_warnings_(False)
        _thread_context.install(False)
        structlog.reset_defaults()


def _marked_on_root() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, _MARK, None) is not None]


def _detach(installed: _Installed, *, restore_level: bool) -> None:
    if installed.on_root:
        root = logging.getLogger()
        root.removeHandler(installed.handler)
        if restore_level:
            root.setLevel(installed.root_level)
    installed.handler.close()
