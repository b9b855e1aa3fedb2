"""Follows a log from a position that a checkpoint can hold, for `ship`.

A file of the log is named by its rotation number, which never changes: rotated files keep
theirs (plain, then `.gz`), and the live file gets the newest rotated number plus one when it
is rotated (`_logset.open_live` tells which). A position is, for each file still being read,
that number with the offset (in uncompressed bytes) just past the last whole line taken, and
the inode of a plain file, so that a live file replaced by another one is read from its start.

As `tail -f` does, the cursor holds the live file by descriptor; when the live name points at
another inode, it keeps reading the old one (now rotated) until no writer holds it (an
exclusive `flock` is granted; where files cannot be locked, for `tail.GRACE_S`), reads the
rotated files that came and went between two reads, then the new live file. Records of one
read are put back in each process's `seq` order. No more than `MAX_LINE_BYTES` of one line is
held; longer lines are skipped and counted.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import IO, Any

from ..._contract import GZ_SUFFIX
from ..._lines import MAX_LINE_BYTES, READ_ERRORS, decode_line
from ..._logset import open_live, open_rotated, rotated_files, split_log_path
from ..._platform import try_lock_exclusive, unlock
from ..tail import GRACE_S, process_order

Record = dict[str, Any]
CHUNK = 1 << 20


class _File:
    """One file being read: its number, stream, offset read up to and an unfinished line."""

    def __init__(self, number: int, stream: IO[bytes], gz: bool, offset: int) -> None:
        self.number = number
        self.stream = stream
        self.gz = gz
        self.fd = stream.fileno()
        self.ino = None if gz else os.fstat(self.fd).st_ino
        self.pos = offset
        self.rest = b""
        self.skipping = False
        self.ended = False  # a gzip file read to its end: nothing can be added to it
        self.unlocked_since: float | None = None  # wall-clock, kept in the checkpoint
        if gz and offset:
            with contextlib.suppress(*READ_ERRORS):
                stream.seek(offset)

    @property
    def offset(self) -> int:
        """Just past the last whole line taken: where a restart reads from."""
        return self.pos - len(self.rest)

    def read(self, budget: int, oversize: list[int]) -> tuple[list[bytes], int]:
        """Whole lines written since the last call, up to about `budget` bytes; and the bytes
        read."""
        lines: list[bytes] = []
        taken = 0
        while taken < budget:
            try:
                if self.gz:
                    data = self.stream.read(CHUNK)
                    self.ended = not data
                else:
                    data = os.pread(self.fd, CHUNK, self.pos)
            except READ_ERRORS:
                self.ended = True
                data = b""
            if not data:
                break
            self.pos += len(data)
            taken += len(data)
            data = self.rest + data
            cut = data.rfind(b"\n")
            if cut < 0:
                self.rest = data
            else:
                self.rest = data[cut + 1 :]
                whole = data[:cut].split(b"\n")
                if self.skipping:
                    whole = whole[1:]
                    self.skipping = False
                lines += whole
            if len(self.rest) > MAX_LINE_BYTES:
                oversize.append(1)
                self.rest, self.skipping = b"", True
        if not self.gz and not taken and os.fstat(self.fd).st_size < self.pos:
            self.pos, self.rest, self.skipping = 0, b"", False  # truncated in place: start over
        return lines, taken

    def released(self) -> bool:
        """Whether no writer can add to this file any more: no writer holds its `flock`, or,
        where there are no file locks, `GRACE_S` have passed since it was first asked (a
        writer that has not yet seen the rotation may still append a line)."""
        if self.gz:
            return self.ended
        try:
            taken = try_lock_exclusive(self.fd)
        except OSError:  # locks not supported by this file system
            taken = None
        if taken is None:
            if self.unlocked_since is None:  # wall-clock: a `--once` run later goes on counting
                self.unlocked_since = time.time()
            return time.time() - self.unlocked_since > GRACE_S
        if taken:
            unlock(self.fd)
        return taken

    def close(self) -> None:
        self.stream.close()


class Cursor:
    """Reads a log's records from a position (`state`), oldest file first."""

    def __init__(self, path: str, state: dict[str, Any] | None = None) -> None:
        directory, self.live_name, single = split_log_path(path)
        if single:
            raise ValueError(f"{path} is a rotated file: ship its directory or live file")
        self.directory = directory
        self.live_path = os.path.join(directory, self.live_name)
        self.named = not os.path.isdir(path)
        self.missed: list[str] = []
        self.torn = 0
        self.oversize: list[int] = []
        self.files: list[_File] = []  # oldest first; the live one last
        self.live: _File | None = None
        state = state or {"files": [], "next": 0}
        try:
            self.next = int(state["next"])
            self.taken = int(state.get("taken", 0))
            """Records read so far, in file order: the next is the log's record `taken + 1`."""
        except ValueError as exc:  # not a path's fault: a checkpoint of another shape
            raise TypeError(f"cursor: {exc}") from None
        live, base = self._open_live()
        by_number = dict(rotated_files(directory, self.live_name))
        waited: dict[int, float] = {}
        for number, offset, ino, *since in state["files"]:
            if since:
                waited[number] = float(since[0])
            if number <= base:
                if number in by_number:
                    self._open_rotated(number, by_number[number], offset)
                else:
                    self.missed.append(f"rotated file number {number} was gone before it was read")
            elif number == base + 1 and live is not None:
                offset = offset if ino in (None, os.fstat(live.fileno()).st_ino) else 0
                self.live = self._hold(base + 1, live, False, offset)
                live = None
        held = {f.number for f in self.files}
        for number in range(self.next, base + 1):
            if number not in held and number in by_number:
                self._open_rotated(number, by_number[number], 0)
        if live is not None:
            if base + 1 >= self.next:
                self.live = self._hold(base + 1, live, False, 0)
            else:
                live.close()
        self.next = max(self.next, base + 2)
        for held_file in self.files:
            held_file.unlocked_since = waited.get(held_file.number)
        self.files.sort(key=lambda f: f.number)

    def _open_live(self) -> tuple[IO[bytes] | None, int]:
        errors: list[str] = []
        stream, base = open_live(self.directory, self.live_name, errors, named=self.named)
        self.missed += [note for note in errors if note not in self.missed]
        return stream, base

    def _hold(self, number: int, stream: IO[bytes], gz: bool, offset: int) -> _File:
        held = _File(number, stream, gz, offset)
        self.files.append(held)
        return held

    def _open_rotated(self, number: int, path: str, offset: int) -> None:
        errors: list[str] = []
        opened = open_rotated(path, errors)
        self.missed += errors
        if opened is not None:
            name, stream = opened
            self._hold(number, stream, name.endswith(GZ_SUFFIX), offset)

    def state(self) -> dict[str, Any]:
        """The position: what a restart reads from (and since when a file that cannot be
        locked has been waited for)."""
        files = [
            [f.number, f.offset, f.ino, *([f.unlocked_since] if f.unlocked_since else [])]
            for f in self.files
        ]
        return {"files": files, "next": self.next, "taken": self.taken}

    def read(self, budget: int = 8 * CHUNK) -> list[tuple[int, Record]]:
        """The records written since the last call (about `budget` bytes at most), each
        process's in its own order, each with its position in the log: its number in the
        order of the files' lines (1 for the first), which reordering does not change."""
        out: list[Record] = []
        left = budget
        for held in list(self.files):
            if left <= 0:
                break
            lines, taken = held.read(left, self.oversize)
            if held is not self.live and not taken and held.released():
                lines, taken = held.read(left, self.oversize)  # what came before the release
                if not taken:
                    self.torn += bool(held.rest)
                    held.close()
                    self.files.remove(held)
            left -= taken
            for line in lines:
                record, torn = decode_line(line)
                self.torn += torn
                if record is not None:
                    out.append(record)
        if left > 0:
            self._switch()
        first, self.taken = self.taken + 1, self.taken + len(out)
        return [(first + index, out[index]) for index in process_order(out)]

    def _switch(self) -> None:
        """Follow a rotation: the live name now points at another file."""
        try:
            current = os.stat(self.live_path).st_ino
        except FileNotFoundError:
            return
        if self.live is not None and current == self.live.ino:
            return
        stream, base = self._open_live()
        if stream is None:
            return
        first = self.live.number + 1 if self.live is not None else self.next - 1
        by_number = dict(rotated_files(self.directory, self.live_name))
        for number in range(first, base + 1):
            if number in by_number:
                self._open_rotated(number, by_number[number], 0)
            else:
                self.missed.append(f"rotated file number {number} was gone before it was read")
        self.live = self._hold(base + 1, stream, False, 0)
        self.next = base + 2
        self.files.sort(key=lambda f: f.number)

    def close(self) -> None:
        for held in self.files:
            held.close()
        self.files.clear()
