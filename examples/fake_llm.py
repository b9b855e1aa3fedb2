"""A tiny stand-in for the OpenAI and Anthropic HTTP APIs, stdlib only: for examples and tests.

    server = FakeLLM.start()            # 127.0.0.1, a free port, a daemon thread
    OpenAI(base_url=server.openai_url, api_key="fake")
    Anthropic(base_url=server.anthropic_url, api_key="fake")
    server.stop()                       # or: with FakeLLM.start() as server: ...

OpenAI's `POST /v1/chat/completions`, `/v1/responses` and `/v1/embeddings` and Anthropic's
`POST /v1/messages` answer in the providers' shapes, plain or as a server-sent-event stream
(`"stream": true`; a chat stream ends with a usage chunk when `stream_options.include_usage`
asks for it). The reply is canned: a chat request that offers tools and has no tool result yet
gets a tool call; the model `FAIL_MODEL` gets an HTTP 404 in the provider's error shape; usage
reports cached and reasoning tokens, and the response names the dated snapshot of the model
(`SNAPSHOTS`), as the real APIs do. Tests plan other replies per path (`plan`: an error status
with headers, a longer stream, a stream that fails midway) and read what was asked
(`requests`). The body builders are plain functions, so a benchmark can serve the same bytes
from an in-process transport (`respond`).
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAIL_MODEL = "no-such-model"
REPLY = "Your order shipped on Monday and arrives tomorrow."
CHAT_ID = "chatcmpl-fake1"
RESPONSE_ID = "resp_fake1"
MESSAGE_ID = "msg_fake1"
SNAPSHOTS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "claude-sonnet-4-6": "claude-sonnet-4-6-20260217",
}
"""The dated model a response names for the model a request asked for (others: as asked)."""
CACHED_TOKENS = 4  # OpenAI: prompt tokens read from the cache (at most the prompt)
REASONING_TOKENS = 1  # OpenAI: completion tokens spent reasoning
CACHE_READ_TOKENS = 100  # Anthropic: input read from the prompt cache (beside input_tokens)
CACHE_WRITE_TOKENS = 10  # Anthropic: input written to the prompt cache


@dataclass
class Reply:
    """A planned reply: `status` with `body` (or a generic error body) and `headers`; for a
    stream, `chunks` words (`w0 `, `w1 `, ...) instead of the canned text, or
    `fail_mid_stream`: one chunk of text, then an error event."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    chunks: int | None = None
    fail_mid_stream: bool = False


@dataclass
class Seen:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def words_of(reply: Reply | None = None) -> list[str]:
    """The pieces a stream sends: the canned text's words, or `reply.chunks` numbered words."""
    if reply is not None and reply.chunks:
        return [f"w{i} " for i in range(reply.chunks)]
    words = REPLY.split(" ")
    return [w + " " for w in words[:-1]] + words[-1:]


def tokens(content: Any) -> int:
    """A rough token count (four characters a token), enough for usage numbers."""
    return max(1, len(json.dumps(content)) // 4)


def snapshot(request: dict[str, Any], default: str) -> str:
    model = str(request.get("model") or default)
    return SNAPSHOTS.get(model, model)


# -- OpenAI chat completions ------------------------------------------------------------------


def openai_usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": min(CACHED_TOKENS, prompt)},
        "completion_tokens_details": {"reasoning_tokens": min(REASONING_TOKENS, completion)},
    }


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
    completion = 9 if wants_tool else len(words_of())
    return {
        "id": CHAT_ID,
        "object": "chat.completion",
        "created": 1764460800,
        "model": snapshot(request, "gpt-4o-mini"),
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if wants_tool else "stop",
            }
        ],
        "usage": openai_usage(tokens(messages), completion),
    }


def openai_chat_chunks(
    request: dict[str, Any], reply: Reply | None = None
) -> Iterator[dict[str, Any]]:
    """The reply as `chat.completion.chunk`s; a usage chunk when the request asks for it."""
    whole = openai_chat({**request, "tools": None})
    base = {k: whole[k] for k in ("id", "created", "model", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"
    first = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
    yield {**base, "choices": [first]}
    words = words_of(reply)
    for word in words:
        yield {**base, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    if (request.get("stream_options") or {}).get("include_usage"):
        usage = openai_usage(whole["usage"]["prompt_tokens"], len(words))
        yield {**base, "choices": [], "usage": usage}


def openai_error(model: str) -> dict[str, Any]:
    return {
        "error": {
            "message": f"The model `{model}` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }


# -- OpenAI responses and embeddings ----------------------------------------------------------


def openai_response(request: dict[str, Any], status: str = "completed") -> dict[str, Any]:
    """A `response` object: one output message with the canned text."""
    prompt = tokens([request.get("instructions"), request.get("input")])
    completion = len(words_of())
    text = {"type": "output_text", "text": REPLY, "annotations": []}
    message = {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed"}
    return {
        "id": RESPONSE_ID,
        "object": "response",
        "created_at": 1764460800,
        "model": snapshot(request, "gpt-4o-mini"),
        "status": status,
        "output": [{**message, "content": [text]}],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": prompt,
            "output_tokens": completion,
            "total_tokens": prompt + completion,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": REASONING_TOKENS},
        },
    }


def openai_response_events(request: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The same response as the `(event, data)` pairs of a Responses stream."""
    created = {**openai_response(request, "in_progress"), "output": [], "usage": None}
    yield (
        "response.created",
        {"type": "response.created", "sequence_number": 0, "response": created},
    )
    number = 0
    for number, word in enumerate(words_of(), start=1):
        delta = {"item_id": "msg_1", "output_index": 0, "content_index": 0, "logprobs": []}
        event = {"type": "response.output_text.delta", "sequence_number": number, "delta": word}
        yield "response.output_text.delta", {**event, **delta}
    done = {"type": "response.completed", "sequence_number": number + 1}
    yield "response.completed", {**done, "response": openai_response(request)}


def openai_embeddings(request: dict[str, Any]) -> dict[str, Any]:
    prompt = tokens(request.get("input"))
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
        "model": snapshot(request, "text-embedding-3-small"),
        "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
    }


# -- Anthropic messages -----------------------------------------------------------------------


def anthropic_message(request: dict[str, Any]) -> dict[str, Any]:
    prompt = tokens([request.get("system"), request.get("messages")])
    return {
        "id": MESSAGE_ID,
        "type": "message",
        "role": "assistant",
        "model": snapshot(request, "claude-haiku-4-5"),
        "content": [{"type": "text", "text": REPLY}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": prompt,
            "output_tokens": len(words_of()),
            "cache_read_input_tokens": CACHE_READ_TOKENS,
            "cache_creation_input_tokens": CACHE_WRITE_TOKENS,
        },
    }


def anthropic_events(
    request: dict[str, Any], reply: Reply | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The reply as the `(event, data)` pairs of a Messages stream."""
    whole = anthropic_message(request)
    start = {**whole, "content": [], "stop_reason": None}
    start["usage"] = {**whole["usage"], "output_tokens": 1}
    yield "message_start", {"type": "message_start", "message": start}
    block = {"type": "text", "text": ""}
    yield "content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}
    words = words_of(reply)
    for word in words:
        delta = {"type": "text_delta", "text": word}
        yield "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": len(words)},
        },
    )
    yield "message_stop", {"type": "message_stop"}


def anthropic_error(model: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": "not_found_error", "message": f"model: {model}"},
    }


# -- routing ----------------------------------------------------------------------------------


def sse(events: Iterator[tuple[str | None, Any]]) -> Iterator[bytes]:
    """Server-sent events: `event:` lines when named, one `data:` line of JSON each."""
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        body = data if isinstance(data, str) else json.dumps(data)
        yield f"{head}data: {body}\n\n".encode()


def respond(
    path: str, request: dict[str, Any], reply: Reply | None = None
) -> tuple[int, Any, Iterator[bytes] | None]:
    """Status, JSON body, or SSE chunks for one API request: shared by server and transports."""
    reply = reply or Reply()
    if reply.status != 200:
        body = reply.body or {"error": {"message": f"status {reply.status}", "type": "fake"}}
        return reply.status, body, None
    if reply.body is not None:  # a planned body, whatever a provider might send
        return 200, reply.body, None
    model = str(request.get("model", ""))
    stream = bool(request.get("stream"))
    if path.endswith("/chat/completions"):
        if model == FAIL_MODEL:
            return 404, openai_error(model), None
        if stream and reply.fail_mid_stream:
            pieces = openai_chat_chunks(request, reply)
            next(pieces)  # the role chunk: the failing stream sends one with content
            first = next(pieces)
            error = {"error": {"message": "The server had an error mid-stream", "type": "server"}}
            return 200, None, sse(iter([(None, first), (None, error)]))
        if stream:
            chunks = ((None, c) for c in openai_chat_chunks(request, reply))
            return 200, None, sse(_then_done(chunks))
        return 200, openai_chat(request), None
    if path.endswith("/responses"):
        if stream:
            return 200, None, sse(iter(openai_response_events(request)))
        return 200, openai_response(request), None
    if path.endswith("/embeddings"):
        return 200, openai_embeddings(request), None
    if path.endswith("/messages"):
        if model == FAIL_MODEL:
            return 404, anthropic_error(model), None
        if stream:
            return 200, None, sse(iter(anthropic_events(request, reply)))
        return 200, anthropic_message(request), None
    return 404, {"error": {"message": f"no route {path}", "type": "not_found"}}, None


def _then_done(chunks: Iterator[tuple[None, Any]]) -> Iterator[tuple[str | None, Any]]:
    yield from chunks
    yield None, "[DONE]"


# -- the server -------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            request = {}
        path = self.path.split("?")[0]
        reply = self.server.fake.take(Seen(path, dict(self.headers.items()), request))
        status, body, chunks = respond(path, request, reply)
        self.send_response(status)
        for name, value in (reply.headers if reply else {}).items():
            self.send_header(name, value)
        if chunks is None:
            data = json.dumps(body).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == 404:  # nothing to retry
                self.send_header("x-should-retry", "false")
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
                self.wfile.flush()
        except OSError:  # the client closed a stream it did not read to the end
            pass
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the example's log is the point, not the server's access lines."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeLLM


class FakeLLM:
    """The server on 127.0.0.1 at a free port, served from a daemon thread."""

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.port = server.server_address[1]
        self.anthropic_url = f"http://127.0.0.1:{self.port}"
        self.openai_url = f"{self.anthropic_url}/v1"
        self.seen: list[Seen] = []
        self._planned: dict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @classmethod
    def start(cls) -> FakeLLM:
        server = _Server(("127.0.0.1", 0), _Handler)
        fake = server.fake = cls(server)
        fake._thread = threading.Thread(target=server.serve_forever, name="fake-llm", daemon=True)
        fake._thread.start()
        return fake

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeLLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def plan(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to `path` (`/v1/messages`, ...) with `replies`, in order."""
        with self._lock:
            self._planned[path].extend(replies)

    def requests(self, path: str) -> list[Seen]:
        """The requests received at `path` so far."""
        with self._lock:
            return [seen for seen in self.seen if seen.path == path]

    def take(self, seen: Seen) -> Reply | None:
        """Remember a request; the reply planned for its path, if any."""
        with self._lock:
            self.seen.append(seen)
            planned = self._planned[seen.path]
            return planned.popleft() if planned else None
