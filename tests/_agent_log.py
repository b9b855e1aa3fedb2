"""A log shaped like an agent's: nested steps, LLM calls (the contract's `llm_call` record),
events inside steps, and a failed run with a traceback, written through the public API."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import llmops_logging as ll

MODELS = ("gpt-4o-mini", "claude-3-5-haiku")


def llm_call(
    model: str, i: int, *, step_id: str, parent_id: str | None, fail: bool = False
) -> None:
    """One `llm_call` record as the instrumentation writes it (see DESIGN.md, LLM calls),
    after a short real wait, so that its duration fits inside its step on the clock."""
    started = time.monotonic()
    time.sleep(0.002 * (i % 5 + 1))
    fields = {
        "kind": "llm_call",
        "gen_ai": {
            "provider": {"name": "openai" if model.startswith("gpt") else "anthropic"},
            "operation": {"name": "chat"},
            "request": {"model": model, "temperature": 0.2, "max_tokens": 256},
            "response": {"model": model, "finish_reasons": ["stop"]},
            "usage": {"input_tokens": 120 + i, "output_tokens": 30 + i},
            "input": {
                "messages": [
                    {"role": "user", "parts": [{"type": "text", "content": f"question {i}"}]}
                ]
            },
            "output": {
                "messages": [
                    {"role": "assistant", "parts": [{"type": "text", "content": f"answer {i}"}]}
                ]
            },
        },
        "duration_s": time.monotonic() - started,
        "cost_usd": 0.0001 * (i + 1),
        "step_id": step_id,
    }
    if parent_id is not None:
        fields["parent_id"] = parent_id
    log = ll.get_logger("agent")
    if fail:
        fields["error"] = {
            "type": "RateLimitError",
            "message": "429 Too Many Requests",
            "traceback": "Traceback (most recent call last):\n  ...\nRateLimitError: 429",
            "status_code": 429,
        }
        log.error(f"chat {model}", **fields)
    else:
        log.info(f"chat {model}", **fields)


def write_agent_log(log_dir: Path, runs: int = 3, **configure: object) -> list[str]:
    """`runs` runs of plan -> (retrieve, answer with an LLM call); the last run fails."""
    ll.configure(log_dir, **configure)  # type: ignore[arg-type]
    log = ll.get_logger("agent")
    run_ids = []
    for n in range(runs):
        try:
            with ll.run("triage", ticket=n) as run:
                run_ids.append(run.run_id)
                with ll.step("plan") as plan:
                    log.info("thinking", kind="log", idea=f"idea {n}")
                    with ll.step("retrieve", k=5):
                        log.info("tool_call", tool="search", hits=3)
                    with ll.step("answer") as answer:
                        model = MODELS[n % len(MODELS)]
                        llm_call(model, n, step_id=uuid.uuid4().hex, parent_id=answer.step_id)
                        if n == runs - 1:
                            llm_call(
                                model,
                                n,
                                step_id=uuid.uuid4().hex,
                                parent_id=answer.step_id,
                                fail=True,
                            )
                            raise RuntimeError("model refused the ticket")
                    assert plan.step_id
                run.set(ok_rate=1.0)
        except RuntimeError:
            pass
    ll.reset()
    return run_ids
