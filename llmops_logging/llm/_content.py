"""Message content in OpenTelemetry's GenAI shape: `{"role", "parts": [{"type", ...}]}`.

Only what the SDK modules share: part builders and a tolerant reader for request items,
which callers pass as dicts, TypedDicts or the SDKs' own pydantic models.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def text_part(content: Any) -> dict[str, Any]:
    return {"type": "text", "content": content}


def tool_call_part(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    part: dict[str, Any] = {"type": "tool_call", "id": call_id, "name": name}
    if arguments is not None:
        part["arguments"] = arguments
    return part


def tool_response_part(call_id: Any, response: Any) -> dict[str, Any]:
    return {"type": "tool_call_response", "id": call_id, "response": response}
