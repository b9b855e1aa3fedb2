"""genai-prices' bundled price table, loaded in the background so that no caller waits for it.

`import genai_prices` is slow: measured on the development machine, about 0.25 s to build its
pydantic types and 0.04 s to build the bundled table (`genai_prices/data.py`, 1.5 MB of Python
that constructs those types, so it cannot be read without them), plus 0.5 to 0.7 s when the
pydantic plugin of an installed `logfire` loads with the first model: 0.3 to 1.1 s in all.
Done at the first priced call, that stalled the caller (and its event loop) and landed in its
`duration_s`. So `instrument_openai()`, `instrument_anthropic()` and the first `llm_call` start
the load in a daemon thread (not `configure()`: a process that makes no LLM call should not
spend a second of CPU, and import OpenTelemetry through logfire's plugin, for prices), and
a call that ends before it is done waits at most `MAX_WAIT_S`, then goes unpriced (the record
says why) rather than blocking: real model calls take longer than the load, so in practice
only the first fast calls of a process can miss their cost.

A leaf: it imports nothing from the package, so the core can start the load without importing
`llmops_logging.llm`. No network: only the snapshot shipped in the package is read.
"""

from __future__ import annotations

import atexit
import contextvars
import importlib.util
import sys
import threading
from typing import Any

from ._platform import at_fork_in_child

MAX_WAIT_S = 0.05
"""How long a finishing call waits for a load in progress before going unpriced."""
EXIT_WAIT_S = 30.0
"""How long the interpreter's exit waits for a load in progress (see `_let_the_load_end`)."""
LOADING_NOTE = "price table still loading"
_PACKAGE = "genai_prices"

_lock = threading.Lock()
_started = False
loaded = threading.Event()
"""Set once the load ended, whether or not the package was there."""
_module: Any = None  # genai_prices, or None when missing or broken
_thread: threading.Thread | None = None  # the load's, once started
source = ""


def installed() -> bool:
    """Whether genai-prices can be imported, without importing it."""
    try:
        return importlib.util.find_spec(_PACKAGE) is not None
    except (ImportError, ValueError):
        return False


def preload() -> None:
    """Start loading the table in a daemon thread, once per process."""
    global _started, _thread
    if _started:
        return
    with _lock:
        if _started:
            return
        _started = True
    # an empty context: the library's own thread belongs to no run, whoever starts it
    loader = contextvars.Context().run
    thread = threading.Thread(target=loader, args=(_load,), name="llmops-prices", daemon=True)
    thread.start()
    _thread = thread


def _load() -> None:
    global _module, source
    try:
        import genai_prices

        source = f"genai-prices {genai_prices.__version__}"
        _module = genai_prices
    except Exception:  # missing, or broken: calls go unpriced, never fail
        _module = None
    finally:
        loaded.set()


class StillLoading(Exception):
    """The table is being loaded and did not arrive within `MAX_WAIT_S`."""


def table(wait: float = MAX_WAIT_S) -> Any:
    """The genai_prices module, None when it is not installed; StillLoading after `wait`."""
    if not loaded.is_set():
        preload()
        if not loaded.wait(wait):
            raise StillLoading(LOADING_NOTE)
    return _module


def _let_the_load_end() -> None:
    """At exit, before the interpreter stops its daemon threads: Python (before 3.14) stops
    one wherever it stands when it next takes the GIL, and one stopped inside the compiled code
    that importing genai-prices runs (pydantic-core) aborts the process with SIGABRT ("FATAL:
    exception not rethrown"), seen with a process that exited right after its first call. The
    load takes about a second; a process that never started it does not wait."""
    if _thread is not None and _thread.is_alive():
        loaded.wait(EXIT_WAIT_S)


atexit.register(_let_the_load_end)


def _after_fork() -> None:
    """A load running in the parent's thread never ends in a child: start over there, without
    the modules that thread left half-imported (importing them again would return them as they
    are, and the table would be missing for the child's life)."""
    global _started, loaded, _thread
    if not loaded.is_set():
        _started, _thread = False, None
        loaded = threading.Event()
        for name in [n for n in sys.modules if n.partition(".")[0] == _PACKAGE]:
            del sys.modules[name]


at_fork_in_child(_after_fork)
