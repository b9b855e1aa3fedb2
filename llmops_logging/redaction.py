"""Redaction of secrets before anything is written (interface; rules to come)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Union

from .processors import EventDict

RedactionSettings = Union[bool, Mapping[str, Any], None]


class Redactor:
    """Processor that replaces secrets by `[REDACTED]` and lists their paths in `redacted`."""

    def __init__(
        self,
        keys: Sequence[str] = (),
        patterns: Sequence[str] = (),
        allow: Sequence[str] = (),
    ) -> None:
        self.keys = tuple(keys)
        self.patterns = tuple(patterns)
        self.allow = tuple(allow)

    @classmethod
    def from_settings(cls, settings: RedactionSettings) -> Redactor | None:
        if not settings:
            return None
        if settings is True:
            return cls()
        return cls(**dict(settings))

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        return event_dict
