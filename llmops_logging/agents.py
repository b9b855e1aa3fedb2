"""Agents as steps, and hand-offs between them.

An agent's invocation is a step (`step_start`, then `step_ok` / `step_error`, with `step_id`
and `parent_id`) whose records also carry `gen_ai.operation.name` `invoke_agent` and
`gen_ai.agent.{name, id}`: so its tools, model calls and inner agents hang below it in the one
tree of steps, and every reader that knows steps knows agents. A hand-off is one `handoff`
record naming the agent it comes from (by default the innermost agent open around it) and
`to_agent`.
"""

from __future__ import annotations

import weakref
from typing import Any, TypeVar, overload

from ._config import get_logger
from ._context import StepState, current_run, current_step, enclosing_scopes, nearest_open
from ._contract import GEN_AI, HANDOFF, INVOKE_AGENT, KIND, TO_AGENT
from ._render import safe_str
from .runs import Scope, Step, StepManager

F = TypeVar("F")

_LOGGER_NAME = "llmops_logging"
_agent_names: weakref.WeakKeyDictionary[StepState, str] = weakref.WeakKeyDictionary()
"""The name of each open agent's step, so that a hand-off finds the agent it is made in."""


class AgentManager(StepManager):
    """`ll.agent(...)`: a step of an agent; a context manager (sync and async) and a decorator."""

    def __init__(self, name: str, fields: dict[str, Any], agent_id: str | None = None) -> None:
        super().__init__(name, fields)
        self.agent_id = agent_id

    def _fresh(self) -> AgentManager:
        return AgentManager(self.name, dict(self.fields), self.agent_id)

    def _open(self) -> Step:
        step = super()._open()
        _agent_names[self._state] = self.name
        return step

    def _gen_ai(self) -> dict[str, Any]:
        agent = {"name": self.name}
        if self.agent_id is not None:
            agent["id"] = self.agent_id
        return {GEN_AI: {"operation": {"name": INVOKE_AGENT}, "agent": agent}}

    def _start_extra(self, scope: Scope) -> dict[str, Any]:
        return {**super()._start_extra(scope), **self._gen_ai()}

    def _closing_extra(self, scope: Scope) -> dict[str, Any]:
        return {**super()._closing_extra(scope), **self._gen_ai()}


@overload
def agent(name: str, /, *, id: Any = None, **fields: Any) -> AgentManager: ...
@overload
def agent(name: F, /) -> F: ...
def agent(name: Any, /, *, id: Any = None, **fields: Any) -> Any:
    """An agent's invocation: a step whose records carry `gen_ai.operation.name`
    `invoke_agent` and `gen_ai.agent.name` (and `gen_ai.agent.id` when `id` is given).
    `@ll.agent` bare decorates a function under its own name."""
    agent_id = None if id is None else safe_str(id)
    if callable(name) and not isinstance(name, str):
        return AgentManager(name.__qualname__, fields, agent_id)(name)
    return AgentManager(str(name), fields, agent_id)


def current_agent() -> str | None:
    """The name of the innermost agent open here (across enclosing runs), or None."""
    for scope in enclosing_scopes(current_run.get(), nearest_open(current_step.get())):
        if isinstance(scope, StepState) and not scope.closed:
            name = _agent_names.get(scope)
            if name is not None:
                return name
    return None


def handoff(to_agent: str, *, from_agent: str | None = None, **fields: Any) -> None:
    """Write one `handoff` record: `gen_ai.agent.name` the agent handing off (`from_agent`,
    else the innermost open agent; left out when there is none), `to_agent` the one taking
    over, and `fields`."""
    source = from_agent if from_agent is not None else current_agent()
    record: dict[str, Any] = {k: v for k, v in fields.items() if k not in (KIND, TO_AGENT)}
    if source is not None:
        record[GEN_AI] = {"agent": {"name": safe_str(source)}}
    record[TO_AGENT] = safe_str(to_agent)
    get_logger(_LOGGER_NAME).info(HANDOFF, kind=HANDOFF, **record)
