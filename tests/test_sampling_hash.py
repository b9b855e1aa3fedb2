"""Sampling outside any run is a hash decision too: the process's default run id, the kind and
the event's position among that kind decide, so the same input keeps the same records in every
process and on every call, and nothing is left to chance.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import llmops_logging as ll

from .conftest import hash_unit, read_records

N, RATE = 1_500, 0.3

WRITER = textwrap.dedent(
    """
    import sys, uuid
    fixed = uuid.UUID(sys.argv[2])
    uuid.uuid4 = lambda: fixed  # the process's default run id, drawn at import
    import llmops_logging as ll
    ll.configure(sys.argv[1], sample={"sample": float(sys.argv[3])})
    log = ll.get_logger("outside")
    for i in range(int(sys.argv[4])):
        log.info("sample", kind="sample", i=i)
        log.info("tick", i=i)  # another kind: it has positions of its own
    """
)


def _expected(run_id: str) -> list[int]:
    """Positions are 1-based among the events of the kind."""
    return [i for i in range(N) if hash_unit(run_id, "sample", i + 1) < RATE]


def _kept(log_dir: Path) -> tuple[list[int], set[str]]:
    records = [r for r in read_records(log_dir) if r["kind"] == "sample"]
    assert all(r["sample_rate"] == RATE for r in records)
    return [r["i"] for r in records], {r["run_id"] for r in records}


def test_outside_a_run_the_same_input_gives_the_same_decision_on_every_call(
    tmp_path: Path,
) -> None:
    kept_per_call = []
    for call in range(2):  # configure() again: a new sampler, the same process run id
        ll.configure(tmp_path / str(call), sample={"sample": RATE})
        log = ll.get_logger("outside")
        for i in range(N):
            log.info("sample", kind="sample", i=i)
        ll.reset()
        kept, run_ids = _kept(tmp_path / str(call))
        (run_id,) = run_ids
        assert kept == _expected(run_id)
        kept_per_call.append(kept)
    assert kept_per_call[0] == kept_per_call[1]
    assert 0.2 * N < len(kept_per_call[0]) < 0.4 * N


def test_outside_a_run_processes_with_the_same_run_id_keep_the_same_records(
    tmp_path: Path,
) -> None:
    ids = ["0b5e2a5c-6f1e-4d8a-9c3b-7a1d2e3f4a5b"] * 2 + ["9d4c3b2a-1e0f-4a9b-8c7d-6e5f4a3b2c1d"]
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path / str(n)), run_id, str(RATE), str(N)],
            stderr=subprocess.PIPE,
        )
        for n, run_id in enumerate(ids)
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err.decode()
    kept = []
    for n, run_id in enumerate(ids):
        records, run_ids = _kept(tmp_path / str(n))
        assert run_ids == {run_id}
        assert records == _expected(run_id), f"process {n} did not follow the hash"
        kept.append(records)
        ticks = [r for r in read_records(tmp_path / str(n)) if r["event"] == "tick"]
        assert len(ticks) == N  # a kind without a rate is never sampled
    assert kept[0] == kept[1]
    assert kept[0] != kept[2]  # another run id, another (fixed) choice
