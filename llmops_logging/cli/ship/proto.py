"""OTLP/JSON spans as OTLP protobuf, the encoding every OTLP/HTTP receiver takes (Phoenix and
MLflow take no other). Ids are hex in OTLP/JSON and raw bytes in protobuf: a 32-digit trace id
is 16 bytes and a 16-digit span id 8 (read as base64, as protobuf's own JSON parser does, they
would be 24 and 12). Needs `opentelemetry-proto`, imported when first used."""

from __future__ import annotations

from typing import Any

from ..._contract import KIND

Span = dict[str, Any]


def _value(target: Any, value: dict[str, Any]) -> None:
    """Fill an `AnyValue` message from its OTLP/JSON form."""
    if "stringValue" in value:
        target.string_value = value["stringValue"]
    elif "intValue" in value:
        target.int_value = int(value["intValue"])
    elif "doubleValue" in value:
        target.double_value = value["doubleValue"]
    elif "boolValue" in value:
        target.bool_value = value["boolValue"]
    elif "arrayValue" in value:
        values = target.array_value.values
        for item in value["arrayValue"].get("values", ()):
            _value(values.add(), item)


def _attributes(target: Any, attributes: list[dict[str, Any]]) -> None:
    for attribute in attributes:
        added = target.add()
        added.key = attribute["key"]
        _value(added.value, attribute["value"])


def request_bytes(resource: list[dict[str, Any]], scope: str, spans: list[Span]) -> bytes:
    """One serialized `ExportTraceServiceRequest` holding `spans` under one resource."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    _attributes(resource_spans.resource.attributes, resource)
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = scope
    out = scope_spans.spans
    for span in spans:
        message = out.add()
        message.trace_id = bytes.fromhex(span["traceId"])
        message.span_id = bytes.fromhex(span["spanId"])
        if "parentSpanId" in span:
            message.parent_span_id = bytes.fromhex(span["parentSpanId"])
        message.name = span["name"]
        message.kind = span[KIND]
        message.start_time_unix_nano = int(span["startTimeUnixNano"])
        message.end_time_unix_nano = int(span["endTimeUnixNano"])
        _attributes(message.attributes, span["attributes"])
        for event in span.get("events", ()):
            added = message.events.add()
            added.time_unix_nano = int(event["timeUnixNano"])
            added.name = event["name"]
            _attributes(added.attributes, event["attributes"])
        if "droppedEventsCount" in span:
            message.dropped_events_count = span["droppedEventsCount"]
        status = span.get("status")
        if status is not None:
            message.status.code = status["code"]
            if "message" in status:
                message.status.message = status["message"]
    return bytes(request.SerializeToString())


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
