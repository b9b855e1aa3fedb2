"""A run's span tree, built record by record: the run's root; each step, LLM call and tool
call (an agent is a step) a node by its `step_id`, under its `parent_id`'s node; every other
record an event of its step's node, or of the root's.

Built incrementally (`add` one record, `take` the finished nodes), so the report's timeline,
the OTLP export and a streaming shipper fold a run alike:
- a node's start is its start record's `ts`; its end, its end record's `ts` (its start, when no
  start record was seen, is the end less its `duration_s`: the renderer's sum); its status, at
  its end, `error` when that record failed (`records.failed`), else `ok`;
- a record of a step not seen yet waits for its node (a `tool_call` is written after what the
  tool logged) until `max_waiting` records wait or `give_up_waiting` is called: then the
  waiting ones go to the root, made for them when the run has no run record;
- a node keeps its first `max_events` events and as many failed ones; the rest it counts in
  `dropped`. It keeps its own records (start, end), at most `MAX_OWN`: past that, the latest
  replaces the last kept;
- `parents` gives each node's parent: its `parent_id`'s node if in the tree, else the root; a
  parent that would make a node its own ancestor (a cycle) is replaced by the root for the
  node of that cycle that was made first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._contract import (
    DURATION_S,
    NAME,
    PARENT_ID,
    STEP_ID,
    TS,
    Record,
)
from .records import RUN_ENDS, RUN_START, SPAN_KINDS, STARTS, failed, kind_of
from .values import number, shown

ROOT = ""
"""The root's key: never a step's, whose key is `STEP_KEY` and its `step_id`."""
STEP_KEY = "s"
MAX_OWN = 16
OK, ERROR = "ok", "error"


class Node:
    """One span: the run (key `ROOT`) or a step, call or tool call; `data` is the renderer's."""

    __slots__ = (
        "data", "dropped", DURATION_S, "end", "ended", "errors", "events", "key", "name",
        "order", "parent", "records", "start", "status",
    )  # fmt: skip

    def __init__(self, key: str, parent: str | None, order: int) -> None:
        self.key = key
        self.parent = parent  # the parent's key as recorded; None for the root
        self.order = order
        self.name = "-"  # the root's: the run's name
        self.records: list[Record] = []
        self.events: list[tuple[int, Record]] = []  # (position in the run, record)
        self.errors = 0  # failed events kept beyond max_events
        self.dropped = 0
        self.start: Any = None  # the `ts` of its start record, as written
        self.end: Any = None
        self.duration_s: float | None = None
        self.ended = False
        self.status: str | None = None
        self.data: Any = None

    @property
    def is_root(self) -> bool:
        return self.key == ROOT

    @property
    def step_id(self) -> str | None:
        return None if self.key == ROOT else self.key[len(STEP_KEY) :]

    @property
    def first(self) -> Record | None:
        """The node's first own record: what names it."""
        return self.records[0] if self.records else None


class SpanTree:
    """The nodes of one run not yet taken; `on_node` is told of each node made."""

    def __init__(
        self,
        max_events: int | None = None,
        max_waiting: int | None = None,
        on_node: Callable[[Node], None] | None = None,
    ) -> None:
        self.nodes: dict[str, Node] = {}
        self.max_events = max_events
        self.max_waiting = max_waiting
        self.on_node = on_node
        self.seq = 0
        self.order = 0
        self.waiting: dict[str, list[tuple[int, Record]]] = {}
        self.waiting_count = 0

    def node(self, key: str, parent: str | None) -> Node:
        """The node of `key`, made (under `parent`) if it is not in the tree."""
        node = self.nodes.get(key)
        if node is None:
            self.order += 1
            node = self.nodes[key] = Node(key, None if key == ROOT else parent, self.order)
            if self.on_node is not None:
                self.on_node(node)
            for seq, record in self.waiting.pop(key, ()):
                self.waiting_count -= 1
                self._event(node, seq, record)
        return node

    def root(self) -> Node:
        return self.node(ROOT, None)

    def add(self, record: Record) -> Node | None:
        """Fold one record of the run; returns its node (its own, or its event's owner), or
        None while it waits for its step's node."""
        self.seq += 1
        kind = kind_of(record)
        step = record.get(STEP_ID)
        key = STEP_KEY + step if isinstance(step, str) else None
        if kind == RUN_START or kind in RUN_ENDS:
            node = self.root()
            node.name = shown(record.get(NAME, "-"))
        elif kind in SPAN_KINDS and key is not None:
            parent = record.get(PARENT_ID)
            node = self.node(key, STEP_KEY + parent if isinstance(parent, str) else ROOT)
        else:
            owner = self.nodes.get(key) if key is not None else None
            if owner is None and key is not None:
                if self.max_waiting is not None and self.waiting_count >= self.max_waiting:
                    self.give_up_waiting()
                self.waiting.setdefault(key, []).append((self.seq, record))
                self.waiting_count += 1
                return None
            owner = owner or self.nodes.get(ROOT) or self.root()
            self._event(owner, self.seq, record)
            return owner
        if len(node.records) < MAX_OWN:
            node.records.append(record)
        else:
            node.records[-1] = record
        if kind in STARTS:
            node.start = record.get(TS)
            return node
        node.ended = True
        node.end = record.get(TS)
        node.duration_s = number(record.get(DURATION_S))
        node.status = ERROR if failed(record) else OK
        return node

    def _event(self, node: Node, seq: int, record: Record) -> None:
        limit = self.max_events
        if limit is None or len(node.events) - node.errors < limit:
            node.events.append((seq, record))
        elif failed(record) and node.errors < limit:
            node.errors += 1
            node.events.append((seq, record))
        else:
            node.dropped += 1

    def give_up_waiting(self) -> None:
        """The records waiting for their step's node go to the root, in the order logged."""
        if not self.waiting:
            return
        root = self.nodes.get(ROOT) or self.root()
        for seq, record in sorted(
            (e for events in self.waiting.values() for e in events), key=lambda e: e[0]
        ):
            self._event(root, seq, record)
        self.waiting.clear()
        self.waiting_count = 0

    def parents(self) -> dict[str, str | None]:
        """Each node's parent key (see the module): its own if in the tree, else the root's;
        None for the root, and for a node whose parent is gone when the tree has no root."""
        has_root = ROOT in self.nodes
        parents: dict[str, str | None] = {}
        for key, node in self.nodes.items():
            parent = node.parent
            if parent is not None and parent not in self.nodes:
                parent = ROOT if has_root else None
            parents[key] = None if key == ROOT else parent
        done: set[str] = set()
        for key in self.nodes:
            trail: list[str] = []
            on_trail: set[str] = set()
            at: str | None = key
            while at is not None and at not in done and at not in on_trail:
                trail.append(at)
                on_trail.add(at)
                at = parents[at]
            if at is not None and at in on_trail:  # a cycle: its first-made node moves
                cycle = trail[trail.index(at) :]
                first = min(cycle, key=lambda k: self.nodes[k].order)
                parents[first] = ROOT if has_root and first != ROOT else None
            done.update(trail)
        return parents

    def take(self, finished_only: bool = False) -> list[tuple[Node, Node | None]]:
        """Remove and return the nodes (only the ended ones, if asked), each with its parent
        node (which may stay in the tree); taking all first sends waiting records to the root."""
        if not finished_only:
            self.give_up_waiting()
        parents = self.parents()
        out = []
        for key, node in list(self.nodes.items()):
            if finished_only and not node.ended:
                continue
            parent = parents[key]
            out.append((node, None if parent is None else self.nodes[parent]))
        for node, _ in out:
            del self.nodes[node.key]
        return out
