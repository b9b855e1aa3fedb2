"""A log shaped like an agent's: nested steps, LLM calls (the contract's `llm_call` record),
events inside steps, and a failed run with a traceback, written through the public API."""

from __future__ import annotations

import time
from pathlib import Path

import llmops_logging as ll

MODELS = ("gpt-4o-mini", "claude-3-5-haiku")


PRICES = {
    "gpt-4o-mini": {"input_per_mtok": 0.15, "output_per_mtok": 0.6},
    "claude-3-5-haiku": {"input_per_mtok": 0.8, "output_per_mtok": 4.0},
}


class RateLimitError(Exception):
    """An HTTP 429 as an SDK raises it: the record's `error` gains its `status_code`."""

    status_code = 429


def llm_call(model: str, i: int, *, fail: bool = False) -> None:
    """One `llm_call` record, written by `ll.llm_call` in the current step, after a short
    real wait, so that its duration fits inside its step on the clock."""
    provider = "openai" if model.startswith("gpt") else "anthropic"
    with ll.llm_call(model, provider=provider) as call:
        call.set_request(temperature=0.2, max_tokens=256)
        call.input_messages = [
            {"role": "user", "parts": [{"type": "text", "content": f"question {i}"}]}
        ]
        time.sleep(0.002 * (i % 5 + 1))
        call.response_model = model
        call.finish_reasons = ["stop"]
        call.set_usage(120 + i, 30 + i)
        call.output_messages = [
            {"role": "assistant", "parts": [{"type": "text", "content": f"answer {i}"}]}
        ]
        if fail:
            call.finish(RateLimitError("429 Too Many Requests"))


def write_agent_log(log_dir: Path, runs: int = 3, **configure: object) -> list[str]:
    """`runs` runs of plan -> (retrieve, answer with an LLM call); the last run fails."""
    ll.configure(log_dir, **{"prices": PRICES, **configure})  # type: ignore[arg-type]
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
                    with ll.step("answer"):
                        model = MODELS[n % len(MODELS)]
                        llm_call(model, n)
                        if n == runs - 1:
                            llm_call(model, n, fail=True)
                            raise RuntimeError("model refused the ticket")
                    assert plan.step_id
                run.set(ok_rate=1.0)
        except RuntimeError:
            pass
    ll.reset()
    return run_ids
