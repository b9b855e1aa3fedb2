"""The default write path in one function: context, stamps, the redactor's check, render, write.

`configure()` builds the chain (`processors.build_processors`); when that chain adds nothing
unusual (no sampler), a structlog event of a logger of ours takes `FusedWrite` instead of
calling the processors one by one. It runs the very same parts (`add_context`, the Stamper,
the `LineRenderer`, the handler's `write_line`), so a record is the same bytes either way, and
saves what the chain spends between them: the redactor's whole-record walk becomes a check of
the caller's fields alone (keys judged once per tuple of keys, strings remembered when clean,
the stamps the library makes never looked at), and the line goes straight to the handler.
Anything the check does not settle (a secret, a key to replace, a value to convert, a large
record) goes through the redactor's own `__call__`, as in the chain. A chain that differs
from the one this was built from (a processor inserted, a new `configure()`) is run as a chain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ._contract import EventDict
from .processors import LineRenderer, Processor, Stamper, add_context
from .redaction import Redactor


class FusedWrite:
    """One event of the default chain `chain`, processed and written to `write_line`."""

    __slots__ = ("chain", "check", "redactor", "render", "stamp", "write_line")

    def __init__(
        self,
        chain: tuple[Processor, ...],
        stamper: Stamper,
        redactor: Redactor | None,
        renderer: LineRenderer,
        write_line: Callable[[bytes], object],
    ) -> None:
        self.chain = chain
        self.stamp = stamper.__call__
        self.redactor = redactor
        # With static fields (`fields=`), the redactor's own check scans them with the rest.
        self.check = redactor.fields_clean if redactor is not None and not stamper.fields else None
        self.render = renderer.__call__
        self.write_line = write_line

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> None:
        add_context(logger, method_name, event_dict)
        redactor, check = self.redactor, self.check
        clean = check is not None and check(event_dict, logger.name or "root")
        record = self.stamp(logger, method_name, event_dict)
        if redactor is not None and not clean:
            record = redactor(logger, method_name, record)
        self.write_line(self.render(logger, method_name, record))


def fused_write(
    chain: Sequence[Processor], write_line: Callable[[bytes], object]
) -> FusedWrite | None:
    """The fused path of `chain` (as `build_processors` makes it) writing to `write_line`, or
    None when the chain holds anything else: a sampler, or processors of other code."""
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
    return FusedWrite(tuple(chain), stamper, redactor, renderer, write_line)
