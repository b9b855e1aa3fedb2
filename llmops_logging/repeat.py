"""repeat(): a task as separate runs over dataset items and seeds, for pass rates and pass@k.

Each call of `fn(item, seed)` is one `ll.run(name, seed=..., item=..., repetition=...)`;
`item` on the record is the item's `id` (a mapping's `"id"` key or an object's `.id`), else a
short text of it. The order is item by item, then repetition by repetition. An exception ends
its own run as `run_error` and is kept as that repetition's outcome: the loop goes on.

Concurrency uses threads for a plain function and tasks for a coroutine function; each run
keeps its own context, so scores logged inside land on the right run.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from ._contract import ITEM, REPETITION, SEED
from ._render import safe_repr
from .processors import beside_own_fields
from .runs import run

T = TypeVar("T")

_MAX_ITEM_TEXT = 80


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """One repetition: its run, seed, item and what `fn` returned or raised."""

    run_id: str
    seed: int
    item: Any
    repetition: int
    result: T | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def item_key(item: Any) -> str | int | None:
    """What a run records as its `item`: the item's id, else a short text of it."""
    if item is None or (isinstance(item, (str, int)) and not isinstance(item, bool)):
        return item
    found = item.get("id") if isinstance(item, dict) else getattr(item, "id", None)
    if isinstance(found, (str, int)) and not isinstance(found, bool):
        return found
    return safe_repr(item)[:_MAX_ITEM_TEXT]


def _plan(
    n: int | None, seeds: Sequence[int] | None, items: Iterable[Any] | None
) -> list[tuple[Any, int, int]]:
    if seeds is None:
        if n is None:
            raise ValueError("repeat needs n= or seeds=")
        seeds = range(n)
    elif n is not None and n != len(seeds):
        raise ValueError(f"n={n} does not match the {len(seeds)} seeds given")
    pool = [None] if items is None else list(items)
    return [(item, seed, rep) for item in pool for rep, seed in enumerate(seeds)]


_OWN = frozenset({SEED, ITEM, REPETITION})


def _fields(given: dict[str, Any], item: Any, seed: int, rep: int) -> dict[str, Any]:
    key = item_key(item)
    fields = beside_own_fields(given, _OWN)
    fields.update({SEED: seed, REPETITION: rep})
    if key is not None:
        fields[ITEM] = key
    return fields


def _one(
    fn: Callable[[Any, int], Any],
    name: str,
    fields: dict[str, Any],
    item: Any,
    seed: int,
    rep: int,
) -> Outcome[Any]:
    run_id = ""
    try:
        with run(name, **_fields(fields, item, seed, rep)) as scope:
            run_id = scope.run_id
            return Outcome(run_id, seed, item, rep, result=fn(item, seed))
    except Exception as exc:
        return Outcome(run_id, seed, item, rep, error=exc)


async def _one_async(
    fn: Callable[[Any, int], Awaitable[Any]],
    name: str,
    fields: dict[str, Any],
    item: Any,
    seed: int,
    rep: int,
) -> Outcome[Any]:
    run_id = ""
    try:
        with run(name, **_fields(fields, item, seed, rep)) as scope:
            run_id = scope.run_id
            return Outcome(run_id, seed, item, rep, result=await fn(item, seed))
    except Exception as exc:
        return Outcome(run_id, seed, item, rep, error=exc)


@overload
def repeat(
    fn: Callable[[Any, int], Awaitable[T]],
    *,
    n: int | None = ...,
    seeds: Sequence[int] | None = ...,
    items: Iterable[Any] | None = ...,
    concurrency: int = ...,
    name: str | None = ...,
    **fields: Any,
) -> Awaitable[list[Outcome[T]]]: ...
@overload
def repeat(
    fn: Callable[[Any, int], T],
    *,
    n: int | None = ...,
    seeds: Sequence[int] | None = ...,
    items: Iterable[Any] | None = ...,
    concurrency: int = ...,
    name: str | None = ...,
    **fields: Any,
) -> list[Outcome[T]]: ...
def repeat(
    fn: Callable[[Any, int], Any],
    *,
    n: int | None = None,
    seeds: Sequence[int] | None = None,
    items: Iterable[Any] | None = None,
    concurrency: int = 1,
    name: str | None = None,
    **fields: Any,
) -> Any:
    """Call `fn(item, seed)` once per item and seed, each call a run of its own; return the
    outcomes in plan order (item by item, seed by seed).

    `seeds` default to `range(n)`; without `items`, `item` is None (and absent from the runs).
    The runs are named `name`, else the function's name, and carry `fields` (a `version`,
    a `model`) beside their own `seed`, `item` and `repetition`; a field of one of those names
    is kept as `user_<name>`. A coroutine function makes this return an awaitable (use
    `await ll.repeat(...)`); `concurrency` runs that many at a time.
    """
    plan = _plan(n, seeds, items)
    label = name or getattr(fn, "__name__", None) or "repeat"
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if inspect.iscoroutinefunction(fn):
        return _repeat_async(fn, plan, label, concurrency, fields)
    if concurrency == 1:
        return [_one(fn, label, fields, *step) for step in plan]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:  # each in the caller's context
        futures = [
            pool.submit(contextvars.copy_context().run, _one, fn, label, fields, item, seed, rep)
            for item, seed, rep in plan
        ]
        return [future.result() for future in futures]


async def _repeat_async(
    fn: Callable[[Any, int], Awaitable[Any]],
    plan: list[tuple[Any, int, int]],
    label: str,
    concurrency: int,
    fields: dict[str, Any],
) -> list[Outcome[Any]]:
    limit = asyncio.Semaphore(concurrency)

    async def bounded(item: Any, seed: int, rep: int) -> Outcome[Any]:
        async with limit:
            return await _one_async(fn, label, fields, item, seed, rep)

    return list(await asyncio.gather(*(bounded(*step) for step in plan)))
