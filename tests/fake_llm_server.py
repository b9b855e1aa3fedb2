"""A local fake of the OpenAI and Anthropic HTTP APIs for tests: stdlib only, 127.0.0.1.

Serves OpenAI-shaped chat completions, responses and embeddings and Anthropic-shaped
messages, plain JSON or SSE streams (chosen by the request's `stream` and
`stream_options.include_usage`), so the real SDKs parse them into their own types. Replies
can be planned per path (an error status, a long stream); every request is remembered.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_MODEL = "gpt-4o-mini-2024-07-18"
EMBEDDING_MODEL = "text-embedding-3-small"
CLAUDE_MODEL = "claude-sonnet-4-6-20260217"


@dataclass
class Reply:
    """A planned reply: a status with a JSON error body, a longer stream (`chunks`), or a
    chat stream that sends one chunk and then an error event."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    chunks: int | None = None
    fail_mid_stream: bool = False


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def _sse(events: list[tuple[str | None, Any]]) -> bytes:
    lines = []
    for name, data in events:
        if name:
            lines.append(f"event: {name}")
        lines.append("data: " + (data if isinstance(data, str) else json.dumps(data)))
        lines.append("")
    return ("\n".join(lines) + "\n").encode()


def chat_completion() -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": CHAT_MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there"},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 3,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 1},
        },
    }


def chat_stream(include_usage: bool, chunks: int) -> bytes:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-2",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": CHAT_MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    events: list[tuple[str | None, Any]] = [(None, chunk({"role": "assistant", "content": ""}))]
    words = ["Hel", "lo"] if chunks <= 2 else [f"w{i} " for i in range(chunks)]
    events += [(None, chunk({"content": word})) for word in words]
    events.append((None, chunk({}, "stop")))
    if include_usage:
        usage = {"prompt_tokens": 8, "completion_tokens": len(words), "total_tokens": 8 + 2}
        events.append(
            (
                None,
                {
                    "id": "chatcmpl-2",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": CHAT_MODEL,
                    "choices": [],
                    "usage": usage,
                },
            )
        )
    events.append((None, "[DONE]"))
    return _sse(events)


def response_object(status: str = "completed") -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "model": CHAT_MODEL,
        "status": status,
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [
                    {"type": "output_text", "text": "Hi from responses", "annotations": []}
                ],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 10,
            "output_tokens": 4,
            "total_tokens": 14,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 2},
        },
    }


def responses_stream() -> bytes:
    created = {**response_object("in_progress"), "output": [], "usage": None}
    events: list[tuple[str | None, Any]] = [
        (
            "response.created",
            {"type": "response.created", "sequence_number": 0, "response": created},
        )
    ]
    for n, word in enumerate(["Hi ", "from ", "responses"], start=1):
        events.append(
            (
                "response.output_text.delta",
                {
                    "type": "response.output_text.delta",
                    "sequence_number": n,
                    "item_id": "msg_1",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": word,
                    "logprobs": [],
                },
            )
        )
    events.append(
        (
            "response.completed",
            {"type": "response.completed", "sequence_number": 9, "response": response_object()},
        )
    )
    return _sse(events)


def embeddings() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
        "model": EMBEDDING_MODEL,
        "usage": {"prompt_tokens": 5, "total_tokens": 5},
    }


def anthropic_message() -> dict[str, Any]:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": CLAUDE_MODEL,
        "content": [{"type": "text", "text": "Hello from Claude"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 20,
            "output_tokens": 5,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 10,
        },
    }


def anthropic_stream(chunks: int) -> bytes:
    start = {
        **anthropic_message(),
        "id": "msg_02",
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 20, "output_tokens": 1, "cache_read_input_tokens": 100},
    }
    words = ["Hel", "lo"] if chunks <= 2 else [f"w{i} " for i in range(chunks)]
    events: list[tuple[str | None, Any]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
    ]
    for word in words:
        delta = {"type": "text_delta", "text": word}
        events.append(
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
        )
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 7},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return _sse(events)


class FakeLlmServer:
    """The server; `base_url` for OpenAI clients ends in `/v1`, `root_url` is for Anthropic."""

    def __init__(self) -> None:
        self.planned: dict[str, deque[Reply]] = defaultdict(deque)
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                path = self.path.split("?")[0]
                with server.lock:
                    server.seen.append(Seen(path, dict(self.headers.items()), body))
                    planned = server.planned[path]
                    reply = planned.popleft() if planned else Reply()
                server.respond(self, path, body, reply)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        host, port = self.httpd.server_address[:2]
        self.root_url = f"http://{host}:{port}"
        self.base_url = self.root_url + "/v1"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def plan(self, path: str, *replies: Reply) -> None:
        with self.lock:
            self.planned[path].extend(replies)

    def requests(self, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path == path]

    def respond(
        self, handler: BaseHTTPRequestHandler, path: str, body: dict[str, Any], reply: Reply
    ) -> None:
        if reply.status != 200:
            error = reply.body or {"error": {"message": f"status {reply.status}", "type": "x"}}
            self._send(handler, reply.status, "application/json", json.dumps(error).encode(), reply)
            return
        chunks = reply.chunks or 2
        stream = bool(body.get("stream"))
        if path == "/v1/chat/completions" and stream and reply.fail_mid_stream:
            first = chat_stream(False, 2).split(b"\n\n")[1]
            error = {"error": {"message": "The server had an error mid-stream", "type": "server"}}
            payload = first + b"\n\n" + _sse([(None, error)])
        elif path == "/v1/chat/completions":
            if stream:
                include = bool((body.get("stream_options") or {}).get("include_usage"))
                payload = chat_stream(include, chunks)
            else:
                payload = json.dumps(chat_completion()).encode()
        elif path == "/v1/responses":
            payload = responses_stream() if stream else json.dumps(response_object()).encode()
        elif path == "/v1/embeddings":
            payload = json.dumps(embeddings()).encode()
        elif path == "/v1/messages":
            payload = (
                anthropic_stream(chunks) if stream else json.dumps(anthropic_message()).encode()
            )
        else:
            self._send(handler, 404, "application/json", b'{"error": {"message": "no"}}', reply)
            return
        kind = "text/event-stream" if stream else "application/json"
        self._send(handler, 200, kind, payload, reply)

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, kind: str, payload: bytes, reply: Reply
    ) -> None:
        handler.send_response(status)
        handler.send_header("content-type", kind)
        handler.send_header("content-length", str(len(payload)))
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)

    def __enter__(self) -> FakeLlmServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@contextmanager
def fake_llm_server() -> Iterator[FakeLlmServer]:
    with FakeLlmServer() as server:
        yield server
