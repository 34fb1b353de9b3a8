"""The sim's state in a directory: several simulators (and processes) on one directory act
as one remote service."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from returns.result import Failure, Success

from adapters.media import read_png_size
from adapters.memory.system import ManualClock
from adapters.providers.sim import SimProvider
from adapters.providers.sim_state import DirectorySimState, InMemorySimState, SimJobRecord
from domain.accounts import FailureKind
from domain.jobs import OperationType
from domain.providers import InputRef, RemoteState, SubmitRequest

KEY_A = "sim-key-a"
KEY_B = "sim-key-b"


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop_runner:
        yield loop_runner


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


def pair(root: Path, clock: ManualClock) -> tuple[SimProvider, SimProvider]:
    """Two simulators, as in two worker processes, sharing one state directory."""
    return (SimProvider(clock.now, state=DirectorySimState(root)),
            SimProvider(clock.now, state=DirectorySimState(root)))


def request(reference: str, operation: OperationType = OperationType.TEXT_TO_IMAGE,
            **params: Any) -> SubmitRequest:
    inputs = ()
    if operation is OperationType.IMAGE_TO_VIDEO:
        inputs = (InputRef(asset_id="a1", provider_asset_id="sim-upload-aaa", mime_type="image/png"),)
    return SubmitRequest(reference=reference, operation_type=operation,
                         params={"prompt": "a lighthouse", **params}, inputs=inputs)


def test_a_job_submitted_on_one_is_found_polled_and_downloaded_on_the_other(
        tmp_path: Path, clock: ManualClock, runner: asyncio.Runner) -> None:
    one, other = pair(tmp_path, clock)
    job_id = runner.run(one.submit(KEY_A, request("sub-1", sim_latency_ms=1000, width=96, height=64))).unwrap()
    assert runner.run(other.find(KEY_B, "sub-1")) == Success(job_id)
    assert runner.run(other.status(KEY_B, job_id)).unwrap().state is RemoteState.QUEUED
    clock.advance(seconds=1)
    done = runner.run(other.status(KEY_B, job_id)).unwrap()
    assert done.state is RemoteState.SUCCEEDED

    async def download() -> bytes:
        return b"".join([chunk async for chunk in other.download(done.outputs[0])])

    assert read_png_size(runner.run(download())) == (96, 64)


def test_the_same_reference_is_one_job_across_simulators(
        tmp_path: Path, clock: ManualClock, runner: asyncio.Runner) -> None:
    one, other = pair(tmp_path, clock)
    first = runner.run(one.submit(KEY_A, request("sub-1"))).unwrap()
    assert runner.run(other.submit(KEY_A, request("sub-1"))) == Success(first)
    runner.run(other.submit(KEY_A, request("sub-2")))
    for sim in (one, other):
        assert sim.submits_by_reference == {"sub-1": 2, "sub-2": 1}
        assert sim.submit_count == 3


def test_a_cancel_on_one_is_seen_on_the_other(tmp_path: Path, clock: ManualClock, runner: asyncio.Runner) -> None:
    one, other = pair(tmp_path, clock)
    job_id = runner.run(one.submit(KEY_A, request("sub-1", sim_latency_ms=1000))).unwrap()
    runner.run(other.cancel(KEY_A, job_id))
    clock.advance(seconds=2)
    assert runner.run(one.status(KEY_A, job_id)).unwrap().state is RemoteState.CANCELLED


def test_the_failing_first_attempt_is_spent_once_for_all(
        tmp_path: Path, clock: ManualClock, runner: asyncio.Runner) -> None:
    one, other = pair(tmp_path, clock)
    first = runner.run(one.submit(KEY_A, request("sub-1", sim_outcome="transient_error"))).unwrap()
    retry = runner.run(other.submit(KEY_A, request("sub-2", sim_outcome="transient_error"))).unwrap()
    failed = runner.run(other.status(KEY_A, first)).unwrap()
    assert failed.state is RemoteState.FAILED and failed.failure is not None
    assert failed.failure.kind is FailureKind.TRANSIENT
    assert runner.run(one.status(KEY_A, retry)).unwrap().state is RemoteState.SUCCEEDED


def test_the_first_account_a_job_met_is_rejected_everywhere(
        tmp_path: Path, clock: ManualClock, runner: asyncio.Runner) -> None:
    one, other = pair(tmp_path, clock)
    rejected = runner.run(one.submit(KEY_A, request("sub-1", sim_outcome="account_error")))
    assert isinstance(rejected, Failure) and rejected.failure().kind is FailureKind.AUTH
    again = runner.run(other.submit(KEY_A, request("sub-2", sim_outcome="account_error")))
    assert isinstance(again, Failure) and again.failure().kind is FailureKind.AUTH
    assert isinstance(runner.run(other.submit(KEY_B, request("sub-3", sim_outcome="account_error"))), Success)
    assert "sim-key" not in "".join(p.read_text() for p in (tmp_path / "first-secret").iterdir())


def test_odd_references_stay_inside_the_directory(tmp_path: Path, clock: ManualClock,
                                                  runner: asyncio.Runner) -> None:
    root = tmp_path / "state"
    one, other = pair(root, clock)
    job_id = runner.run(one.submit(KEY_A, request("../../escape/ü"))).unwrap()
    assert runner.run(other.find(KEY_A, "../../escape/ü")) == Success(job_id)
    assert other.submits_by_reference == {"../../escape/ü": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]


def record(reference: str) -> SimJobRecord:
    return SimJobRecord(id=f"job-{reference}", reference=reference, operation_type=OperationType.TEXT_TO_IMAGE,
                        params={"prompt": "x"}, input_keys=(), submitted_at=datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("kind", ["memory", "directory"])
def test_the_first_job_stored_for_a_reference_wins(tmp_path: Path, kind: str) -> None:
    state = DirectorySimState(tmp_path) if kind == "directory" else InMemorySimState()
    first = record("r1")
    assert state.add_job(first) == "job-r1"
    assert state.add_job(msgspec.structs.replace(first, id="job-other")) == "job-r1"
    assert state.job("job-other") is None and state.job("job-r1") == first
    assert state.job_for("r1") == "job-r1" and state.job_for("r2") is None


# ------------------------------------------------------------------ across processes


def _contend(root: str, fingerprint: str, rounds: int, contender: int) -> tuple[int, int, int]:
    """In a child process: how many first-attempt markers and first secrets it won. Each
    contender has its own secret (a pool may run two contenders in one process, one pid)."""
    state = DirectorySimState(root)
    spent = sum(state.spend_transient(f"{fingerprint}-{n}") for n in range(rounds))
    firsts = sum(state.is_first_secret(f"{fingerprint}-{n}", f"key-{contender}") for n in range(rounds))
    for _ in range(rounds):
        state.record_submit("shared-ref")
    return spent, firsts, os.getpid()


def test_processes_racing_for_first_facts_have_exactly_one_winner_each(tmp_path: Path) -> None:
    processes, rounds = 4, 50
    with ProcessPoolExecutor(max_workers=processes) as pool:
        results = list(pool.map(_contend, [str(tmp_path)] * processes, ["fp"] * processes, [rounds] * processes,
                                range(processes)))
    assert sum(spent for spent, _, _ in results) == rounds
    assert sum(firsts for _, firsts, _ in results) == rounds
    counts = DirectorySimState(tmp_path).submits()
    assert counts == {"shared-ref": processes * rounds}
    assert sorted(int(p.name) for p in (tmp_path / "submits" / "shared-ref").iterdir() if p.name.isdigit()) == \
        list(range(processes * rounds))
    assert not any((tmp_path / "tmp").iterdir())
