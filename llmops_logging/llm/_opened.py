"""What a framework's step-like span opened, for the instrumentations that follow spans."""

from __future__ import annotations

from .._context import StepState
from ..runs import Scope, StepManager


class OpenedStep:
    """A step opened for a span: its manager and scope, to close them at the span's end, and
    its state, for the records written inside it."""

    __slots__ = ("manager", "scope", "state")

    def __init__(self, manager: StepManager, scope: Scope, state: StepState) -> None:
        self.manager = manager
        self.scope = scope
        self.state = state
