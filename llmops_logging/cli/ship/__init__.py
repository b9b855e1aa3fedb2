"""`ship`: follow a log and send its runs, as OTLP traces, to an OpenTelemetry backend or
collector, at least once.

One loop, in one thread: read what was written (`cursor`), turn it into spans as they end
(`spans`), send them in batches (`send`) and, once the backend acknowledged every batch of
that read, write the checkpoint (`checkpoint`). Nothing is read while a batch waits for the
backend, so memory stays bounded whatever the length of an outage: the log on disk is the
queue. Span ids come from record ids, so a batch sent again after a crash holds the same
spans, which backends keep once. When reading has caught up, the runs whose writer is gone
are closed as `unfinished`.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

from .._output import visible
from .._parser import PROG
from .._steps import UsageError, paths, plural
from ..export import default_path
from . import checkpoint, send
from .cursor import Cursor
from .spans import Builder, Span

SERVICE = "llmops_logging"
READ_BUDGET = 1 << 20
DEFAULT_OPEN_TIMEOUT_S = 900.0
INTERVAL_S = 0.1
GC_THRESHOLD = 50_000
"""Allocations between two young-generation collections while shipping (Python's default is
700): spans are built of many short-lived dicts, and collecting every 700 cost a fifth of
the time; what a read allocates is freed when its batch is sent, so memory stays bounded."""


def resource(project: str | None) -> list[dict[str, Any]]:
    """The resource of every span: `service.name`, and the project Phoenix files traces under."""
    name = project or SERVICE
    out = [{"key": "service.name", "value": {"stringValue": name}}]
    if project:
        out.append({"key": "openinference.project.name", "value": {"stringValue": project}})
    return out


def json_request(resource_attributes: list[dict[str, Any]], spans: list[Span]) -> bytes:
    return orjson.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {"attributes": resource_attributes},
                    "scopeSpans": [{"scope": {"name": SERVICE}, "spans": spans}],
                }
            ]
        }
    )


def alive(pid: int) -> bool:
    """Whether a process of that id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0
    return True


def _say(message: str) -> None:
    print(f"{PROG}: ship: {message}", file=sys.stderr, flush=True)


class Shipper:
    """The loop: see the module docstring."""

    def __init__(self, args: argparse.Namespace, log: str, sender: send.Sender) -> None:
        self.args = args
        self.sender = sender
        self.protocol = sender.content_type == send.CONTENT_TYPES[send.PROTOBUF]
        key = hashlib.sha256(send.shown(sender.url).encode()).hexdigest()[:12]
        self.path = args.checkpoint or default_path(log, f"ship-{key}.json")
        self.rejected_path = self.path + ".rejected.jsonl"
        state = checkpoint.load(self.path) or {}
        self.cursor = Cursor(log, state.get("cursor"))
        self.builder = Builder(state.get("runs"), state.get("ended"))
        self.resource = resource(args.project)
        self.timeout = int(args.open_timeout * 1e9)
        self.records = self.spans = self.refused = 0
        self.stopped: list[int] = []

    def _encode(self, spans: list[Span]) -> bytes:
        if self.protocol:
            from .proto import request_bytes

            return request_bytes(self.resource, SERVICE, spans)
        return json_request(self.resource, spans)

    def deliver(self, spans: list[Span]) -> None:
        """Send the spans in batches; each acknowledged or set aside before this returns."""
        for start in range(0, len(spans), self.args.batch):
            batch = spans[start : start + self.args.batch]
            try:
                answer = self.sender.send(self._encode(batch), lambda: bool(self.stopped))
            except send.Refused as exc:
                self.refused += len(batch)
                checkpoint.set_aside(self.rejected_path, json_request(self.resource, batch))
                _say(
                    f"{exc}: a batch of {plural(len(batch), 'span')} refused, set aside in "
                    f"{visible(self.rejected_path)}"
                )
                continue
            self.spans += len(batch)
            if self.protocol and answer:
                from .proto import rejected_spans

                count, why = rejected_spans(answer)
                if count:
                    _say(f"the backend kept all but {plural(count, 'span')}: {visible(why)}")

    def step(self, now: Callable[[], int] = time.time_ns) -> bool:
        """One read, its spans sent, the checkpoint written; whether anything was read."""
        before = self.cursor.state()
        records = self.cursor.read(READ_BUDGET)
        spans: list[Span] = []
        for position, record in records:
            spans += self.builder.add(record, position)
        self.records += len(records)
        caught_up = not records
        if caught_up:
            check: Callable[[int], bool] = alive if self.args.pid_check else lambda pid: True
            spans += self.builder.close_stale(now(), self.timeout, check)
        if spans:
            self.deliver(spans)
        if spans or records or self.cursor.state() != before:
            self.save()
        return not caught_up

    def save(self) -> None:
        """The checkpoint: only once every span read so far was acknowledged (or set aside)."""
        checkpoint.save(
            self.path,
            {
                "endpoint": send.shown(self.sender.url),
                "cursor": self.cursor.state(),
                "runs": self.builder.state(),
                "ended": self.builder.ended,
            },
        )

    def run(self) -> None:
        while not self.stopped:
            if not self.step() and not self.stopped:
                if self.args.once:
                    return
                time.sleep(INTERVAL_S)


def command(args: argparse.Namespace) -> int:
    found = paths(args, empty_ok=True)
    if len(found) != 1:
        raise UsageError("ship follows one log: give one directory or live file")
    env = send.environment()
    try:
        headers = send.headers(args.header or [], env)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    url = send.endpoint(args.to, args.preset, env)
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--to {send.shown(url)}: an http:// or https:// URL")
    protocol = send.protocol(args.protocol, env)
    if protocol == send.PROTOBUF:
        try:
            from . import proto  # noqa: F401  # fail now, not at the first batch
        except ImportError:
            _say("http/protobuf needs opentelemetry-proto (pip install opentelemetry-proto)")
            return 1
    sender = send.Sender(url, send.CONTENT_TYPES[protocol], headers, args.insecure, say=_say)
    try:
        shipper = Shipper(args, found[0], sender)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except (TypeError, KeyError, IndexError, AttributeError) as exc:  # of another shape
        raise UsageError(
            f"the checkpoint cannot be read ({type(exc).__name__}): remove it "
            "to ship from the start, or give --checkpoint"
        ) from None
    if send.in_clear(url, headers):
        _say(
            f"warning: {plural(len(headers), 'header')} ({', '.join(map(visible, headers))}) "
            f"will go unencrypted to {send.shown(url)}: anyone on the way can read the values; "
            "use https://"
        )
    previous = {
        sig: signal.signal(sig, lambda signum, frame: shipper.stopped.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    status = 0
    threshold = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *threshold[1:])
    try:
        shipper.run()
    except send.Fatal as exc:
        _say(f"{exc}: stopped; nothing past the last acknowledged batch is marked as sent")
        status = 1
    except InterruptedError:
        pass
    finally:
        gc.set_threshold(*threshold)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shipper.cursor.close()
    for missed in shipper.cursor.missed:
        _say(visible(missed))
    print(
        f"shipped {plural(shipper.spans, 'span')} from {plural(shipper.records, 'record')} "
        f"to {send.shown(url)}; {plural(len(shipper.builder.runs), 'run')} still open"
        + (f"; {plural(shipper.refused, 'span')} refused" if shipper.refused else "")
    )
    return status
