"""AwaitJob: woken by the job's events, rechecking the job at a bounded rate, never past its limit."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
from returns.result import Failure, Result, Success

from adapters.memory.event_bus import InMemoryEventBus
from application.jobs.queries import GetJob
from application.openai_compat.wait import AwaitJob
from domain.errors import DomainError, ErrorCode, not_found
from domain.events import JobCompleted, JobStarted
from domain.jobs import Job, JobStatus, OperationType

NOW = datetime(2026, 12, 3, tzinfo=UTC)
PENDING = Job(id="job-1", user_id="u", provider_id="sim", operation_type=OperationType.TEXT_TO_IMAGE,
              params={}, created_at=NOW, run_after=NOW)
DONE = msgspec.structs.replace(PENDING, status=JobStatus.COMPLETED)


class Caller(msgspec.Struct, frozen=True):
    user_id: str = "u"
    is_admin: bool = False


class StoredJob:
    """GetJob's stand-in: the job as it is now, and how often it was read."""

    def __init__(self, job: Job | None) -> None:
        self.job = job
        self.reads = 0

    async def __call__(self, actor: Any, job_id: str) -> Result[Job, DomainError]:
        self.reads += 1
        return Success(self.job) if self.job is not None else Failure(not_found("job"))


def waiter(store: StoredJob, bus: InMemoryEventBus) -> AwaitJob:
    return AwaitJob(cast(GetJob, store), bus)


def test_an_unfinished_job_comes_back_as_it_is_after_the_limit_with_bounded_reads() -> None:
    store, bus = StoredJob(PENDING), InMemoryEventBus()

    async def go() -> tuple[Result[Job, DomainError], float]:
        started = time.monotonic()
        result = await waiter(store, bus)(Caller(), "job-1", 0.5, recheck_seconds=0.1)
        for _ in range(20):  # events that do not end the job do not cost reads
            await bus.publish(JobStarted(job_id="job-1", user_id="u", at=NOW, attempt=1))
        return result, time.monotonic() - started

    result, took = asyncio.run(go())
    assert result == Success(PENDING) and 0.5 <= took < 0.9
    assert 2 <= store.reads <= 7  # one read at first, then at most one per recheck: no tight loop
    assert bus.subscriber_count("job-1") == 0  # unsubscribed


def test_the_terminal_event_wakes_the_wait_at_once() -> None:
    store, bus = StoredJob(PENDING), InMemoryEventBus()

    async def go() -> tuple[Result[Job, DomainError], float]:
        async def finish() -> None:
            await asyncio.sleep(0.05)
            for _ in range(5):
                await bus.publish(JobStarted(job_id="job-1", user_id="u", at=NOW, attempt=1))
            store.job = DONE
            await bus.publish(JobCompleted(job_id="job-1", user_id="u", at=NOW, result_asset_ids=()))

        started = time.monotonic()
        task = asyncio.create_task(finish())
        result = await waiter(store, bus)(Caller(), "job-1", 10, recheck_seconds=5)
        await task
        return result, time.monotonic() - started

    result, took = asyncio.run(go())
    assert result == Success(DONE) and took < 1 and store.reads == 2


def test_a_lost_event_costs_at_most_one_recheck() -> None:
    store, bus = StoredJob(PENDING), InMemoryEventBus()

    async def go() -> tuple[Result[Job, DomainError], float]:
        async def finish_quietly() -> None:
            await asyncio.sleep(0.05)
            store.job = DONE  # no event

        started = time.monotonic()
        task = asyncio.create_task(finish_quietly())
        result = await waiter(store, bus)(Caller(), "job-1", 10, recheck_seconds=0.3)
        await task
        return result, time.monotonic() - started

    result, took = asyncio.run(go())
    assert result == Success(DONE) and 0.3 <= took < 1


def test_a_finished_or_missing_job_is_answered_without_waiting() -> None:
    done, missing, bus = StoredJob(DONE), StoredJob(None), InMemoryEventBus()
    assert asyncio.run(waiter(done, bus)(Caller(), "job-1", 10)) == Success(DONE)
    result = asyncio.run(waiter(missing, bus)(Caller(), "job-1", 10))
    assert isinstance(result, Failure) and result.failure().code is ErrorCode.NOT_FOUND
    assert asyncio.run(waiter(StoredJob(PENDING), bus)(Caller(), "job-1", 0)) == Success(PENDING)
