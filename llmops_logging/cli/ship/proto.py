"""OTLP/JSON spans as OTLP protobuf, the encoding every OTLP/HTTP receiver takes (Phoenix and
MLflow take no other). Ids are hex in OTLP/JSON and raw bytes in protobuf: a 32-digit trace id
is 16 bytes and a 16-digit span id 8 (read as base64, as protobuf's own JSON parser does, they
would be 24 and 12).

The wire format is written here, field by field in field-number order, as
`opentelemetry-proto`'s messages serialize the same request (tests compare the bytes): building
those messages from Python cost `ship` more than everything else it does per span. Only the
response's partial success is parsed with `opentelemetry-proto`, imported when first needed."""

from __future__ import annotations

import struct
from typing import Any

from ..._contract import KIND

Span = dict[str, Any]
_DOUBLE = struct.Struct("<d").pack
_FIXED64 = struct.Struct("<Q").pack
_SMALL = [bytes((n,)) for n in range(128)]
_KEYS: dict[str, bytes] = {}
MAX_KEYS = 4096
"""Attribute keys kept encoded (`KeyValue.key` with its tag): a log has few distinct ones."""

MAX_KEPT = 4096
"""Encoded `KeyValue`s kept for reuse (`_attributes`); emptied when full."""
_KEPT: dict[int, tuple[dict[str, Any], bytes]] = {}
_KEEP = frozenset(("stringValue", "intValue", "boolValue"))
_KEEP_TEXT = 64

# Tags: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited).
_STRING, _BOOL, _INT, _DOUBLE_TAG, _ARRAY = b"\x0a", b"\x10", b"\x18", b"\x21", b"\x2a"
_KV_VALUE = b"\x12"


def _varint(value: int) -> bytes:
    """A varint; a negative int64 as its 64-bit two's complement (ten bytes), as protobuf."""
    if 0 <= value < 128:
        return _SMALL[value]
    value &= (1 << 64) - 1
    out = bytearray()
    while value > 127:
        out.append(value & 127 | 128)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: bytes, data: bytes) -> bytes:
    """A length-delimited field."""
    size = len(data)
    return tag + (_SMALL[size] if size < 128 else _varint(size)) + data


def _text(tag: bytes, text: str) -> bytes:
    return _field(tag, text.encode())


def _any(value: dict[str, Any]) -> bytes:
    """An `AnyValue`'s bytes from its OTLP/JSON form (one member of its oneof)."""
    if "stringValue" in value:
        return _text(_STRING, value["stringValue"])
    if "intValue" in value:
        return _INT + _varint(int(value["intValue"]))
    if "doubleValue" in value:
        return _DOUBLE_TAG + _DOUBLE(value["doubleValue"])
    if "boolValue" in value:
        return _BOOL + (b"\x01" if value["boolValue"] else b"\x00")
    if "arrayValue" in value:
        items = value["arrayValue"].get("values", ())
        return _field(_ARRAY, b"".join(_field(b"\x0a", _any(item)) for item in items))
    return b""


def _attributes(tag: bytes, attributes: list[dict[str, Any]]) -> list[bytes]:
    """Each `KeyValue` as the repeated field `tag` of its message. Spans repeat models, kinds
    and counts, and `_otlp_values.attribute` makes each such attribute once: its bytes are kept
    here by the attribute's identity (`_KEPT` holds the attribute, so no other takes its id;
    attributes are never changed once made), for those of a short text, int or bool value."""
    out = []
    kept = _KEPT
    for attribute in attributes:
        hit = kept.get(id(attribute))
        if hit is not None and hit[0] is attribute:
            out.append(tag + hit[1])
            continue
        key = attribute["key"]
        value = attribute["value"]
        body = _key_value(key, value)
        out.append(tag + body)
        if len(value) == 1 and len(key) <= _KEEP_TEXT:
            [(member, inner)] = value.items()
            if member in _KEEP and (
                type(inner) is bool or (type(inner) is str and len(inner) <= _KEEP_TEXT)
            ):
                if len(kept) >= MAX_KEPT:
                    kept.clear()
                kept[id(attribute)] = attribute, body
    return out


def _key_value(key: str, value: dict[str, Any]) -> bytes:
    """A `KeyValue`'s bytes with their length before them."""
    head = _KEYS.get(key)
    if head is None:
        head = _text(b"\x0a", key) if key else b""
        if len(_KEYS) >= MAX_KEYS:
            _KEYS.clear()
        _KEYS[key] = head
    text = value.get("stringValue")
    data: bytes
    if text is not None:
        data = text.encode()
        size = len(data)
        data = _STRING + (_SMALL[size] if size < 128 else _varint(size)) + data
    else:
        data = _any(value)
    if data:
        size = len(data)
        data = head + _KV_VALUE + (_SMALL[size] if size < 128 else _varint(size)) + data
    else:
        data = head
    size = len(data)
    return (_SMALL[size] if size < 128 else _varint(size)) + data


def _span(span: Span) -> bytes:
    parts = [
        _field(b"\x0a", bytes.fromhex(span["traceId"])),
        _field(b"\x12", bytes.fromhex(span["spanId"])),
    ]
    if "parentSpanId" in span:
        parts.append(_field(b"\x22", bytes.fromhex(span["parentSpanId"])))
    if span["name"]:
        parts.append(_text(b"\x2a", span["name"]))
    if span[KIND]:
        parts.append(b"\x30" + _varint(span[KIND]))
    start, end = int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])
    if start:
        parts.append(b"\x39" + _FIXED64(start))
    if end:
        parts.append(b"\x41" + _FIXED64(end))
    parts += _attributes(b"\x4a", span["attributes"])
    events = span.get("events")
    if events:
        parts += [_event(event) for event in events]
    if span.get("droppedEventsCount"):
        parts.append(b"\x60" + _varint(span["droppedEventsCount"]))
    status = span.get("status")
    if status is not None:
        body = [_text(b"\x12", status["message"])] if status.get("message") else []
        if status["code"]:
            body.append(b"\x18" + _varint(status["code"]))
        parts.append(_field(b"\x7a", b"".join(body)))
    return b"".join(parts)


def _event(event: dict[str, Any]) -> bytes:
    """A span's `Event` as its field."""
    at = int(event["timeUnixNano"])
    body = [b"\x09" + _FIXED64(at)] if at else []
    if event["name"]:
        body.append(_text(b"\x12", event["name"]))
    body += _attributes(b"\x1a", event["attributes"])
    return _field(b"\x5a", b"".join(body))


def request_bytes(resource: list[dict[str, Any]], scope: str, spans: list[Span]) -> bytes:
    """One serialized `ExportTraceServiceRequest` holding `spans` under one resource."""
    scope_spans = [_field(b"\x0a", _text(b"\x0a", scope) if scope else b"")]
    scope_spans += [_field(b"\x12", _span(span)) for span in spans]
    resource_spans = [_field(b"\x0a", b"".join(_attributes(b"\x0a", resource)))] if resource else []
    resource_spans.append(_field(b"\x12", b"".join(scope_spans)))
    return _field(b"\x0a", b"".join(resource_spans))


def encode_request(request: dict[str, Any]) -> bytes:
    """An OTLP/JSON `ExportTraceServiceRequest` (as `export --format otlp` builds it), as
    protobuf. Serialized requests written one after the other parse as one request holding all
    their spans (protobuf appends repeated fields), so a file of them is one request."""
    return b"".join(
        request_bytes(
            resource_spans["resource"]["attributes"], scope["scope"]["name"], scope["spans"]
        )
        for resource_spans in request["resourceSpans"]
        for scope in resource_spans["scopeSpans"]
    )


def rejected_spans(body: bytes) -> tuple[int, str]:
    """An `ExportTraceServiceResponse`'s partial success: spans refused and why."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    response = ExportTraceServiceResponse()
    try:
        response.ParseFromString(body)
    except Exception:  # a backend's odd answer is not our failure
        return 0, ""
    partial = response.partial_success
    return int(partial.rejected_spans), str(partial.error_message)
