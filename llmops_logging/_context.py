"""Run and step state shared by the scopes in `runs` and the processors that stamp records.

Context variables keep each thread and asyncio task on its own run; a process-wide default
run id covers records logged outside any run and is renewed in a forked child.
"""

from __future__ import annotations

import uuid
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

from ._platform import at_fork_in_child


@dataclass(eq=False)
class RunState:
    """The mutable state of one run: its id, its enclosing run, what happened inside it."""

    run_id: str
    name: str
    parent: RunState | None = None
    sampled: bool = True
    closed: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)

    @property
    def parent_run_id(self) -> str | None:
        return self.parent.run_id if self.parent is not None else None


@dataclass(eq=False)
class StepState:
    """The identity of one step and its enclosing step."""

    step_id: str
    name: str
    parent: StepState | None = None
    closed: bool = False

    @property
    def parent_id(self) -> str | None:
        return self.parent.step_id if self.parent is not None else None


State = TypeVar("State", RunState, StepState)


def nearest_open(state: State | None) -> State | None:
    """`state`, or its closest enclosing scope that has not ended.

    Scopes end out of order when generators holding them are interleaved; what is current
    after an end is then the nearest scope still open, not whatever was current at entry.
    """
    while state is not None and state.closed:
        state = state.parent
    return state


current_run: ContextVar[RunState | None] = ContextVar("llmops_current_run", default=None)
current_step: ContextVar[StepState | None] = ContextVar("llmops_current_step", default=None)

_process_run_id = str(uuid.uuid4())


def default_run_id() -> str:
    """The run id of records logged outside any run in this process."""
    return _process_run_id


def _renew_after_fork() -> None:
    global _process_run_id
    _process_run_id = str(uuid.uuid4())


at_fork_in_child(_renew_after_fork)
