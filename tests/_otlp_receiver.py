"""A local OTLP/HTTP traces receiver for the tests, on `opentelemetry-proto`: it takes protobuf
and JSON bodies (gzipped or not) and keeps every span by (trace id, span id) in hex; faults are
planned on demand: a list of answers for the next requests (503, 429 with Retry-After, 400, a
slow answer), or down (connection refused) for a while."""

from __future__ import annotations

import base64
import contextlib
import gzip
import http.server
import json
import threading
import time
from collections import Counter
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

Span = dict[str, Any]


def _hex(value: str) -> str:
    return base64.b64decode(value).hex()


def spans_of_protobuf(body: bytes) -> list[tuple[list[Any], Span]]:
    """(resource attributes, span in OTLP/JSON form with hex ids) of a protobuf request."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    out = []
    found = json_format.MessageToDict(request, use_integers_for_enums=True)
    for resource_spans in found.get("resourceSpans", []):
        resource = resource_spans.get("resource", {}).get("attributes", [])
        for scope in resource_spans.get("scopeSpans", []):
            for span in scope.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = _hex(span[key])
                out.append((resource, span))
    return out


def spans_of_json(body: bytes) -> list[tuple[list[Any], Span]]:
    json_format.Parse(body, ExportTraceServiceRequest())  # a valid request
    out = []
    for resource_spans in json.loads(body).get("resourceSpans", []):
        resource = resource_spans.get("resource", {}).get("attributes", [])
        for scope in resource_spans.get("scopeSpans", []):
            out += [(resource, span) for span in scope.get("spans", [])]
    return out


class Receiver:
    def __init__(self) -> None:
        self.spans: dict[tuple[str, str], Span] = {}
        self.received: Counter[tuple[str, str]] = Counter()
        self.resources: list[list[Any]] = []
        self.headers: list[dict[str, str]] = []
        self.answers: list[tuple[int, dict[str, str], float]] = []  # status, headers, delay
        self.requests = 0
        self.refused_bodies = 0
        self.lock = threading.Lock()
        self.server: http.server.ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/traces"

    def plan(self, status: int, count: int = 1, delay: float = 0.0, **headers: str) -> None:
        """Answer the next `count` requests with `status` (after `delay` seconds)."""
        with self.lock:
            self.answers += [
                (status, {k.replace("_", "-"): v for k, v in headers.items()}, delay)
            ] * count

    def start(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests += 1
                    status, extra, delay = (
                        receiver.answers.pop(0) if receiver.answers else (200, {}, 0.0)
                    )
                    receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                if delay:
                    time.sleep(delay)
                if status == 200:
                    if self.headers.get("Content-Encoding") == "gzip":
                        body = gzip.decompress(body)
                        if self.headers.get("Content-Type") == "application/x-protobuf":
                            found = spans_of_protobuf(body)
                        else:
                            found = spans_of_json(body)
                    else:
                        status = 415
                        found = []
                    with receiver.lock:
                        for resource, span in found:
                            key = (span["traceId"], span["spanId"])
                            receiver.spans[key] = span
                            receiver.received[key] += 1
                            if resource not in receiver.resources:
                                receiver.resources.append(resource)
                elif status == 400:
                    receiver.refused_bodies += 1
                answer = ExportTraceServiceResponse().SerializeToString() if status == 200 else b""
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the client was killed meanwhile
                    self.wfile.write(answer)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self.server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def down(self, seconds: float) -> None:
        """Refuse connections for `seconds`, then listen again on the same port."""
        self.stop()
        threading.Timer(seconds, self.start).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
