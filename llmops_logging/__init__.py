"""llmops_logging: an append-only JSONL event stream for LLM agent code, on structlog.

`configure()` once; then `get_logger()`, `run()` and `step()` (`agent()`, `tool`, `tool_call()`
and `handoff()` for what an agent does); stdlib `logging` records land in the same file with
the same fields. `read_events()` reads a log back.
"""

from __future__ import annotations

from ._config import configure, current_handler, get_logger, reset
from .agents import agent, handoff
from .formatters import JsonlFormatter
from .frames import read_duckdb, read_pandas, read_polars
from .handlers import RotatingJsonlHandler
from .langchain import instrument_langchain
from .llm._call import LlmCall, llm_call
from .llm.anthropic import instrument_anthropic
from .llm.google_genai import instrument_google_genai
from .llm.litellm import instrument_litellm
from .llm.openai import instrument_openai
from .openai_agents import instrument_openai_agents
from .otel_spans import instrument_opentelemetry
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
