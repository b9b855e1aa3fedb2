"""The progress bar's count: `every` passes a fold's records on unchanged and calls back as the
n-th is taken, for each n a multiple of its count, however many records there are."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmops_logging.cli._output import every


def _source(total: int, pulled: list[int]) -> Iterator[int]:
    for item in range(total):
        pulled.append(item)
        yield item


@pytest.mark.parametrize("total", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13])
def test_every_passes_the_items_on_and_calls_as_each_multiple_is_taken(total: int) -> None:
    got: list[int] = []
    calls: list[tuple[int, int]] = []  # (n, items the caller had got by then)
    for item in every(_source(total, []), 3, lambda n: calls.append((n, len(got)))):
        got.append(item)
    assert got == list(range(total))
    assert calls == [(n, n - 1) for n in range(3, total + 1, 3)]


def test_every_takes_no_item_before_the_caller_asks_for_it() -> None:
    pulled: list[int] = []
    calls: list[int] = []
    items = every(_source(10, pulled), 3, calls.append)
    assert [next(items) for _ in range(4)] == [0, 1, 2, 3]
    assert pulled == [0, 1, 2, 3]
    assert calls == [3]
