"""A process that logs but makes no LLM call pays nothing for the LLM features."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


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


def _loaded_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after running `statement`."""
    script = f"import sys\n{statement}\nprint('modules:', *sorted(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.rpartition("modules:")[2].split())


WRITER = {
    "llmops_logging._config",
    "llmops_logging._logger",
    "llmops_logging.processors",
    "llmops_logging.handlers",
    "llmops_logging.redaction",
    "llmops_logging.runs",
    "llmops_logging.llm",
    "structlog",
}
EXTRAS = {"pyarrow", "jinja2", "plotly", "rich", "jsonschema", "fastjsonschema", "duckdb"}


def test_importing_the_cli_loads_only_the_reader_of_the_package() -> None:
    """`llmops-logs` starts without the writer (structlog, redaction, handlers) or any extra:
    the package's modules it loads are the ones the reader itself loads."""
    reader = _loaded_after("import llmops_logging.reader")
    cli = _loaded_after("import llmops_logging.cli")
    ours = {
        m for m in cli if m.startswith("llmops_logging") and not m.startswith("llmops_logging.cli")
    }
    assert ours <= reader, sorted(ours - reader)
    assert not cli & (WRITER | EXTRAS), sorted(cli & (WRITER | EXTRAS))
    assert not reader & WRITER, sorted(reader & WRITER)


def test_help_and_a_reading_command_load_no_writer_and_no_unused_extra(tmp_path: Path) -> None:
    helped = _loaded_after(
        "from llmops_logging.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert not helped & (WRITER | EXTRAS), sorted(helped & (WRITER | EXTRAS))
    (tmp_path / "events.jsonl").write_text('{"ts":"2026-01-01T00:00:00.000000+00:00"}\n')
    stats = _loaded_after(
        f"from llmops_logging.cli import main\nmain(['stats', {str(tmp_path)!r}])"
    )
    assert "rich" in stats  # the command ran and drew its table
    assert not stats & (WRITER | EXTRAS - {"rich"}), sorted(stats & (WRITER | EXTRAS))


@pytest.mark.parametrize("command", ["stats", "runs", "validate"])
def test_a_command_writing_json_loads_no_rich(tmp_path: Path, command: str) -> None:
    """rich draws tables, colours and bars; output for a script starts without it (a fifth of
    a reading command's start-up)."""
    (tmp_path / "events.jsonl").write_text(
        '{"ts":"2026-01-01T00:00:00.000000+00:00","run_id":"r","kind":"run_start"}\n'
    )
    loaded = _loaded_after(
        "from llmops_logging.cli import main\n"
        f"print('status', main([{command!r}, '--json', {str(tmp_path)!r}]))"
    )
    assert "llmops_logging.cli._output" in loaded  # the command ran through its output
    assert "rich" not in loaded, sorted(m for m in loaded if m.startswith("rich"))


def test_every_public_name_is_there_on_first_use() -> None:
    """The names load when first asked for, `from llmops_logging import *` included, and the
    submodule `repeat` never takes the place of the function of that name."""
    script = textwrap.dedent(
        """
        import inspect, sys
        import llmops_logging.repeat
        import llmops_logging as ll
        assert inspect.isfunction(ll.repeat), ll.repeat
        namespace = {}
        exec("from llmops_logging import *", namespace)
        missing = [n for n in ll.__all__ if n not in namespace or namespace[n] is None]
        assert not missing, missing
        assert namespace["repeat"] is ll.repeat and callable(namespace["configure"])
        assert ll.__all__ == sorted(ll.__all__) and set(ll.__all__) <= set(dir(ll))
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr
