"""llmops_logging: an append-only JSONL event stream for LLM agent code, on structlog.

`configure()` once; then `get_logger()`, `run()` and `step()` (`agent()`, `tool`, `tool_call()`
and `handoff()` for what an agent does); stdlib `logging` records land in the same file with
the same fields. `read_events()` reads a log back.

The public names are imported on first use (PEP 562), so a process that only reads logs (the
`llmops-logs` command) never loads the writer: structlog, the redaction rules, the handlers.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._config import configure, current_handler, get_logger, reset
    from .agents import agent, handoff
    from .formatters import JsonlFormatter
    from .frames import read_duckdb, read_pandas, read_polars
    from .handlers import RotatingJsonlHandler
    from .llm._call import LlmCall, llm_call
    from .llm.anthropic import instrument_anthropic
    from .llm.google_genai import instrument_google_genai
    from .llm.langchain import instrument_langchain
    from .llm.litellm import instrument_litellm
    from .llm.openai import instrument_openai
    from .llm.openai_agents import instrument_openai_agents
    from .llm.otel_spans import instrument_opentelemetry
    from .reader import EventStream, ReadReport, read_events
    from .repeat import Outcome, repeat
    from .runs import run, step
    from .scores import score
    from .tools import ToolCall, tool, tool_call
    from .utils import Timer, jitter, new_run_id, now_iso, random_seed, write_jsonl

__version__ = "0.2.0"  # pyproject.toml reads the version from here

__all__ = [
    "EventStream",
    "JsonlFormatter",
    "LlmCall",
    "Outcome",
    "ReadReport",
    "RotatingJsonlHandler",
    "Timer",
    "ToolCall",
    "__version__",
    "agent",
    "configure",
    "current_handler",
    "get_logger",
    "handoff",
    "instrument_anthropic",
    "instrument_google_genai",
    "instrument_langchain",
    "instrument_litellm",
    "instrument_openai",
    "instrument_openai_agents",
    "instrument_opentelemetry",
    "jitter",
    "llm_call",
    "new_run_id",
    "now_iso",
    "random_seed",
    "read_duckdb",
    "read_events",
    "read_pandas",
    "read_polars",
    "repeat",
    "reset",
    "run",
    "score",
    "step",
    "tool",
    "tool_call",
    "write_jsonl",
]

_SOURCES: dict[str, tuple[str, ...]] = {
    "._config": ("configure", "current_handler", "get_logger", "reset"),
    ".agents": ("agent", "handoff"),
    ".formatters": ("JsonlFormatter",),
    ".frames": ("read_duckdb", "read_pandas", "read_polars"),
    ".handlers": ("RotatingJsonlHandler",),
    ".llm.langchain": ("instrument_langchain",),
    ".llm._call": ("LlmCall", "llm_call"),
    ".llm.anthropic": ("instrument_anthropic",),
    ".llm.google_genai": ("instrument_google_genai",),
    ".llm.litellm": ("instrument_litellm",),
    ".llm.openai": ("instrument_openai",),
    ".llm.openai_agents": ("instrument_openai_agents",),
    ".llm.otel_spans": ("instrument_opentelemetry",),
    ".reader": ("EventStream", "ReadReport", "read_events"),
    ".repeat": ("Outcome", "repeat"),
    ".runs": ("run", "step"),
    ".scores": ("score",),
    ".tools": ("ToolCall", "tool", "tool_call"),
    ".utils": ("Timer", "jitter", "new_run_id", "now_iso", "random_seed", "write_jsonl"),
}
_MODULE_OF = {name: module for module, names in _SOURCES.items() for name in names}


def __getattr__(name: str) -> Any:
    """A public name, imported from its module the first time it is asked for."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """The package's module type: importing the submodule `repeat` must not put the module
    where the function of that name is (which binding a submodule on its package would do)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _MODULE_OF and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
