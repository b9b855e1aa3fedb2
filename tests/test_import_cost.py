"""A process that logs but makes no LLM call pays nothing for the LLM features."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_configure_and_log_load_no_sdk_price_table_or_opentelemetry(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, threading, time
        import llmops_logging as ll
        ll.configure(sys.argv[1])
        with ll.run("plain"):
            ll.get_logger("x").info("hello")
        time.sleep(0.5)  # room for any background load to have begun
        heavy = ("genai_prices", "opentelemetry", "openai", "anthropic", "pydantic")
        print(sorted(m for m in heavy if m in sys.modules), threading.active_count())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "1"], done.stdout
