"""The bound logger `get_logger()` returns and the sink it writes to.

One class for the whole process, whose level methods `set_min_level()` swaps, so loggers
cached before a new `configure()` follow it; disabled levels are a bare `return None`. A log
call never raises: a failing processor or a bad `%` argument still yields a record that says
what went wrong. Rendered lines go straight to the handler's write path (no `LogRecord`).

Every line the sink writes is rendered by `CHAIN`, whatever other code passes to
`structlog.configure()`: a foreign processor list runs only until its renderer (its
enrichments are kept, its rendered string is not), and what structlog's own wrapper classes
hand the sink (a rendered string, JSON or not, or an event dict) is made a record by `CHAIN`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import orjson
from structlog import BoundLoggerBase, DropEvent

from ._contract import EVENT, LEVEL_ALIASES, LEVELS, EventDict, level_name, level_number
from ._render import format_failure, render_line, safe_str
from .processors import (
    SHARED_SEQ,
    Processor,
    SeqCounter,
    failure_line,
    keep_user_value,
)
from .redaction import message_args

_ALIASES = {alias: LEVEL_ALIASES[alias] for alias in ("warn", "fatal", "msg")}
"""Extra level methods loggers offer (`exception` and `log` are methods of their own)."""

CHAIN: list[Processor] = []
"""The chain of the current `configure()`: one list object, its contents swapped in place."""


class Sink:
    """What structlog calls the wrapped logger: a name and a way to the current handler."""

    write_line: Callable[[bytes], object] | None = None  # set by configure()
    seq_counter: SeqCounter = SHARED_SEQ  # the current log file's, set by configure()
    created_ns: int | None = None  # an event's creation time is the time it is stamped
    fused: Callable[[Any, str, EventDict], None] | None = None
    """The default chain in one function (`_fused`), set by configure() with the chain it
    stands for, `fused_chain`."""
    fused_chain: tuple[Processor, ...] | None = None

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, line: bytes) -> None:
        write_line = Sink.write_line
        if write_line is not None:
            write_line(line)

    def _foreign(self, method_name: str, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
        """What a structlog wrapper class that is not ours passes on after its own chain:
        an event dict, or a rendered string (JSON objects are read back), made a record."""
        level = _ALIASES.get(method_name, method_name)
        if level not in LEVELS:
            level = "error" if method_name in ("exception", "err", "failure") else "info"
        if LEVELS[level] < BoundLogger.min_level:
            return
        if kw or not args:
            event_dict = dict(kw)
            if args:
                event_dict.setdefault(EVENT, args[0])
        else:
            event_dict = _read_back(args[0]) if len(args) == 1 else {}
            event_dict.setdefault(EVENT, " ".join(safe_str(a) for a in args))
        BoundLogger(self, CHAIN, {})._write_event(level, None, event_dict)


def _read_back(rendered: Any) -> dict[str, Any]:
    """The fields of a line another renderer made, when it is a JSON object; else none."""
    if isinstance(rendered, (str, bytes, bytearray)) and rendered[:1] in ("{", b"{"):
        try:
            fields = orjson.loads(rendered)
        except orjson.JSONDecodeError:
            return {}
        if isinstance(fields, dict):
            return fields
    return {}


def _foreign_method(method_name: str) -> Callable[..., None]:
    def method(self: Sink, *args: Any, **kw: Any) -> None:
        with contextlib.suppress(Exception):  # never raise into the caller
            self._foreign(method_name, args, kw)

    return method


for _name in ("debug", "info", "msg", "warning", "warn", "error", "err", "exception", "failure",
              "critical", "fatal"):  # fmt: skip
    setattr(Sink, _name, _foreign_method(_name))


def adopt_foreign(
    processors: Sequence[Processor], logger: Any, method_name: str, event_dict: EventDict
) -> EventDict:
    """Run a chain someone else configured up to its renderer: the event dict it has built by
    then goes on through `CHAIN`. Our own processors in it are left to `CHAIN`; each of the
    others gets a copy, since a renderer may empty the dict it renders."""
    ours = tuple(CHAIN)
    for processor in tuple(processors):
        if processor in ours:
            continue
        result = processor(logger, method_name, dict(event_dict))
        if not isinstance(result, dict):
            break
        event_dict = result
    return event_dict


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

    def __init__(self, logger: Any, processors: Any, context: Any) -> None:
        super().__init__(logger, processors, context)
        # Decided once per bound logger (bind() makes a new one): loggers a foreign
        # structlog.configure() made take the adopting path in every level method.
        self._ours = processors is CHAIN and type(logger) is Sink

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
        _WRITERS[level_name(number)](self, event, *args, **kw)

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
        logger = self._logger
        try:
            if args:
                event = _interpolate(event, args, kw, processors)
            event_dict: EventDict = {**self._context, **kw} if self._context else kw
            if event is not None:
                if EVENT in event_dict:  # a field named like the event: kept as user_event
                    keep_user_value(event_dict, EVENT, event_dict.pop(EVENT))
                event_dict[EVENT] = event
            if not self._ours:  # a foreign configure(): its processors, or its logger factory
                foreign, processors = processors, CHAIN
                if type(logger) is not Sink:
                    logger = Sink(getattr(logger, "name", None) or "root")
                event_dict = adopt_foreign(foreign, logger, method_name, event_dict)
            chain = tuple(processors)  # a snapshot: configure() may swap the chain
            if chain == Sink.fused_chain:  # the default chain: the same record, at once
                Sink.fused(logger, method_name, event_dict)  # type: ignore[misc]
                return
            result: Any = event_dict
            for processor in chain:
                result = processor(logger, method_name, result)
            line = result if type(result) is bytes else render_line(result)
        except DropEvent:
            return
        except Exception as exc:
            line = failure_line(processors, logger, method_name, event, exc)
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
