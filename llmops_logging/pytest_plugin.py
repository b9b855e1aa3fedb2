"""A pytest plugin: assert on what a test logged, and hold a nondeterministic test to a pass rate.

Installed as the `llmops_logging` entry point of pytest, it is passive until a test asks:
- the `llmops_records` fixture captures every record the test writes (through whatever
  `configure()` is active, else a temporary log) and offers assertions on them: model calls
  made, tools used, cost and token ceilings, no error;
- the `llmops_repeat(n, min_pass_rate=1.0, seeds=None)` marker runs the test `n` times, each
  time a run of its own (`ll.repeat`: `seed`, `repetition`), counts the passes and fails the
  test when the pass rate is below `min_pass_rate`, reporting it with its 95% Wilson interval.
  Each repetition's outcome is also a `score` record named `pytest <node id>`, so
  `llmops-logs scores` and its gates read test results like any other score. A test that
  takes an `llmops_seed` argument gets each repetition's seed. Fixtures are set up once for
  all repetitions (as for one call of the test), so a repetition must not depend on a fresh
  fixture.
Nothing here opens a socket or starts a server, and the writer is imported only when a test
uses the fixture or the marker: every pytest session of a project that has this package
installed loads the plugin.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from ._contract import (
    COST_USD,
    ERROR,
    EVENT,
    GEN_AI,
    KIND,
    LEVEL,
    LEVELS,
    LLM_CALL,
    SCORE,
    TOOL_CALL,
    token_count_ok,
)

MARKER = "llmops_repeat"
SEED_ARGUMENT = "llmops_seed"
_ERROR_LEVEL = LEVELS["error"]
_SUMMARY = pytest.StashKey[list["RepeatResult"]]()


class Records:
    """The records a test wrote, parsed, in order; assertion helpers that say what they saw."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self._records = records

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(list(self._records))

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self._records[index]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self._records if r.get(KIND) == kind]

    @property
    def llm_calls(self) -> list[dict[str, Any]]:
        return self.of_kind(LLM_CALL)

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        return self.of_kind(TOOL_CALL)

    @property
    def scores(self) -> list[dict[str, Any]]:
        return self.of_kind(SCORE)

    def tools_used(self) -> list[str]:
        """The names of the tools called, in order (a name once per call)."""
        return [str(_path(r, GEN_AI, "tool", "name")) for r in self.tool_calls]

    def errors(self) -> list[dict[str, Any]]:
        """Records at level error or above, and records that carry an `error` field."""
        return [
            r
            for r in self._records
            if LEVELS.get(str(r.get(LEVEL)), 0) >= _ERROR_LEVEL or r.get(ERROR) is not None
        ]

    def tokens(self) -> int:
        """Input plus output tokens over every model call (counts that are no count skipped)."""
        total = 0
        for call in self.llm_calls:
            for name in ("input_tokens", "output_tokens"):
                value = _path(call, GEN_AI, "usage", name)
                if token_count_ok(value):
                    total += int(value)
        return total

    def cost_usd(self) -> float:
        return sum(
            float(c[COST_USD])
            for c in self.llm_calls
            if isinstance(c.get(COST_USD), (int, float)) and not isinstance(c[COST_USD], bool)
        )

    # -- assertions -------------------------------------------------------------------------

    def assert_no_error(self) -> None:
        errors = self.errors()
        assert not errors, f"{len(errors)} error record(s): " + "; ".join(
            f"{r.get(EVENT)!r} ({r.get(KIND)})" for r in errors[:5]
        )

    def assert_llm_calls(self, *, at_least: int = 0, at_most: int | None = None) -> None:
        count = len(self.llm_calls)
        assert count >= at_least, f"{count} model call(s), expected at least {at_least}"
        assert at_most is None or count <= at_most, (
            f"{count} model call(s), expected at most {at_most}"
        )

    def assert_tools_used(self, *names: str) -> None:
        used = self.tools_used()
        missing = [n for n in names if n not in used]
        assert not missing, f"tools not called: {missing}; called: {used}"

    def assert_tokens_at_most(self, limit: int) -> None:
        tokens = self.tokens()
        assert tokens <= limit, f"{tokens} tokens used, the ceiling is {limit}"

    def assert_cost_at_most(self, usd: float) -> None:
        cost = self.cost_usd()
        assert cost <= usd, f"${cost:.6f} spent, the ceiling is ${usd:.6f}"


def _path(record: dict[str, Any], *keys: str) -> Any:
    value: Any = record
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


@pytest.fixture
def llmops_records() -> Iterator[Records]:
    """Every record the test writes, parsed (see `Records` for the assertions)."""
    from .testing import capture_events

    with capture_events() as captured:
        yield Records(captured)


@pytest.fixture
def llmops_seed() -> int:
    """The seed of the current repetition under `llmops_repeat`; 0 in a plain run."""
    return 0


@dataclass(frozen=True)
class RepeatResult:
    """One repeated test's outcome, for the summary."""

    nodeid: str
    passed: int
    n: int
    min_pass_rate: float

    @property
    def ok(self) -> bool:
        return self.passed >= self.min_pass_rate * self.n

    def text(self) -> str:
        from .cli._significance import wilson

        interval = wilson(self.passed, self.n)
        low, high = interval if interval is not None else (0.0, 1.0)
        return (
            f"{self.passed}/{self.n} passed ({self.passed / self.n:.0%}, "
            f"95% interval {low:.0%} to {high:.0%}); at least {self.min_pass_rate:.0%} needed"
        )


def _options(mark: pytest.Mark) -> tuple[int, float, Sequence[int] | None]:
    n = mark.kwargs.get("n", mark.args[0] if mark.args else None)
    seeds = mark.kwargs.get("seeds")
    if n is None and seeds is not None:
        n = len(seeds)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise pytest.UsageError(f"@pytest.mark.{MARKER} needs n, a whole number >= 1; got {n!r}")
    rate = mark.kwargs.get("min_pass_rate", 1.0)
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate <= 1:
        raise pytest.UsageError(
            f"@pytest.mark.{MARKER}: min_pass_rate is a number from 0 to 1; got {rate!r}"
        )
    if seeds is not None and len(seeds) != n:
        raise pytest.UsageError(f"@pytest.mark.{MARKER}: {len(seeds)} seeds for n={n}")
    return n, float(rate), seeds


def _repeat_test(
    item: pytest.Function, mark: pytest.Mark
) -> tuple[RepeatResult, BaseException | None]:
    """Run the test's repetitions; the result and the first failure."""
    from ._config import current_handler
    from .repeat import repeat
    from .scores import score
    from .testing import capture_events

    n, rate, seeds = _options(mark)
    function = item.obj
    names = item._fixtureinfo.argnames
    arguments = {name: item.funcargs[name] for name in names}

    def once(_item: Any, seed: int) -> None:
        if SEED_ARGUMENT in arguments:
            arguments[SEED_ARGUMENT] = seed
        result = function(**arguments)
        if inspect.isawaitable(result):
            asyncio.run(_awaited(result))

    with contextlib.ExitStack() as stack:
        if current_handler() is None:
            stack.enter_context(capture_events())
        outcomes = repeat(once, n=n if seeds is None else None, seeds=seeds, name=item.name)
        for outcome in outcomes:
            _reraise_control(outcome.error)
            score(f"pytest {item.nodeid}", outcome.ok, run_id=outcome.run_id, source="pytest")
    passed = sum(outcome.ok for outcome in outcomes)
    first = next((o.error for o in outcomes if o.error is not None), None)
    return RepeatResult(item.nodeid, passed, n, rate), first


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _reraise_control(error: BaseException | None) -> None:
    """A skip, an xfail or a keyboard interrupt in any repetition is pytest's, not a failure."""
    control = (pytest.skip.Exception, pytest.xfail.Exception, KeyboardInterrupt, SystemExit)
    if isinstance(error, control):
        raise error


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(n, min_pass_rate=1.0, seeds=None): run the test n times, each a run of "
        "its own, and fail it when fewer than min_pass_rate of them pass",
    )
    config.stash[_SUMMARY] = []


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    mark = pyfuncitem.get_closest_marker(MARKER)
    if mark is None:
        return None
    result, first_failure = _repeat_test(pyfuncitem, mark)
    pyfuncitem.config.stash[_SUMMARY].append(result)
    if not result.ok:
        pytest.fail(f"{result.text()}; first failure: {first_failure!r}", pytrace=False)
    return True


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    results = config.stash.get(_SUMMARY, [])
    if not results:
        return
    terminalreporter.section("llmops_logging: repeated tests")
    for result in results:
        terminalreporter.write_line(f"{result.nodeid}: {result.text()}")
