"""The default write path in one function: context, stamps, the redactor's check, render, write.

`configure()` builds the chain (`processors.build_processors`); when that chain adds nothing
unusual (no sampler), a structlog event of a logger of ours takes `FusedWrite` instead of
calling the processors one by one. A record is the same bytes either way.

The common event (a logger whose name the redactor has passed, fields of a key tuple judged
plain once, values that are numbers or strings found clean (the run's, step's and span's ids
too), no structlog context variable bound, no conversation or user id, not a record of the
library's own scopes) takes the direct route: the record dict is made once, with the stamps
in the Stamper's order, rendered as the renderer would, and the redactor's walk is skipped,
as its check would find nothing to replace or convert. On this route an event costs about
7 µs of CPU where the parts cost about 8.5 (`benchmarks/bench_throughput.py`).
Every other event runs the very same parts the chain does (`add_context`, the Stamper, the
redactor's check `fields_clean`, the redactor, the `LineRenderer`), and the line goes
straight to the handler. A chain that differs from the one this was built from (a processor
inserted, a new `configure()`) is run as a chain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from time import time_ns
from typing import Any

from orjson import dumps

from . import processors as _stamps
from ._context import RunState, current_run, current_step, default_run_id, scope_stamps
from ._contract import (
    CORE_FIELDS,
    DEFAULT_KIND,
    EVENT,
    EVENT_ID,
    KIND,
    LEVEL,
    LEVEL_ALIASES,
    LOGGER,
    PARENT_ID,
    PID,
    RUN_ID,
    SEQ,
    STEP_ID,
    TS,
    EventDict,
)
from ._key_classes import CACHE_SIZE
from ._render import LINE_OPTIONS, json_default, render_line
from ._tracing import OTEL_TRACE_MODULE, SPAN_ID, TRACE_ID, current_span_ids, modules
from .processors import (
    STRUCTLOG_CONTEXT_VARS,
    THREE_DIGITS,
    LineRenderer,
    Processor,
    Stamper,
    add_context,
    format_ts,
)
from .redaction import PLAIN_SCALARS, Redactor

_NO_VARS: dict[str, Any] = {}
_STRUCTLOG_VARS = STRUCTLOG_CONTEXT_VARS if STRUCTLOG_CONTEXT_VARS is not None else _NO_VARS
"""Empty until a structlog context variable is made (where structlog keeps no registry of
them, `add_context` calls structlog's own processor, and the direct route is off)."""


def _structlog_context_bound() -> bool:
    """Whether a structlog context variable has a value here (`bind_contextvars`)."""
    return any(var.get(Ellipsis) is not Ellipsis for var in tuple(_STRUCTLOG_VARS.values()))


_CONTEXT_STAMPS = frozenset({RUN_ID, STEP_ID, PARENT_ID, TRACE_ID, SPAN_ID})
"""Names `add_context` moves aside when the caller gives them (the span's inside a span):
such events take the parts."""


class FusedWrite:
    """One event of the default chain `chain`, processed and written to `write_line`."""

    __slots__ = (
        "chain", "check", "clean", "direct", "max_chars", "max_items", "max_record_bytes",
        "max_text", "redactor", "render", "scanner", "shapes", "sink", "stamp", "stamps_clean",
        "write_line",
    )  # fmt: skip

    def __init__(
        self,
        chain: tuple[Processor, ...],
        stamper: Stamper,
        redactor: Redactor | None,
        renderer: LineRenderer,
        write_line: Callable[[bytes], object],
        sink: type[Any],
    ) -> None:
        self.chain = chain
        self.stamp = stamper.__call__
        self.redactor = redactor
        # With static fields (`fields=`), the redactor's own check scans them with the rest.
        self.check = redactor.fields_clean if redactor is not None and not stamper.fields else None
        self.render = renderer.__call__
        self.write_line = write_line
        # The direct route needs the redactor's check (without it, the renderer's budget walk).
        self.direct = (
            self.check is not None and renderer.bounded and STRUCTLOG_CONTEXT_VARS is not None
        )
        self.max_record_bytes = renderer.max_record_bytes
        self.sink = sink
        self.shapes: dict[tuple[Any, ...], bool] = {}  # key tuple -> takes the direct route
        if redactor is not None:
            self.clean = redactor.scanner.clean  # the sets the redactor's checks fill
            self.stamps_clean = redactor.clean_stamps
            self.scanner = redactor.scanner
            self.max_items, self.max_chars = redactor.max_items, redactor.max_chars
            self.max_text = redactor.max_text

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> None:
        """The direct route when every check passes, having changed nothing before; else
        the parts. Equivalent to the parts: `add_context` would only add `run_id` (and
        `step_id`) and count the event in its run; the Stamper would put the stamps first
        and move nothing aside; `fields_clean` would pass, so the redactor would not run;
        the renderer would find no run ids to add and the record within its budget."""
        if (
            not self.direct
            or (_STRUCTLOG_VARS and _structlog_context_bound())
            or scope_stamps.get() is not None
        ):
            return self._parts(logger, method_name, event_dict)
        keys = tuple(event_dict)
        direct = self.shapes.get(keys)
        if direct is None:
            direct = self._judge(keys)
        kind = event_dict.get(KIND, DEFAULT_KIND)
        if (
            not direct
            or type(kind) is not str
            or not kind
            or type(event_dict[EVENT]) is not str
            or type(logger) is not self.sink
        ):
            return self._parts(logger, method_name, event_dict)
        name = logger.name or "root"
        if name not in self.stamps_clean:
            return self._parts(logger, method_name, event_dict)
        run = current_run.get()
        if (  # the renderer writes this run's conversation and user ids (`add_identities`)
            RunState.identities_seen
            and run is not None
            and (run.conversation_id is not None or run.user_id is not None)
        ):
            return self._parts(logger, method_name, event_dict)
        run_id = default_run_id() if run is None else run.run_id
        step = current_step.get()
        step_id = None if step is None else step.step_id
        span = current_span_ids() if OTEL_TRACE_MODULE in modules else None
        clean = self.clean
        if (
            run_id not in clean
            or (step_id is not None and step_id not in clean)
            or (span is not None and (span[1] not in clean or span[2] not in clean))
        ):
            return self._parts(logger, method_name, event_dict)  # which remembers them clean
        texts: list[str] | None = None
        chars = len(run_id) if step_id is None else len(run_id) + len(step_id)
        if span is not None:
            chars += len(span[1]) + len(span[2])
        for value in event_dict.values():
            shape = type(value)
            if shape is str:
                chars += len(value)
                if value in clean:
                    continue
                if len(value) > self.max_text:
                    return self._parts(logger, method_name, event_dict)
                if texts is None:
                    texts = [value]
                else:
                    texts.append(value)
            elif shape not in PLAIN_SCALARS:
                return self._parts(logger, method_name, event_dict)
        if chars > self.max_chars or (texts is not None and not self.scanner.all_clean(texts)):
            return self._parts(logger, method_name, event_dict)
        if run is not None:
            run.counts[kind] += 1
        counter: _stamps.SeqCounter = logger.seq_counter
        seq = next(counter.numbers)
        ns = logger.created_ns or time_ns()
        second, text = _stamps.ts_second  # format_ts's cache, read here to save the call
        micros = (ns - second) // 1000
        if 0 <= micros < 1_000_000:
            ts = f"{text}{THREE_DIGITS[micros // 1000]}{THREE_DIGITS[micros % 1000]}+00:00"
        else:
            ts = format_ts(ns)
        record: EventDict = {
            TS: ts,
            RUN_ID: run_id,
            EVENT: "",  # the event's own `event` (and `kind`, if given) take these places
            KIND: DEFAULT_KIND,
            LEVEL: LEVEL_ALIASES.get(method_name, method_name),
            LOGGER: name,
            EVENT_ID: counter.prefix + str(seq),
            SEQ: seq,
            PID: _stamps._pid,  # renewed in a forked child
            **event_dict,
        }
        if step_id is not None:
            record[STEP_ID] = step_id
        if span is not None:
            record[TRACE_ID] = span[1]
            record[SPAN_ID] = span[2]
        try:  # the renderer's own steps, without the call (identities and budget are settled)
            line = dumps(record, default=json_default, option=LINE_OPTIONS)
        except Exception:
            line = render_line(record, self.max_record_bytes)
        else:
            if 0 < self.max_record_bytes < len(line):
                line = render_line(record, self.max_record_bytes, bounded=True)
        self.write_line(line)
        return None

    def _judge(self, keys: tuple[Any, ...]) -> bool:
        """Whether events of these keys may take the direct route: an `event`, no name that
        `add_context` or the Stamper moves aside, all plain to the redactor, within its
        budget of items (with `run_id`, `step_id` and the span's ids)."""
        assert self.redactor is not None
        direct = (
            EVENT in keys
            and _CONTEXT_STAMPS.isdisjoint(keys)
            and len(keys) + 4 + len(CORE_FIELDS) <= self.max_items
            and self.redactor.keys_plain(keys)
        )
        if len(self.shapes) >= CACHE_SIZE:
            self.shapes.clear()
        self.shapes[keys] = direct
        return direct

    def _parts(self, logger: Any, method_name: str, event_dict: EventDict) -> None:
        """The chain's parts one by one, with the redactor's check in place of its walk."""
        add_context(logger, method_name, event_dict)
        redactor, check = self.redactor, self.check
        clean = check is not None and check(event_dict, logger.name or "root")
        record = self.stamp(logger, method_name, event_dict)
        if redactor is not None and not clean:
            record = redactor(logger, method_name, record)
        self.write_line(self.render(logger, method_name, record))


def fused_write(
    chain: Sequence[Processor], write_line: Callable[[bytes], object], sink: type[Any]
) -> FusedWrite | None:
    """The fused path of `chain` (as `build_processors` makes it) writing to `write_line`, or
    None when the chain holds anything else: a sampler, or processors of other code. The
    direct route takes events of loggers of class `sink` (whose stamps' sources it reads)."""
    owners = [getattr(processor, "__self__", None) for processor in chain]
    if len(chain) < 3 or chain[0] is not add_context:
        return None
    stamper, renderer = owners[1], owners[-1]
    redactor = owners[2] if len(chain) == 4 else None
    if (
        type(stamper) is not Stamper
        or type(renderer) is not LineRenderer
        or (len(chain) == 4 and type(redactor) is not Redactor)
        or len(chain) > 4
    ):
        return None
    return FusedWrite(tuple(chain), stamper, redactor, renderer, write_line, sink)
