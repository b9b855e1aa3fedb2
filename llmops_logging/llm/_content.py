"""Message content in OpenTelemetry's GenAI shape: `{"role", "parts": [{"type", ...}]}`.

Only what the SDK modules share: part builders, a tolerant reader for request items, which
callers pass as dicts, TypedDicts or the SDKs' own pydantic models, and the pieces of a
streamed message. A stream is put back together into the shape the SDK's reply has when not
streamed and then converted by the same function, so the two records cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


def as_mapping(item: Any) -> Mapping[str, Any]:
    """A request item's fields: the mapping itself, a model's fields, or nothing."""
    if isinstance(item, Mapping):
        return item
    dump = getattr(item, "model_dump", None)
    if callable(dump):
        fields = dump(exclude_none=True)
        if isinstance(fields, Mapping):
            return fields
    return {}


def field_of(item: Any, name: str) -> Any:
    """`item[name]` of a mapping, `item.name` of an SDK model; None when absent."""
    if type(item) is dict or isinstance(item, Mapping):  # a dict skips the ABC check
        return item.get(name)
    return getattr(item, name, None)


class Pieces:
    """Text that a stream sends in pieces, per key (a content index, a field name): joined
    once at the end, so a long stream costs linear time."""

    __slots__ = ("_pieces",)

    def __init__(self) -> None:
        self._pieces: dict[Any, list[str]] = {}

    def add(self, key: Any, piece: Any) -> None:
        if isinstance(piece, str) and piece:
            self._pieces.setdefault(key, []).append(piece)

    def __contains__(self, key: Any) -> bool:
        return key in self._pieces

    def __iter__(self) -> Iterator[Any]:
        return iter(self._pieces)

    def text(self, key: Any) -> str | None:
        """The pieces of `key` joined; None when none came."""
        pieces = self._pieces.get(key)
        return None if pieces is None else "".join(pieces)


def text_part(content: Any) -> dict[str, Any]:
    return {"type": "text", "content": content}


def tool_call_part(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    part: dict[str, Any] = {"type": "tool_call", "id": call_id, "name": name}
    if arguments is not None:
        part["arguments"] = arguments
    return part


def tool_response_part(call_id: Any, response: Any) -> dict[str, Any]:
    return {"type": "tool_call_response", "id": call_id, "response": response}
