"""An agent app for the `ship` tests, run as its own process: runs of an agent that asks a
model and calls a tool, logged through rotation and gzip, until `runs` runs are done or a stop
file appears; `--hang` leaves its last run open and waits to be killed.

    python -m tests._ship_app LOG_DIR RUNS [STOP_FILE] [--hang] [--pause S]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import llmops_logging as ll

from ._agent_log import PRICES


@ll.tool
def lookup(query: str) -> str:
    """Look a query up."""
    ll.get_logger("app").info("looking up", query=query)
    return f"found {query}"


def one_run(n: int, pause: float) -> None:
    with ll.run("support", ticket=n, input=f"ticket {n}") as run:
        with ll.agent("helper", id=f"h{n}") as agent:
            with ll.llm_call("gpt-4o-mini", provider="openai") as call:
                call.input_messages = [
                    {"role": "user", "parts": [{"type": "text", "content": f"question {n}"}]}
                ]
                call.output_messages = [
                    {"role": "assistant", "parts": [{"type": "text", "content": f"answer {n}"}]}
                ]
                call.response_model = "gpt-4o-mini"
                call.set_usage(input_tokens=100 + n, output_tokens=20 + n % 7)
            lookup(f"q{n}")
            if pause:
                time.sleep(pause)
            agent.set(output={"answer": n})
        run.set(output=f"done {n}")


def main(argv: list[str]) -> None:
    log_dir, runs = Path(argv[0]), int(argv[1])
    stop = Path(argv[2]) if len(argv) > 2 and not argv[2].startswith("--") else None
    pause = float(argv[argv.index("--pause") + 1]) if "--pause" in argv else 0.0
    ll.configure(log_dir, prices=PRICES, max_bytes=20_000, backup_count=10_000, compress=True)
    n = 0
    while n < runs and not (stop is not None and stop.exists()):
        one_run(n, pause)
        n += 1
    if "--hang" in argv:
        run = ll.run("hanging", ticket=-1)
        run.__enter__()
        with ll.step("finished child"):
            pass
        print("open", flush=True)
        time.sleep(600)
    ll.reset()


if __name__ == "__main__":
    main(sys.argv[1:])
