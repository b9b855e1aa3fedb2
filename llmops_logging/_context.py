"""Run and step state shared by the scopes in `runs` and the processors that stamp records.

Context variables keep each thread and asyncio task on its own run; a process-wide default
run id covers records logged outside any run and is renewed in a forked child.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class RunState:
    """The mutable state of one active run: its id and what happened inside it."""

    run_id: str
    name: str
    parent_run_id: str | None = None
    sampled: bool = True
    counts: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class StepState:
    """The identity of one active step."""

    step_id: str
    name: str
    parent_id: str | None


current_run: ContextVar[RunState | None] = ContextVar("llmops_current_run", default=None)
current_step: ContextVar[StepState | None] = ContextVar("llmops_current_step", default=None)

_process_run_id = str(uuid.uuid4())


def default_run_id() -> str:
    """The run id of records logged outside any run in this process."""
    return _process_run_id


def _renew_after_fork() -> None:
    global _process_run_id
    _process_run_id = str(uuid.uuid4())


os.register_at_fork(after_in_child=_renew_after_fork)
