"""Measure how often a support agent answers right, across seeded runs, and gate on it.

    python examples/eval.py [--data-dir data] [--seeds 20]

Starts `fake_llm` on 127.0.0.1 (no API key, no network) and runs a one-call support agent
over 5 dataset items x `--seeds` seeds, for two prompt versions, each repetition a run of its
own (`ll.repeat`: `seed`, `item`, `repetition`, `version`). The fake server is made to answer
some questions wrongly, more often for the harder items and for version `v2`. Code scores
each answer (`correct`: pass/fail, `words`: a number), then `llmops-logs scores` summarises
the pass rates with their 95% intervals, compares the versions, and a gate
(`--fail-under correct=0.8`) fails, as it would fail a CI job.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Any

import fake_llm
from fake_llm import FakeLLM, Reply

try:
    import openai
except ImportError as missing:  # `pip install -e .` alone does not bring the SDK
    sys.exit(f"examples/eval.py needs {missing.name}: pip install -e '.[examples]'")

import llmops_logging as ll
from llmops_logging.cli import main as llmops_logs

MODEL = "gpt-4o-mini"
DATASET = [
    {"id": "A-1001", "question": "Where is my order A-1001?", "difficulty": 0.05},
    {"id": "A-1002", "question": "Has order A-1002 shipped yet?", "difficulty": 0.10},
    {"id": "B-2001", "question": "My parcel B-2001 is late, where is it?", "difficulty": 0.20},
    {"id": "B-2002", "question": "Can you track B-2002 for me?", "difficulty": 0.35},
    {"id": "C-3001", "question": "Order C-3001 never arrived. Status?", "difficulty": 0.50},
]
PROMPTS = {
    "v1": "You are a support agent. Look the order up and say where it is.",
    "v2": "Answer briefly.",
}
EXTRA_FAILURE = {"v1": 0.0, "v2": 0.15}  # v2's terse prompt misses more often
WRONG = "I am sorry, I could not find any information about that order."


def _wrong_answer(request_model: str) -> Reply:
    """A well-formed completion whose answer is wrong: what a flaky model sometimes says."""
    body = fake_llm.openai_chat({"model": request_model, "messages": []})
    body["choices"][0]["message"]["content"] = WRONG
    return Reply(body=body)


def support_task(
    server: FakeLLM, client: openai.OpenAI, version: str
) -> Any:  # the task ll.repeat calls as fn(item, seed)
    def task(item: dict[str, Any], seed: int) -> str:
        miss = item["difficulty"] + EXTRA_FAILURE[version]
        if random.Random(f"{version}/{item['id']}/{seed}").random() < miss:
            server.plan("/v1/chat/completions", _wrong_answer(MODEL))
        reply = client.chat.completions.create(
            model=MODEL,
            seed=seed,
            temperature=0.7,
            messages=[
                {"role": "system", "content": PROMPTS[version]},
                {"role": "user", "content": item["question"]},
            ],
        )
        answer = reply.choices[0].message.content or ""
        ll.score("correct", "shipped" in answer, explanation="the answer gives the status")
        ll.score("words", len(answer.split()))
        return answer

    return task


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args(argv)
    log_dir = args.data_dir / "eval_events"
    ll.configure(log_dir, levels={"httpx2": "WARNING", "httpcore2": "WARNING"})
    ll.instrument_openai()
    with FakeLLM.start() as server:
        client = openai.OpenAI(base_url=server.openai_url, api_key="fake-key", max_retries=0)
        for version in PROMPTS:
            ll.repeat(
                support_task(server, client, version),
                items=DATASET,
                seeds=range(args.seeds),
                name="support-eval",
                version=version,
            )
    ll.reset()  # flush and close the log before reading it
    steps = [
        ["scores", str(log_dir), "--by", "version"],
        ["scores", str(log_dir), "--by", "item", "--k", "1,5"],
        ["scores", str(log_dir), "--compare", "version", "v1", "v2"],
        ["scores", str(log_dir), "--by", "version", "--fail-under", "correct=0.8"],
    ]
    for step in steps:
        print(f"$ llmops-logs {' '.join(step)}", flush=True)
        status = llmops_logs(step)
        print(f"(exit status {status})\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
