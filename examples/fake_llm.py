"""A tiny stand-in for the OpenAI, Anthropic and Gemini HTTP APIs, stdlib only: for examples
and tests.

    server = FakeLLM.start()            # 127.0.0.1, a free port, a daemon thread
    OpenAI(base_url=server.openai_url, api_key="fake")
    Anthropic(base_url=server.anthropic_url, api_key="fake")
    genai.Client(api_key="fake", http_options=types.HttpOptions(base_url=server.gemini_url))
    server.stop()                       # or: with FakeLLM.start() as server: ...

OpenAI's `POST /v1/chat/completions`, `/v1/responses` and `/v1/embeddings`, Anthropic's
`POST /v1/messages` and Gemini's `POST /v1beta/models/{model}:generateContent` (and
`:streamGenerateContent?alt=sse`) answer in the providers' shapes, plain or as a
server-sent-event stream (`"stream": true`; a chat stream ends with a usage chunk when
`stream_options.include_usage` asks for it). The reply is canned: a request that offers tools
and has no tool result yet gets one call of each tool offered (parallel calls), in every API;
streamed, as the providers stream them: arguments in several pieces, OpenAI's chat calls
interleaved by index, Responses function-call events, Anthropic `input_json_delta`s, Gemini's
calls whole in one chunk. The model `FAIL_MODEL` gets an HTTP 404 in the provider's error
shape; usage reports cached and reasoning tokens, and the response names the dated snapshot
of the model (`SNAPSHOTS`), as the real APIs do. Tests plan other replies per path (`plan`:
an error status with headers, a longer stream, a stream that fails midway or pauses before
its end) and read what was asked (`requests`). The body builders are plain functions, so a
benchmark can serve the same bytes from an in-process transport (`respond`).
"""

from __future__ import annotations

import json
import threading
import time
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
    "gemini-2.5-flash": "gemini-2.5-flash-001",
}
"""The dated model a response names for the model a request asked for (others: as asked)."""
CACHED_TOKENS = 4  # OpenAI: prompt tokens read from the cache (at most the prompt)
REASONING_TOKENS = 1  # OpenAI: completion tokens spent reasoning
CACHE_READ_TOKENS = 100  # Anthropic: input read from the prompt cache (beside input_tokens)
CACHE_WRITE_TOKENS = 10  # Anthropic: input written to the prompt cache
GEMINI_ID = "gemini_fake1"
GEMINI_CACHED_TOKENS = 3  # Gemini: prompt tokens from cached content (part of the prompt)
GEMINI_THOUGHTS_TOKENS = 2  # Gemini: tokens spent thinking (beside the candidates' tokens)


@dataclass
class Reply:
    """A planned reply: `status` with `body` (or a generic error body) and `headers`; for a
    stream, `chunks` words (`w0 `, `w1 `, ...) instead of the canned text, or
    `fail_mid_stream`: one chunk of text, then an error event; `pause_before_last` seconds
    of silence before a stream's last event (the first content comes clearly earlier)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    chunks: int | None = None
    fail_mid_stream: bool = False
    pause_before_last: float = 0.0


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


TOOL_TOKENS = 9  # the output tokens of a reply that calls tools


@dataclass(frozen=True)
class ToolCall:
    """One call the fake makes of a tool it was offered."""

    id: str
    name: str
    arguments: dict[str, Any]

    @property
    def json(self) -> str:
        return json.dumps(self.arguments)

    def pieces(self, size: int = 7) -> list[str]:
        """The arguments' JSON cut in pieces, as a stream sends them."""
        text = self.json
        return [text[i : i + size] for i in range(0, len(text), size)]


def tool_calls(names: list[str], prefix: str = "call_") -> list[ToolCall]:
    """One call of each tool named: ids `call_1`, `call_2`, ...; orders `A-1001`, `A-1002`."""
    return [
        ToolCall(f"{prefix}{i}", name, {"order_id": f"A-{1000 + i}"})
        for i, name in enumerate(names, start=1)
    ]


def _chat_tools(request: dict[str, Any]) -> list[ToolCall]:
    """The calls a chat request gets: its tools', unless a tool result is already there."""
    messages = request.get("messages") or []
    if any(m.get("role") == "tool" for m in messages):
        return []
    return tool_calls([t["function"]["name"] for t in request.get("tools") or []])


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
    """A `chat.completion` for the request: tool calls when tools are offered and unused."""
    messages = request.get("messages", [])
    calls = _chat_tools(request)
    wants_tool = bool(calls)
    message: dict[str, Any] = {"role": "assistant", "content": None if wants_tool else REPLY}
    if wants_tool:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.json},
            }
            for call in calls
        ]
    completion = TOOL_TOKENS if wants_tool else len(words_of())
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
    """The reply as `chat.completion.chunk`s; a usage chunk when the request asks for it.

    Tool calls come as OpenAI streams them: each call's id and name first, then its
    arguments in pieces, the calls' pieces interleaved (told apart by `index`)."""
    whole = openai_chat(request)
    base = {k: whole[k] for k in ("id", "created", "model", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return {**base, "choices": [choice]}

    calls = _chat_tools(request)
    completion = whole["usage"]["completion_tokens"]
    if calls:
        yield chunk({"role": "assistant", "content": None})
        for index, call in enumerate(calls):
            function = {"name": call.name, "arguments": ""}
            head = {"index": index, "id": call.id, "type": "function", "function": function}
            yield chunk({"tool_calls": [head]})
        pieces = [call.pieces() for call in calls]
        for step in range(max(len(p) for p in pieces)):
            for index, parts in enumerate(pieces):
                if step < len(parts):
                    more = {"index": index, "function": {"arguments": parts[step]}}
                    yield chunk({"tool_calls": [more]})
        yield chunk({}, "tool_calls")
    else:
        yield chunk({"role": "assistant", "content": ""})
        words = words_of(reply)
        completion = len(words)
        for word in words:
            yield chunk({"content": word})
        yield chunk({}, "stop")
    if (request.get("stream_options") or {}).get("include_usage"):
        usage = openai_usage(whole["usage"]["prompt_tokens"], completion)
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


def _response_tools(request: dict[str, Any]) -> list[ToolCall]:
    """The calls a Responses request gets: its function tools', unless a result is there."""
    items = request.get("input")
    if isinstance(items, list) and any(
        isinstance(i, dict) and i.get("type") == "function_call_output" for i in items
    ):
        return []
    names = [t["name"] for t in request.get("tools") or [] if t.get("type") == "function"]
    return tool_calls(names)


def _function_call_item(call: ToolCall, arguments: str, status: str) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": f"fc_{call.id}",
        "call_id": call.id,
        "name": call.name,
        "arguments": arguments,
        "status": status,
    }


def openai_response(request: dict[str, Any], status: str = "completed") -> dict[str, Any]:
    """A `response` object: one output message with the canned text, or function calls."""
    prompt = tokens([request.get("instructions"), request.get("input")])
    calls = _response_tools(request)
    output: list[dict[str, Any]]
    if calls:
        completion = TOOL_TOKENS
        output = [_function_call_item(call, call.json, "completed") for call in calls]
    else:
        completion = len(words_of())
        text = {"type": "output_text", "text": REPLY, "annotations": []}
        message = {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed"}
        output = [{**message, "content": [text]}]
    return {
        "id": RESPONSE_ID,
        "object": "response",
        "created_at": 1764460800,
        "model": snapshot(request, "gpt-4o-mini"),
        "status": status,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": request.get("tools") or [],
        "usage": {
            "input_tokens": prompt,
            "output_tokens": completion,
            "total_tokens": prompt + completion,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": REASONING_TOKENS},
        },
    }


def openai_response_events(request: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The same response as the `(event, data)` pairs of a Responses stream: text deltas, or
    per function call `output_item.added`, argument deltas, `.done` and `output_item.done`."""
    numbers = iter(range(10**6))

    def event(kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
        return kind, {"type": kind, "sequence_number": next(numbers), **fields}

    created = {**openai_response(request, "in_progress"), "output": [], "usage": None}
    yield event("response.created", response=created)
    calls = _response_tools(request)
    for index, call in enumerate(calls):
        item_id = f"fc_{call.id}"
        added = _function_call_item(call, "", "in_progress")
        yield event("response.output_item.added", output_index=index, item=added)
        for piece in call.pieces():
            yield event(
                "response.function_call_arguments.delta",
                item_id=item_id, output_index=index, delta=piece,
            )  # fmt: skip
        yield event(
            "response.function_call_arguments.done",
            item_id=item_id, output_index=index, name=call.name, arguments=call.json,
        )  # fmt: skip
        done = _function_call_item(call, call.json, "completed")
        yield event("response.output_item.done", output_index=index, item=done)
    if not calls:
        for word in words_of():
            yield event(
                "response.output_text.delta",
                item_id="msg_1", output_index=0, content_index=0, logprobs=[], delta=word,
            )  # fmt: skip
    yield event("response.completed", response=openai_response(request))


def openai_embeddings(request: dict[str, Any]) -> dict[str, Any]:
    prompt = tokens(request.get("input"))
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
        "model": snapshot(request, "text-embedding-3-small"),
        "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
    }


# -- Anthropic messages -----------------------------------------------------------------------


TOOL_PREAMBLE = "Let me look that up."  # Anthropic's text before its tool calls


def _anthropic_tools(request: dict[str, Any]) -> list[ToolCall]:
    """The calls a Messages request gets: its tools', unless a tool result is already there."""
    for message in request.get("messages") or []:
        content = message.get("content")
        if isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in content
        ):
            return []
    return tool_calls([t["name"] for t in request.get("tools") or []], prefix="toolu_")


def anthropic_message(request: dict[str, Any]) -> dict[str, Any]:
    """A `message`: the canned text, or a line of text and a `tool_use` block per tool."""
    prompt = tokens([request.get("system"), request.get("messages")])
    calls = _anthropic_tools(request)
    content: list[dict[str, Any]] = [{"type": "text", "text": TOOL_PREAMBLE if calls else REPLY}]
    content += [
        {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
        for call in calls
    ]
    return {
        "id": MESSAGE_ID,
        "type": "message",
        "role": "assistant",
        "model": snapshot(request, "claude-haiku-4-5"),
        "content": content,
        "stop_reason": "tool_use" if calls else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": prompt,
            "output_tokens": TOOL_TOKENS if calls else len(words_of()),
            "cache_read_input_tokens": CACHE_READ_TOKENS,
            "cache_creation_input_tokens": CACHE_WRITE_TOKENS,
        },
    }


def anthropic_events(
    request: dict[str, Any], reply: Reply | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The reply as the `(event, data)` pairs of a Messages stream: a text block of word
    deltas, then per tool a `tool_use` block whose input comes as `input_json_delta`s."""
    whole = anthropic_message(request)
    start = {**whole, "content": [], "stop_reason": None}
    start["usage"] = {**whole["usage"], "output_tokens": 1}
    yield "message_start", {"type": "message_start", "message": start}

    def block(
        index: int, first: dict[str, Any], deltas: list[dict[str, Any]]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        start = {"type": "content_block_start", "index": index, "content_block": first}
        yield "content_block_start", start
        for delta in deltas:
            data = {"type": "content_block_delta", "index": index, "delta": delta}
            yield "content_block_delta", data
        yield "content_block_stop", {"type": "content_block_stop", "index": index}

    calls = _anthropic_tools(request)
    words = [TOOL_PREAMBLE] if calls else words_of(reply)
    texts = [{"type": "text_delta", "text": word} for word in words]
    yield from block(0, {"type": "text", "text": ""}, texts)
    for index, call in enumerate(calls, start=1):
        first = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        pieces = ["", *call.pieces()]  # the API's first piece is empty
        json_deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
        yield from block(index, first, json_deltas)
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": whole["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": TOOL_TOKENS if calls else len(words)},
        },
    )
    yield "message_stop", {"type": "message_stop"}


def anthropic_error(model: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": "not_found_error", "message": f"model: {model}"},
    }


# -- Gemini generateContent ---------------------------------------------------------------------


def _gemini_tools(request: dict[str, Any]) -> list[ToolCall]:
    """The function calls a request gets: its declared functions', unless one was answered."""
    for content in request.get("contents") or []:
        if any("functionResponse" in part for part in content.get("parts") or []):
            return []
    names = [
        declaration["name"]
        for tool in request.get("tools") or []
        for declaration in tool.get("functionDeclarations") or []
    ]
    return tool_calls(names, prefix="fc_")


def gemini_response(request: dict[str, Any], model: str) -> dict[str, Any]:
    """A `GenerateContentResponse`: the canned text, or a line of text and a call per tool."""
    calls = _gemini_tools(request)
    parts: list[dict[str, Any]] = [{"text": TOOL_PREAMBLE if calls else REPLY}]
    parts += [
        {"functionCall": {"id": call.id, "name": call.name, "args": call.arguments}}
        for call in calls
    ]
    prompt = tokens([request.get("systemInstruction"), request.get("contents")])
    output = TOOL_TOKENS if calls else len(words_of())
    return {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": {
            "promptTokenCount": prompt,
            "candidatesTokenCount": output,
            "cachedContentTokenCount": min(GEMINI_CACHED_TOKENS, prompt),
            "thoughtsTokenCount": GEMINI_THOUGHTS_TOKENS,
            "totalTokenCount": prompt + output + GEMINI_THOUGHTS_TOKENS,
        },
        "modelVersion": SNAPSHOTS.get(model, model),
        "responseId": GEMINI_ID,
    }


def gemini_chunks(
    request: dict[str, Any], model: str, reply: Reply | None = None
) -> Iterator[dict[str, Any]]:
    """The reply as streamed `GenerateContentResponse`s: a word of text each, the function
    calls whole in one chunk, the finish reason and the usage in the last."""
    whole = gemini_response(request, model)
    base = {"modelVersion": whole["modelVersion"], "responseId": GEMINI_ID}
    calls = _gemini_tools(request)
    words = [TOOL_PREAMBLE] if calls else words_of(reply)
    pieces: list[list[dict[str, Any]]] = [[{"text": word}] for word in words]
    if calls:
        pieces.append(whole["candidates"][0]["content"]["parts"][1:])
    usage = {**whole["usageMetadata"], "candidatesTokenCount": TOOL_TOKENS if calls else len(words)}
    for number, parts in enumerate(pieces, start=1):
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        chunk = {**base, "candidates": [candidate]}
        if number == len(pieces):
            candidate["finishReason"] = "STOP"
            chunk["usageMetadata"] = usage
        yield chunk


def gemini_error(model: str) -> dict[str, Any]:
    return {
        "error": {"code": 404, "message": f"models/{model} is not found", "status": "NOT_FOUND"}
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
    if ":generateContent" in path or ":streamGenerateContent" in path:
        return _gemini(path, request, reply)
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


def _gemini(
    path: str, request: dict[str, Any], reply: Reply
) -> tuple[int, Any, Iterator[bytes] | None]:
    model, method = path.rsplit("/", 1)[-1].split(":", 1)
    if model == FAIL_MODEL:
        return 404, gemini_error(model), None
    if method != "streamGenerateContent":
        return 200, gemini_response(request, model), None
    chunks = gemini_chunks(request, model, reply)
    if reply.fail_mid_stream:
        error = {"error": {"code": 500, "message": "failed mid-stream", "status": "INTERNAL"}}
        return 200, None, sse(iter([(None, next(chunks)), (None, error)]))
    return 200, None, sse((None, chunk) for chunk in chunks)


def _then_done(chunks: Iterator[tuple[None, Any]]) -> Iterator[tuple[str | None, Any]]:
    yield from chunks
    yield None, "[DONE]"


def _marking_last(items: Iterator[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Each item with whether it is the last one."""
    previous: bytes | None = None
    for item in items:
        if previous is not None:
            yield previous, False
        previous = item
    if previous is not None:
        yield previous, True


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
        pause = reply.pause_before_last if reply else 0.0
        try:
            for chunk, last in _marking_last(chunks):
                if last and pause:
                    time.sleep(pause)
                self.wfile.write(chunk)
                self.wfile.flush()
        except OSError:  # the client closed a stream it did not read to the end
            pass
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the example's log is the point, not the server's access lines."""


POLL_S = 0.02
"""How often the serving thread looks for `stop`: a stop waits up to this long (the stdlib's
0.5 s, paid by every test that starts a server)."""


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
        self.gemini_url = self.anthropic_url
        self.seen: list[Seen] = []
        self._planned: dict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @classmethod
    def start(cls) -> FakeLLM:
        server = _Server(("127.0.0.1", 0), _Handler)
        fake = server.fake = cls(server)
        fake._thread = threading.Thread(
            target=server.serve_forever, args=(POLL_S,), name="fake-llm", daemon=True
        )
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
