"""Conversations and users: `ll.run(..., conversation_id=..., user_id=...)` stamps every record
of the run with `gen_ai.conversation.id` and `user.id`, never redacted; `runs` groups and
filters by conversation."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from pathlib import Path
from typing import Any

import pytest

import llmops_logging as ll

from .conftest import cli, read_records

TOKEN_LIKE = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlMTIz"
"""A conversation id shaped like a JWT: the scanner would take it for a secret anywhere else."""


def _identities(record: dict[str, Any]) -> tuple[Any, Any]:
    gen_ai = record.get("gen_ai")
    user = record.get("user")
    conversation = gen_ai.get("conversation") if isinstance(gen_ai, dict) else None
    return (
        conversation.get("id") if isinstance(conversation, dict) else None,
        user.get("id") if isinstance(user, dict) else None,
    )


def test_every_record_of_the_run_carries_the_conversation_and_user(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    log = ll.get_logger("app")

    @ll.tool
    def echo(text: str) -> str:
        return text

    def in_thread() -> None:
        log.info("from a thread")

    with ll.run("turn", conversation_id="conv-1", user_id="u-42"):
        log.info("hello")
        logging.getLogger("sdk").warning("stdlib record")
        with ll.agent("helper"), ll.step("inner"):
            echo("hi")
            with ll.llm_call("m", provider="local") as call:
                call.set_usage(1, 1)
            ll.handoff("other")
        with ll.run("nested"):
            log.info("in a nested run")
    ll.get_logger().info("after the run")
    records = read_records(tmp_path)
    inside, after = records[:-1], records[-1]
    kinds = {r["kind"] for r in inside}
    assert {"run_start", "run_ok", "step_start", "step_ok", "tool_call", "llm_call"} <= kinds
    assert {"handoff", "log"} <= kinds
    for record in inside:
        assert _identities(record) == ("conv-1", "u-42"), record
    (call,) = [r for r in inside if r["kind"] == "llm_call"]
    assert call["gen_ai"]["provider"] == {"name": "local"}  # merged, not replaced
    (agent,) = [r for r in inside if r["kind"] == "step_start" and r["name"] == "helper"]
    assert agent["gen_ai"]["agent"] == {"name": "helper"}
    assert _identities(after) == (None, None)
    assert "gen_ai" not in after and "user" not in after


def test_the_conversation_id_is_never_redacted(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    ll.get_logger().info("a real session token", session_id=TOKEN_LIKE)
    with ll.run("turn", conversation_id=TOKEN_LIKE, user_id=TOKEN_LIKE):
        ll.get_logger().info("hello", session_id="abc123-real-session")
    ll.get_logger().info("a token in text", note=f"token {TOKEN_LIKE}")
    first, start, hello, end, text = read_records(tmp_path)
    assert first["session_id"] == "[REDACTED]"  # a session token under its own name: hidden
    assert text["note"] == "token [REDACTED]"  # the same text as a value: a JWT, hidden
    assert hello["session_id"] == "[REDACTED]"
    assert TOKEN_LIKE not in str(first) + str(text) + str(hello["session_id"])
    for record in (start, hello, end):
        assert _identities(record) == (TOKEN_LIKE, TOKEN_LIKE)
        assert "redacted" not in record or "gen_ai.conversation.id" not in record["redacted"]


def test_a_user_field_named_user_is_kept_apart(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    with ll.run("turn", user_id="u-1"):
        ll.get_logger().info("hello", user="bob")
    hello = read_records(tmp_path)[1]
    assert hello["user"] == {"id": "u-1"} and hello["user_user"] == "bob"


def test_concurrent_runs_keep_their_own_conversations(tmp_path: Path) -> None:
    ll.configure(tmp_path)

    async def turn(n: int) -> None:
        with ll.run("turn", conversation_id=f"c{n}"):
            for _ in range(3):
                await asyncio.sleep(0)
                ll.get_logger().info("tick", n=n)

    async def main() -> None:
        await asyncio.gather(*(turn(n) for n in range(3)))

    def threaded(n: int) -> None:
        with ll.run("turn", conversation_id=f"t{n}"):
            ll.get_logger().info("tick", n=n)

    asyncio.run(main())
    threads = [threading.Thread(target=threaded, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for record in read_records(tmp_path):
        if record["event"] == "tick":
            prefix = _identities(record)[0][0]
            assert _identities(record)[0] == f"{prefix}{record['n']}"


def test_runs_filters_and_groups_by_conversation(tmp_path: Path) -> None:
    ll.configure(tmp_path)
    for conversation, turns in (("chat-a", 2), ("chat-b", 1)):
        for _ in range(turns):
            with (
                ll.run("turn", conversation_id=conversation, user_id="u1"),
                ll.llm_call("m", provider="local") as call,
            ):
                call.set_usage(10, 5)
    with pytest.raises(RuntimeError), ll.run("turn", conversation_id="chat-b", user_id="u2"):
        with ll.run("sub"), ll.llm_call("m", provider="local") as call:
            call.set_usage(1, 1)  # counted in "turn"'s totals: once in the conversation
        raise RuntimeError("failed turn")
    with ll.run("batch"):
        pass
    ll.reset()
    listed = json.loads(cli("runs", tmp_path, "--json").stdout)["runs"]
    conversations = [r.get("conversation_id") for r in listed]
    assert conversations == ["chat-a", "chat-a", "chat-b", "chat-b", "chat-b", None]
    assert [r.get("user_id") for r in listed] == ["u1", "u1", "u1", "u2", "u2", None]
    only = json.loads(cli("runs", tmp_path, "--conversation", "chat-a", "--json").stdout)
    assert [r["conversation_id"] for r in only["runs"]] == ["chat-a", "chat-a"]
    grouped = json.loads(cli("runs", tmp_path, "--by", "conversation", "--json").stdout)
    rows = {r["conversation_id"]: r for r in grouped["conversations"]}
    assert set(rows) == {"chat-a", "chat-b"}
    assert rows["chat-a"]["runs"] == 2 and rows["chat-b"]["runs"] == 2  # "sub" is inside
    assert rows["chat-a"]["llm_calls"] == 2 and rows["chat-a"]["input_tokens"] == 20
    assert rows["chat-b"]["llm_calls"] == 2 and rows["chat-b"]["input_tokens"] == 11
    assert rows["chat-a"]["errors"] == 0 and rows["chat-a"]["users"] == ["u1"]
    assert rows["chat-b"]["errors"] == 1 and rows["chat-b"]["users"] == ["u1", "u2"]
    text = cli("runs", tmp_path, "--by", "conversation", "--color", "never").stdout
    assert "chat-a" in text and "chat-b" in text
    plain = cli("runs", tmp_path, "--conversation", "chat-b", "--color", "never").stdout
    assert plain.count("turn") == 2 and "sub" in plain and "batch" not in plain
    assert plain.splitlines()[0].split()[-1] == "conversation" and plain.count("chat-b") == 3
