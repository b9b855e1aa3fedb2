"""Run and step state shared by the scopes in `runs` and the processors that stamp records.

Context variables keep each thread and asyncio task on its own run; a process-wide default
run id covers records logged outside any run and is renewed in a forked child.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from ._platform import at_fork_in_child

_usage_lock = threading.Lock()


class UsageTotals:
    """The sums of the `llm_call`s inside one run or step, for its closing record's `usage`.

    Calls finish in any thread (a stream is often closed or collected elsewhere), so every
    update and read holds one process-wide lock; scopes without calls never touch it.
    """

    __slots__ = ("calls_without_cost", "cost_usd", "input_tokens", "llm_calls", "output_tokens")

    def __init__(self) -> None:
        self.llm_calls = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd: float | None = None
        self.calls_without_cost = 0

    def fields(self) -> dict[str, Any]:
        """`{"llm_calls", "input_tokens", "output_tokens", "cost_usd"}`; the cost is the sum
        of the calls whose price was known, present when there was one, and
        `calls_without_cost` counts the others, so a partial sum is never taken for whole."""
        with _usage_lock:
            fields: dict[str, Any] = {
                "llm_calls": self.llm_calls,
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
            }
            if self.cost_usd is not None:
                fields["cost_usd"] = self.cost_usd
            if self.calls_without_cost:
                fields["calls_without_cost"] = self.calls_without_cost
        return fields


def add_usage(
    scopes: list[RunState | StepState],
    input_tokens: int | None,
    output_tokens: int | None,
    cost_usd: float | None,
) -> None:
    """Count one finished call in each of `scopes` (its run and its steps, innermost first)."""
    with _usage_lock:
        for scope in scopes:
            totals = scope.usage
            if totals is None:
                totals = scope.usage = UsageTotals()
            totals.llm_calls += 1
            totals.input_tokens += input_tokens or 0
            totals.output_tokens += output_tokens or 0
            if cost_usd is None:
                totals.calls_without_cost += 1
            else:
                totals.cost_usd = (totals.cost_usd or 0.0) + cost_usd


@dataclass(eq=False)
class RunState:
    """The mutable state of one run: its id, its enclosing run, what happened inside it."""

    run_id: str
    name: str
    parent: RunState | None = None
    parent_step: StepState | None = None  # the step of `parent` this run was entered in
    sampled: bool = True
    closed: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    usage: UsageTotals | None = None
    conversation_id: str | None = None  # written on every record of the run, never redacted
    user_id: str | None = None
    identities_seen: ClassVar[bool] = False
    """Whether any run of the process has had a conversation or user id: until one has, the
    renderer does not look for them (a class attribute read, not a context variable's)."""

    def __post_init__(self) -> None:
        if self.conversation_id is not None or self.user_id is not None:
            RunState.identities_seen = True

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
    usage: UsageTotals | None = None

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


def enclosing_scopes(run: RunState | None, step: StepState | None) -> list[RunState | StepState]:
    """Every scope around a point, innermost first: its steps and run, then the steps and run
    the run was entered in, and so on out: each counts an `llm_call` made there."""
    scopes: list[RunState | StepState] = []
    while True:
        while step is not None:
            scopes.append(step)
            step = step.parent
        if run is None:
            return scopes
        scopes.append(run)
        step = run.parent_step
        run = run.parent


current_run: ContextVar[RunState | None] = ContextVar("llmops_current_run", default=None)
current_step: ContextVar[StepState | None] = ContextVar("llmops_current_step", default=None)
scope_stamps: ContextVar[dict[str, str] | None] = ContextVar("llmops_scope_stamps", default=None)
"""The `step_id` (and `parent_id`) of the record the library is logging for a step or a call
of its own, set around that one log call: no field the caller gives can carry them."""

_process_run_id = str(uuid.uuid4())


def default_run_id() -> str:
    """The run id of records logged outside any run in this process."""
    return _process_run_id


def _renew_after_fork() -> None:
    global _process_run_id
    _process_run_id = str(uuid.uuid4())


at_fork_in_child(_renew_after_fork)
