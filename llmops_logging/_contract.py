"""The record contract in one place: field names and order, levels, kinds, file naming.

Every other module imports these facts from here, so adding a field or a level is one edit;
the shipped JSON Schema is checked against this module by the tests. A leaf: this module
imports nothing from the package, so anything may import it without a cycle.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
from collections.abc import MutableMapping
from typing import Any

EventDict = MutableMapping[str, Any]
"""What structlog processors pass along: the record being built."""
Record = dict[str, Any]
"""One parsed line of a log."""
StrPath = str | os.PathLike[str]

# -- fields ----------------------------------------------------------------------------------

TS = "ts"
RUN_ID = "run_id"
EVENT = "event"
KIND = "kind"
LEVEL = "level"
LOGGER = "logger"
EVENT_ID = "event_id"
SEQ = "seq"
PID = "pid"

USER_PREFIX = "user_"
"""A user value under the name of a stamp (a core field but `event` and `kind`, which are the
user's own) is kept under this prefix: only the library writes the stamps."""

CORE_FIELDS: tuple[str, ...] = (TS, RUN_ID, EVENT, KIND, LEVEL, LOGGER, EVENT_ID, SEQ, PID)
"""Every record has these, written first and in this order."""
STAMPS: frozenset[str] = frozenset(CORE_FIELDS) - {EVENT}
"""The core fields the library sets itself: never replaced because of their key's name (the
message, `event`, is the user's text and is redacted like any value)."""

NAME = "name"
STEP_ID = "step_id"
PARENT_ID = "parent_id"
DURATION_S = "duration_s"
ERROR = "error"
STACK = "stack"

STEP_STAMPS: frozenset[str] = frozenset({STEP_ID, PARENT_ID})
"""Set by the library from the step a record is written in (and on a step's or call's own
records, from that scope): a user field of either name is kept as `user_<name>`, so no field
moves a record to another step."""
USER_PREFIX = "user_"
"""A user value under the name of a stamp is kept under this prefix (once more when taken)."""

DEFAULT_KIND = "log"
RUN_START, RUN_OK, RUN_ERROR = RUN_KINDS = ("run_start", "run_ok", "run_error")
STEP_START, STEP_OK, STEP_ERROR = STEP_KINDS = ("step_start", "step_ok", "step_error")

# -- levels ----------------------------------------------------------------------------------

LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
"""The contract's level names, lowest first, with their `logging` numbers."""
LEVEL_ALIASES: dict[str, str] = {
    "warn": "warning",
    "fatal": "critical",
    "exception": "error",
    "msg": "info",
    "log": "info",
}
"""Other names that callers (stdlib, structlog methods) use for a contract level."""


def level_name(number: int) -> str:
    """The contract's level name for any level number: custom levels round down.

    An if-chain rather than a loop over `LEVELS`: every stdlib record asks this.
    """
    if number >= logging.CRITICAL:
        return "critical"
    if number >= logging.ERROR:
        return "error"
    if number >= logging.WARNING:
        return "warning"
    return "info" if number >= logging.INFO else "debug"


def level_number(level: int | str) -> int:
    """`logging` level number of a name (any case, aliases too) or a number.

    Raises ValueError for an unknown name: a typo in `configure(level=...)` should say so.
    """
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    if isinstance(level, str):
        key = level.strip().lower()
        key = LEVEL_ALIASES.get(key, key)
        if key in LEVELS:
            return LEVELS[key]
        number = logging.getLevelName(level.strip().upper())  # a custom registered level
        if isinstance(number, int):
            return number
    raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")


# -- where logs live ---------------------------------------------------------------------------

LOG_DIR_ENV = "LLMOPS_LOG_DIR"
DEFAULT_LOG_DIR = os.path.join("data", "raw_events")
RAW_DIR_NAME = "raw_events"
DERIVED_DIR_NAME = "derived"


def default_log_dir() -> str:
    """`$LLMOPS_LOG_DIR` (with `~` expanded) when set, else `data/raw_events`."""
    return os.path.expanduser(os.environ.get(LOG_DIR_ENV) or DEFAULT_LOG_DIR)


# -- file naming -------------------------------------------------------------------------------

LIVE_NAME = "events.jsonl"
ROTATED_DIGITS = 6
GZ_SUFFIX = ".gz"


def rotated_name(live_name: str, number: int, compressed: bool = False) -> str:
    """The name of the `number`-th rotated file of the log whose live file is `live_name`."""
    return f"{live_name}.{number:0{ROTATED_DIGITS}d}" + (GZ_SUFFIX if compressed else "")


def parse_rotated(live_name: str, name: str) -> tuple[int, bool] | None:
    """`(number, compressed)` when `name` is a rotated file of the log whose live file is
    `live_name`, else None: the one rule by which the writer prunes and compresses and the
    reader reads. Only the spelling `rotated_name` gives counts (six ASCII digits, or more
    without a leading zero, then maybe `.gz`), so another tool's name (logrotate's
    `events.jsonl.2`), other scripts' digits or a trailing newline is never
    taken for a file of the log."""
    prefix = f"{live_name}."
    if not name.startswith(prefix):
        return None
    digits = name[len(prefix) :]
    compressed = digits.endswith(GZ_SUFFIX)
    if compressed:
        digits = digits[: -len(GZ_SUFFIX)]
    if not (digits.isascii() and digits.isdigit()):
        return None
    number = int(digits)
    return (number, compressed) if rotated_name(live_name, number, compressed) == name else None


O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # absent on Windows, where links need privileges
O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
FOUND_FILE_FLAGS = O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK
"""`os.open` flags for a file found under a log's name, by the writer and the reader alike: the
library never makes a link there, so one was planted and is not followed; a planted FIFO must
not block the opening (the caller makes the descriptor blocking once `fstat` shows a file)."""


def lock_name(live_name: str) -> str:
    """The hidden lock file of a log: outside the log's glob `live_name*`."""
    return f".{live_name}.lock"


# -- LLM call records (names the CLI reads) ------------------------------------------------------

LLM_CALL = "llm_call"
"""The kind of the record of one LLM call."""
USAGE = "usage"
"""The totals of LLM calls on run and step ends: llm_calls, input_tokens, output_tokens, cost."""
COST_USD = "cost_usd"
TTFT_S = "ttft_s"
GEN_AI = "gen_ai"
"""The nested object whose paths, joined with `.`, are the OpenTelemetry GenAI attributes."""
COST_SOURCE = "cost_source"
COST_NOTE = "cost_note"
ATTEMPTS = "attempts"
STREAM_INCOMPLETE = "stream_incomplete"
COUNTS = "counts"
DROPPED = "dropped"
PARENT_RUN_ID = "parent_run_id"
USAGE_REJECTED = "usage_rejected"
"""On an `llm_call`: the paths (`gen_ai.usage.input_tokens`, `cost_usd`, ...) of the numbers
kept as sent but left out of every total, because no count or price can be that."""

SCOPE_FIELDS: frozenset[str] = frozenset(
    {EVENT, KIND, NAME, STEP_ID, PARENT_ID, DURATION_S, TTFT_S, USAGE, GEN_AI, ERROR}
    | {COST_USD, COST_SOURCE, COST_NOTE, ATTEMPTS, STREAM_INCOMPLETE, USAGE_REJECTED}
    | {COUNTS, DROPPED, PARENT_RUN_ID}
)
"""What the library writes on the records of its scopes (`run`, `step`, `llm_call`): a field
given to one of them under such a name is kept as `user_<name>`, never dropped, never in
place of the library's value."""

FLOAT_REQUEST_PARAMS: frozenset[str] = frozenset(
    {"temperature", "top_p", "top_k", "frequency_penalty", "presence_penalty"}
)
"""`gen_ai.request.*` parameters that the OpenTelemetry GenAI conventions type as double: an
integer given for one is written as a float (`0.0`), so a columnar reader that infers the
column from its first rows never types it as integers and rounds (or refuses) a later 0.7."""

MAX_TOKEN_COUNT = 2**63 - 1
"""The largest token count summed: a signed 64-bit integer, what every columnar reader holds."""


def token_count_ok(value: object) -> bool:
    """Whether a provider's token count may be summed: an integer (not a bool, a float or a
    string) from 0 to `MAX_TOKEN_COUNT`. The writer's totals and the CLI's sums share this."""
    return (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and 0 <= int(value) <= MAX_TOKEN_COUNT
    )


def cost_ok(value: object) -> bool:
    """Whether a cost in USD may be summed: a finite number >= 0 (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return value >= 0 and (isinstance(value, int) or math.isfinite(value))


# -- agents, tools and conversations ---------------------------------------------------------

TOOL_CALL = "tool_call"
"""The kind of the record of one tool execution (a step of its own, written when it ends)."""
HANDOFF = "handoff"
"""The kind of the record of a hand-off from one agent to another."""
EXECUTE_TOOL = "execute_tool"
INVOKE_AGENT = "invoke_agent"
"""`gen_ai.operation.name` of a tool call and of an agent's invocation."""
TO_AGENT = "to_agent"
"""The agent a hand-off goes to (`gen_ai.agent.name` is the one it comes from)."""
TOOL_TYPE_FUNCTION = "function"
CONVERSATION_PATH = (GEN_AI, "conversation", "id")
USER_PATH = ("user", "id")
"""Where a run's conversation and user ids are written on every record of the run."""
DOCUMENTS = "documents"
"""How many documents a retriever's step returned (on its `step_ok`)."""

# -- OpenInference: what Phoenix keys on, written beside the GenAI names on exported spans -----

OI_SPAN_KIND = "openinference.span.kind"
OI_LLM, OI_TOOL, OI_AGENT, OI_CHAIN = "LLM", "TOOL", "AGENT", "CHAIN"
"""The values of `openinference.span.kind`: an `llm_call`, a `tool_call`, an agent's step, and
a run or any other step."""
OI_INPUT_VALUE, OI_INPUT_MIME = "input.value", "input.mime_type"
OI_OUTPUT_VALUE, OI_OUTPUT_MIME = "output.value", "output.mime_type"
MIME_JSON, MIME_TEXT = "application/json", "text/plain"
OI_MODEL_NAME = "llm.model_name"
OI_PROVIDER = "llm.provider"
OI_PROMPT_TOKENS = "llm.token_count.prompt"
OI_COMPLETION_TOKENS = "llm.token_count.completion"
OI_TOTAL_TOKENS = "llm.token_count.total"
OI_TOOL_NAME = "tool.name"
OI_TOOL_DESCRIPTION = "tool.description"
OI_AGENT_NAME = "agent.name"
OI_SESSION_ID = "session.id"
OI_USER_ID = "user.id"
USAGE_COST = "gen_ai.usage.cost"
"""A call's cost in USD as a float, under the name Langfuse reads (beside `cost_usd`)."""
RUN_INPUT, RUN_OUTPUT = "input", "output"
"""A run's or step's own fields that an exported span shows as its input and output."""

# -- scores ------------------------------------------------------------------------------------

SCORE = "score"
"""The kind of the record of one evaluation result (`ll.score`)."""
SCORE_EVENT = "gen_ai.evaluation.result"
"""The event name of a score record: the OpenTelemetry GenAI evaluation event."""
EVALUATION = "evaluation"
"""Under `gen_ai`: `evaluation.{name, score.value, score.label, explanation}`."""
EVALUATION_NAME_PATH = (GEN_AI, EVALUATION, "name")
SCORE_VALUE_PATH = (GEN_AI, EVALUATION, "score", "value")
SCORE_LABEL_PATH = (GEN_AI, EVALUATION, "score", "label")
EXPLANATION_PATH = (GEN_AI, EVALUATION, "explanation")
SOURCE = "source"
"""Who scored: `code` (default), `human`, `llm_judge`, ... as the caller says."""
PASSED = "passed"
"""On a pass/fail score (a boolean value): true or false; absent on a numeric score."""
PASS_LABEL, FAIL_LABEL = "pass", "fail"
SCORER_RUN_ID = "scorer_run_id"
"""On a score attached to another run (`run_id=` given): the run that was current where the
score was logged; the record's own `run_id` is the run it scores."""
SCORE_INVALID = "score_invalid"
"""On a score whose value was not a finite number: the value's text; `score.value` is then
absent, and summaries leave the record out of means and rates."""
SCORE_FIELDS: frozenset[str] = frozenset(
    {EVENT, KIND, GEN_AI, SOURCE, PASSED, SCORER_RUN_ID, SCORE_INVALID, STEP_ID, PARENT_ID}
)
"""What the library writes on a score record: a field given under such a name is kept as
`user_<name>`."""
SEED, ITEM, REPETITION = "seed", "item", "repetition"
"""The fields `ll.repeat` gives each run it starts."""

# -- names the reading side folds (the writer spells some of these in its own slots) ----------

LLM_CALLS = "llm_calls"
INPUT_TOKENS, OUTPUT_TOKENS = "input_tokens", "output_tokens"
CALLS_WITHOUT_COST = "calls_without_cost"
"""Keys of the `usage` totals on run and step ends (and of `gen_ai.usage` for the tokens)."""
USAGE_PATH = (GEN_AI, USAGE)
REQUEST_MODEL_PATH = (GEN_AI, "request", "model")
RESPONSE_MODEL_PATH = (GEN_AI, "response", "model")
TOOL_NAME_PATH = (GEN_AI, "tool", NAME)
TOOL_CALL_PATH = (GEN_AI, "tool", "call")
AGENT_NAME_PATH = (GEN_AI, "agent", NAME)
OPERATION_PATH = (GEN_AI, "operation", NAME)
ERROR_TYPE, ERROR_MESSAGE, ERROR_TRACEBACK = "type", "message", "traceback"
"""The keys of an `error` field: an exception's type, message and traceback."""
SAMPLE = "sample"
"""The kind of a seeded sample's record; `ok` its outcome, and `ok_rate` a run's share of them."""
OK, OK_RATE = "ok", "ok_rate"
