"""`export --format otlp --protocol http/protobuf` writes one binary `ExportTraceServiceRequest`
holding the spans the OTLP/JSON export holds, ids as 16 and 8 raw bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("opentelemetry.proto")

from ._otlp_receiver import spans_of_protobuf
from .test_ship import app, assert_same_spans, exported


def test_the_protobuf_export_holds_the_json_exports_spans(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    app(log_dir, 12)
    from llmops_logging.cli import main

    out = tmp_path / "traces.otlp.pb"
    assert main(["export", str(log_dir), "--format", "otlp", "--protocol", "http/protobuf",
                 "--out", str(out)]) == 0  # fmt: skip
    found = spans_of_protobuf(out.read_bytes())
    spans = {(span["traceId"], span["spanId"]): span for _, span in found}
    assert len(spans) == len(found) == 12 * 4
    assert_same_spans(spans, exported(log_dir))
    for resource, span in found:
        assert len(span["traceId"]) == 32 and len(span["spanId"]) == 16
        assert {"key": "service.name", "value": {"stringValue": "llmops_logging"}} in resource
