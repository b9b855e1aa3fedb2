"""The bound logger `get_logger()` returns and the sink it writes to.

One class for the whole process, whose level methods `set_min_level()` swaps, so loggers
cached before a new `configure()` follow it; disabled levels are a bare `return None`. A log
call never raises: a failing processor or a bad `%` argument still yields a record that says
what went wrong. Rendered lines go straight to the handler's write path (no `LogRecord`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from structlog import BoundLoggerBase, DropEvent

from ._render import format_failure, render_line
from .processors import failure_line, level_method_name
from .redaction import message_args

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
_ALIASES = {"warn": "warning", "fatal": "critical", "msg": "info"}


def level_number(level: int | str) -> int:
    """`logging` level number of a name (any case) or a number; ValueError when unknown."""
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    if isinstance(level, str):
        number = logging.getLevelName(level.upper())
        if isinstance(number, int):
            return number
    raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")


class Sink:
    """What structlog calls the wrapped logger: a name and a way to the current handler."""

    write_line: Callable[[bytes], object] | None = None  # set by configure()

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, line: bytes) -> None:
        write_line = Sink.write_line
        if write_line is not None:
            write_line(line)


def sink_factory(*args: Any) -> Sink:
    return Sink(str(args[0]) if args and args[0] is not None else "root")


def _interpolate(
    event: Any, args: tuple[Any, ...], kw: dict[str, Any], processors: Sequence[Any]
) -> Any:
    try:
        if len(args) == 1 and isinstance(args[0], dict) and args[0]:
            args = (message_args(processors, args[0]),)  # "%(password)s": redacted first
            return event % args[0]
        return event % args
    except Exception as exc:
        kw.update(format_failure(exc, args))
        return event


class BoundLogger(BoundLoggerBase):
    """structlog's bound logger API (`info`, `ainfo`, `exception`, `log`, `bind`, ...)."""

    min_level = logging.INFO

    if TYPE_CHECKING:  # level methods are installed by set_min_level()

        def error(self, event: Any = None, /, *args: Any, **kw: Any) -> None: ...

    def _proxy_to_logger(self, method_name: str, event: Any = None, **event_kw: Any) -> None:
        self._write_event(method_name, event, event_kw)

    def _write_event(self, method_name: str, event: Any, fields: dict[str, Any]) -> None:
        """Process and write one event, as the level method `method_name` does."""
        writer = _WRITERS.get(method_name) or _writer(method_name)
        writer(self, event, **fields)

    def exception(self, event: Any = None, /, *args: Any, **kw: Any) -> None:
        kw.setdefault("exc_info", True)
        self.error(event, *args, **kw)

    async def aexception(self, event: Any = None, /, *args: Any, **kw: Any) -> None:
        self.exception(event, *args, **kw)

    def log(self, level: int | str, event: Any = None, /, *args: Any, **kw: Any) -> None:
        try:
            number = level_number(level)
        except ValueError:
            number = logging.INFO
        if number < BoundLogger.min_level:
            return None
        _WRITERS[level_method_name(number)](self, event, *args, **kw)

    async def alog(self, level: int | str, event: Any = None, /, *args: Any, **kw: Any) -> None:
        self.log(level, event, *args, **kw)

    def is_enabled_for(self, level: int) -> bool:
        return level >= BoundLogger.min_level

    def get_effective_level(self) -> int:
        return BoundLogger.min_level


def _nop(self: Any, event: Any = None, /, *args: Any, **kw: Any) -> None:
    return None


async def _anop(self: Any, event: Any = None, /, *args: Any, **kw: Any) -> None:
    return None


def _writer(method_name: str) -> Callable[..., None]:
    """The level method for `method_name`: process the event and write its line."""

    def method(self: BoundLogger, event: Any = None, /, *args: Any, **kw: Any) -> None:
        processors: Sequence[Any] = self._processors  # type: ignore[assignment]
        try:
            if args:
                event = _interpolate(event, args, kw, processors)
            event_dict = {**self._context, **kw} if self._context else kw
            if event is not None:
                event_dict["event"] = event
            result: Any = event_dict
            logger = self._logger
            for processor in tuple(processors):  # a snapshot: configure() may swap the chain
                result = processor(logger, method_name, result)
            line = result if type(result) is bytes else render_line(result)
        except DropEvent:
            return
        except Exception as exc:
            line = failure_line(processors, self._logger, method_name, event, exc)
        write_line = Sink.write_line
        if write_line is not None:
            write_line(line)

    return method


_WRITERS = {name: _writer(name) for name in LEVELS}


def _level_methods(method_name: str) -> tuple[Callable[..., None], Callable[..., Any]]:
    method = _WRITERS[method_name]

    async def amethod(self: BoundLogger, event: Any = None, /, *args: Any, **kw: Any) -> None:
        method(self, event, *args, **kw)

    return method, amethod


def set_min_level(min_level: int) -> None:
    """Enable the level methods at or above `min_level` on every logger, cached ones too."""
    BoundLogger.min_level = min_level
    names = {**{name: name for name in LEVELS}, **_ALIASES}
    for attribute, method_name in names.items():
        sync, async_ = (
            _level_methods(method_name) if LEVELS[method_name] >= min_level else (_nop, _anop)
        )
        setattr(BoundLogger, attribute, sync)
        setattr(BoundLogger, f"a{attribute}", async_)


set_min_level(logging.INFO)
