"""A tiny stand-in for the OpenAI and Anthropic HTTP APIs, stdlib only, for examples and benchmarks.

    server = FakeLLM.start()            # 127.0.0.1, a free port, a daemon thread
    OpenAI(base_url=server.openai_url, api_key="fake")
    Anthropic(base_url=server.anthropic_url, api_key="fake")

`POST /v1/chat/completions` and `POST /v1/messages` answer in the providers' shapes, plain or
as a server-sent-event stream (`"stream": true`). The reply is canned: a request that offers
tools and has no tool result yet gets a tool call; the model `FAIL_MODEL` gets an HTTP 404 in
the provider's error shape. The body builders are plain functions, so a benchmark can serve the
same bytes from an in-process transport.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAIL_MODEL = "no-such-model"
REPLY = "Your order shipped on Monday and arrives tomorrow."


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w + " " for w in words[:-1]] + words[-1:]


def _tokens(messages: Any) -> int:
    """A rough token count (four characters a token), enough for usage numbers."""
    return max(1, len(json.dumps(messages)) // 4)


# -- OpenAI chat completions ------------------------------------------------------------------


def openai_chat(request: dict[str, Any]) -> dict[str, Any]:
    """A `chat.completion` for the request: a tool call when tools are offered and unused."""
    messages = request.get("messages", [])
    tools = request.get("tools") or []
    wants_tool = bool(tools) and not any(m.get("role") == "tool" for m in messages)
    message: dict[str, Any] = {"role": "assistant", "content": None if wants_tool else REPLY}
    if wants_tool:
        name = tools[0]["function"]["name"]
        message["tool_calls"] = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps({"order_id": "A-1001"})},
            }
        ]
    prompt = _tokens(messages)
    completion = 9 if wants_tool else len(_words(REPLY))
    return {
        "id": "chatcmpl-fake1",
        "object": "chat.completion",
        "created": 1764460800,
        "model": request.get("model", "gpt-4o-mini"),
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if wants_tool else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }


def openai_chat_chunks(request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The same reply as `chat.completion.chunk`s; a usage chunk when the request asks for it."""
    whole = openai_chat({**request, "tools": None})
    base = {k: whole[k] for k in ("id", "created", "model", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"
    first = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
    yield {**base, "choices": [first]}
    for word in _words(REPLY):
        yield {**base, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    if (request.get("stream_options") or {}).get("include_usage"):
        yield {**base, "choices": [], "usage": whole["usage"]}


def openai_error(model: str) -> dict[str, Any]:
    return {
        "error": {
            "message": f"The model `{model}` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }


# -- Anthropic messages -----------------------------------------------------------------------


def anthropic_message(request: dict[str, Any]) -> dict[str, Any]:
    prompt = _tokens([request.get("system"), request.get("messages")])
    return {
        "id": "msg_fake1",
        "type": "message",
        "role": "assistant",
        "model": request.get("model", "claude-haiku-4-5"),
        "content": [{"type": "text", "text": REPLY}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": prompt,
            "output_tokens": len(_words(REPLY)),
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        },
    }


def anthropic_events(request: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The same reply as the `(event, data)` pairs of a Messages stream."""
    whole = anthropic_message(request)
    usage = whole["usage"]
    start = {**whole, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    yield "message_start", {"type": "message_start", "message": start}
    block = {"type": "text", "text": ""}
    yield "content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}
    for word in _words(REPLY):
        delta = {"type": "text_delta", "text": word}
        yield "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        },
    )
    yield "message_stop", {"type": "message_stop"}


def anthropic_error(model: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": "not_found_error", "message": f"model: {model}"},
    }


# -- the server -------------------------------------------------------------------------------


def sse(events: Iterator[tuple[str | None, Any]]) -> Iterator[bytes]:
    """Server-sent events: `event:` lines when named, one `data:` line of JSON each."""
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        body = data if isinstance(data, str) else json.dumps(data)
        yield f"{head}data: {body}\n\n".encode()


def respond(path: str, request: dict[str, Any]) -> tuple[int, Any, Iterator[bytes] | None]:
    """Status, JSON body, or SSE chunks for one API request: shared by server and transports."""
    model = str(request.get("model", ""))
    stream = bool(request.get("stream"))
    if path.endswith("/chat/completions"):
        if model == FAIL_MODEL:
            return 404, openai_error(model), None
        if stream:
            chunks = ((None, c) for c in openai_chat_chunks(request))
            return 200, None, sse(_then_done(chunks))
        return 200, openai_chat(request), None
    if path.endswith("/messages"):
        if model == FAIL_MODEL:
            return 404, anthropic_error(model), None
        if stream:
            return 200, None, sse(iter(anthropic_events(request)))
        return 200, anthropic_message(request), None
    return 404, {"error": {"message": f"no route {path}", "type": "not_found"}}, None


def _then_done(chunks: Iterator[tuple[None, Any]]) -> Iterator[tuple[str | None, Any]]:
    yield from chunks
    yield None, "[DONE]"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            request = {}
        status, body, chunks = respond(self.path, request)
        self.send_response(status)
        if chunks is None:
            data = json.dumps(body).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-should-retry", "false")
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(chunk)
            self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the example's log is the point, not the server's access lines."""


class FakeLLM:
    """The server on 127.0.0.1 at a free port, served from a daemon thread."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        self.port = server.server_address[1]
        self.openai_url = f"http://127.0.0.1:{self.port}/v1"
        self.anthropic_url = f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls) -> FakeLLM:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="fake-llm", daemon=True).start()
        return cls(server)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
