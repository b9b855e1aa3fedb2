"""Deterministic sampling that keeps totals exact.

A listed kind (or event name) is kept at its rate by a hash of the run id, the kind and the
event's position among that kind in the run, so the same run samples the same way every time.
Warnings and above and run/step boundaries always pass. Every event is counted in its run
before sampling (`RunState.counts`) and every dropped one in `RunState.dropped`; the run's
closing record carries both, so totals stay exact however much is sampled away.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from typing import Any

from structlog import DropEvent

from ._context import RunState, current_run
from ._contract import EVENT, KIND, RUN_ID, RUN_START, EventDict

SampleRates = Mapping[str, float]

_ALWAYS_KEPT_METHODS = frozenset({"warning", "warn", "error", "exception", "critical", "fatal"})
_BOUNDARY_PREFIXES = ("run_", "step_")


def unit_hash(*parts: object) -> float:
    """A number in [0, 1) fixed by `parts`: the same inputs decide the same way everywhere."""
    digest = hashlib.blake2b("\0".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _checked_rate(name: str, rate: object) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"sample rate for {name!r} must be a number from 0 to 1, not {rate!r}")
    return float(rate)


class Sampler:
    """The sampling processor; `configure(sample=..., sample_runs=...)` builds it."""

    def __init__(self, rates: SampleRates | None = None, run_rate: float | None = None) -> None:
        if rates is not None and not isinstance(rates, Mapping):
            raise TypeError(
                f"sample must map kinds or event names to rates, e.g. {{'sample': 0.1}}, "
                f"not {rates!r}"
            )
        self.rates = {str(k): _checked_rate(str(k), v) for k, v in (rates or {}).items()}
        self.run_rate = None if run_rate is None else _checked_rate("sample_runs", run_rate)
        self._outside_runs: Counter[str] = Counter()

    @classmethod
    def from_settings(cls, rates: SampleRates | None, run_rate: float | None) -> Sampler | None:
        if run_rate is None and (rates is None or (isinstance(rates, Mapping) and not rates)):
            return None
        return cls(rates, run_rate)

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        kind = event_dict[KIND]
        run = current_run.get()
        if kind == RUN_START and run is not None and self.run_rate is not None:
            if run.parent_run_id is None:  # a nested run follows the decision of its root
                run.sampled = unit_hash(run.run_id, "run") < self.run_rate
            event_dict["run_sampled"] = run.sampled
            event_dict["run_sample_rate"] = self.run_rate
        # Both routes name custom levels by the standard level at or below them
        # (`_contract.level_name`), so a name test covers every level number.
        if method_name in _ALWAYS_KEPT_METHODS or kind.startswith(_BOUNDARY_PREFIXES):
            return event_dict
        if run is not None and not run.sampled:
            return self._drop(run, kind)
        rate = self.rates.get(kind)
        if rate is None:
            rate = self.rates.get(str(event_dict.get(EVENT)))
        if rate is None:
            return event_dict
        if run is None:
            self._outside_runs[kind] += 1
            position, run_id = self._outside_runs[kind], event_dict[RUN_ID]
        else:
            position, run_id = run.counts[kind], run.run_id
        if rate >= 1.0 or unit_hash(run_id, kind, position) < rate:
            event_dict["sample_rate"] = rate
            return event_dict
        return self._drop(run, kind)

    @staticmethod
    def _drop(run: RunState | None, kind: str) -> EventDict:
        if run is not None:
            run.dropped[kind] += 1
        raise DropEvent
