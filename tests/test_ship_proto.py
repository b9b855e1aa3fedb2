"""The protobuf `ship` and `export --protocol http/protobuf` send is written by hand
(`cli/ship/proto.py`), for speed: it must be, byte for byte, what `opentelemetry-proto`'s own
messages serialize for the same spans, edge values included (empty, zero, false, negative and
int64-extreme values, empty lists, long and non-ASCII text, spans with no name, parent or
status)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.proto")

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from llmops_logging.cli.ship.proto import request_bytes

from .test_ship import app, exported


def _value(target: Any, value: dict[str, Any]) -> None:
    if "stringValue" in value:
        target.string_value = value["stringValue"]
    elif "intValue" in value:
        target.int_value = int(value["intValue"])
    elif "doubleValue" in value:
        target.double_value = value["doubleValue"]
    elif "boolValue" in value:
        target.bool_value = value["boolValue"]
    elif "arrayValue" in value:
        target.array_value.SetInParent()  # an empty array is a value, as protobuf's JSON has it
        values = target.array_value.values
        for item in value["arrayValue"].get("values", ()):
            _value(values.add(), item)


def _attributes(target: Any, attributes: list[dict[str, Any]]) -> None:
    for attribute in attributes:
        added = target.add()
        added.key = attribute["key"]
        _value(added.value, attribute["value"])


def reference(resource: list[dict[str, Any]], scope: str, spans: list[dict[str, Any]]) -> bytes:
    """The same request built with opentelemetry-proto's messages."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    _attributes(resource_spans.resource.attributes, resource)
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = scope
    for span in spans:
        message = scope_spans.spans.add()
        message.trace_id = bytes.fromhex(span["traceId"])
        message.span_id = bytes.fromhex(span["spanId"])
        if "parentSpanId" in span:
            message.parent_span_id = bytes.fromhex(span["parentSpanId"])
        message.name = span["name"]
        message.kind = span["kind"]
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
        if span.get("status") is not None:
            message.status.code = span["status"]["code"]
            if "message" in span["status"]:
                message.status.message = span["status"]["message"]
    return bytes(request.SerializeToString())


VALUES = [
    {"stringValue": ""}, {"stringValue": "é😀" * 100}, {"stringValue": "x" * 20_000},
    {"intValue": "0"}, {"intValue": "-1"}, {"intValue": str(2**63 - 1)},
    {"intValue": str(-(2**63))}, {"intValue": "127"}, {"intValue": "128"},
    {"doubleValue": 0.0}, {"doubleValue": -0.0}, {"doubleValue": 1e308}, {"doubleValue": -2.5},
    {"boolValue": False}, {"boolValue": True}, {"arrayValue": {"values": []}},
    {"arrayValue": {}},
    {"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": ""}, {"boolValue": False}]}},
]  # fmt: skip


def edge_spans() -> list[dict[str, Any]]:
    attributes = [{"key": f"k{i}", "value": value} for i, value in enumerate(VALUES)]
    attributes.append({"key": "", "value": {"stringValue": "empty key"}})
    base = {"traceId": "ab" * 16, "spanId": "cd" * 8, "kind": 1}
    return [
        {**base, "name": "", "kind": 0, "startTimeUnixNano": "0", "endTimeUnixNano": "0",
         "attributes": []},
        {**base, "parentSpanId": "ef" * 8, "name": "full", "startTimeUnixNano": "1",
         "endTimeUnixNano": str(2**64 - 1), "attributes": attributes,
         "events": [{"timeUnixNano": "0", "name": "", "attributes": []},
                    {"timeUnixNano": "5", "name": "e", "attributes": attributes}],
         "droppedEventsCount": 2**32 - 1, "status": {"code": 2, "message": "bad: x"}},
        {**base, "name": "ok", "startTimeUnixNano": "3", "endTimeUnixNano": "4",
         "attributes": [], "status": {"code": 1}},
        {**base, "name": "m", "startTimeUnixNano": "3", "endTimeUnixNano": "4",
         "attributes": [], "status": {"code": 2, "message": ""}},
    ]  # fmt: skip


def test_edge_values_encode_as_opentelemetry_proto_does() -> None:
    resource = [{"key": "service.name", "value": {"stringValue": "svc"}}]
    for spans in ([], edge_spans()):
        assert request_bytes(resource, "scope", spans) == reference(resource, "scope", spans)
    assert request_bytes([], "", edge_spans()) == reference([], "", edge_spans())


def test_an_agents_log_encodes_as_opentelemetry_proto_does(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    app(log_dir, 6)
    spans = list(exported(log_dir).values())
    assert len(spans) == 6 * 4
    resource = [{"key": "service.name", "value": {"stringValue": "llmops_logging"}}]
    ours = request_bytes(resource, "llmops_logging", spans)
    assert ours == reference(resource, "llmops_logging", spans)
    assert json.dumps(spans)  # the spans compared were the export's own


def test_attributes_made_and_freed_in_turn_encode_each_as_its_own() -> None:
    """Encoded attributes are kept by the attribute's identity: one freed and another made at
    its address (as CPython does) is not taken for it; equal values of other types under one
    key, and one value under two keys, encode each as itself."""
    base = {"traceId": "ab" * 16, "spanId": "cd" * 8, "kind": 1, "name": "s",
            "startTimeUnixNano": "1", "endTimeUnixNano": "2"}  # fmt: skip
    for n in range(300):
        value = [{"stringValue": "1"}, {"intValue": "1"}, {"boolValue": True},
                 {"stringValue": str(n)}, {"intValue": str(n)}][n % 5]  # fmt: skip
        spans = [
            {**base, "attributes": [{"key": "k", "value": value}, {"key": "j", "value": value}]}
        ]
        assert request_bytes([], "s", spans) == reference([], "s", spans), n
