"""The worker loop: wakes on new work, runs jobs concurrently, stops cleanly."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

from adapters.providers.registry import StaticProviderRegistry
from application.jobs.create import CreateJob, JobRequest
from application.pipeline.claim import ClaimJobs
from application.pipeline.held import HeldPolls
from application.pipeline.run import RunJob
from application.policy import PipelinePolicy, Policies
from domain.jobs import JobStatus
from entrypoints.bootstrap import build_container
from entrypoints.worker import Worker
from tests.support.seed import add_account, add_user
from tests.support.wiring import Wiring, memory_wiring


def make_worker(w: Wiring, **options: Any) -> Worker:
    return Worker(w.get(ClaimJobs), w.get(RunJob), w.ports.signal, **options)


async def statuses(w: Wiring, job_ids: list[str]) -> list[JobStatus]:
    async with w.ports.uow() as uow:
        return [(await uow.jobs.get(j)).status for j in job_ids]  # type: ignore[union-attr]


def test_new_jobs_wake_the_worker_and_complete() -> None:
    async def scenario() -> None:
        w = memory_wiring()
        alice = await add_user(w)
        await add_account(w, max_concurrent_jobs=4)
        worker = make_worker(w, concurrency=2, idle_seconds=30)  # only the signal can wake it in time
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        await asyncio.sleep(0.05)
        ids = []
        for i in range(5):
            created = await w.get(CreateJob)(alice, JobRequest(provider_id="sim", operation_type="text_to_image",
                                                                params={"prompt": f"p{i}"}))
            ids.append(created.unwrap().job.id)
        for _ in range(200):
            if await statuses(w, ids) == [JobStatus.COMPLETED] * 5:
                break
            await asyncio.sleep(0.01)
        assert await statuses(w, ids) == [JobStatus.COMPLETED] * 5
        stop.set()
        await asyncio.wait_for(running, 5)
        assert worker.jobs_run == 5

    asyncio.run(scenario())


class Stuck:
    """A provider whose submit never answers until released."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.entered = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def submit(self, secret: str, request: Any) -> Any:
        self.entered.set()
        await asyncio.Event().wait()


def test_stop_cancels_steps_still_running_after_the_grace_period() -> None:
    async def scenario() -> None:
        w = memory_wiring()
        stuck = Stuck(w.sim)
        ports = dataclasses.replace(w.ports, providers=StaticProviderRegistry([stuck]))
        w = Wiring(build_container(ports), ports, w.clock, w.sim)
        alice = await add_user(w)
        await add_account(w)
        created = await w.get(CreateJob)(alice, JobRequest(provider_id="sim", operation_type="text_to_image",
                                                            params={"prompt": "x"}))
        worker = make_worker(w, concurrency=1, idle_seconds=0.05, grace_seconds=0.1)
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        await asyncio.wait_for(stuck.entered.wait(), 5)
        stop.set()
        await asyncio.wait_for(running, 5)
        async with w.ports.uow() as uow:
            job = await uow.jobs.get(created.unwrap().job.id)
        # Still leased and recorded: after the lease runs out another worker re-attaches.
        assert job is not None and job.status is JobStatus.PROCESSING and job.submission_id is not None

    asyncio.run(scenario())


def test_claim_failures_back_off_instead_of_crashing() -> None:
    class Down:
        calls = 0

        async def __call__(self, limit: int | None = None) -> list[Any]:
            Down.calls += 1
            raise ConnectionError("database unreachable")

    async def scenario() -> None:
        w = memory_wiring()
        worker = Worker(Down(), w.get(RunJob), w.ports.signal, concurrency=1)  # type: ignore[arg-type]
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        await asyncio.sleep(1.2)
        stop.set()
        await asyncio.wait_for(running, 5)
        assert 1 <= Down.calls <= 3  # 1 s, then 2 s: backing off, not spinning

    asyncio.run(scenario())


def test_a_worker_polls_its_held_jobs_without_claiming_on_every_poll() -> None:
    async def scenario() -> None:
        policy = PipelinePolicy(poll_interval=timedelta(seconds=0.05), lease_renewal=timedelta(seconds=0.05))
        w = memory_wiring(policies=Policies(pipeline=policy))
        alice = await add_user(w)
        await add_account(w)
        created = await w.get(CreateJob)(alice, JobRequest(provider_id="sim", operation_type="text_to_image",
                                                            params={"prompt": "x", "sim_latency_ms": 60_000}))
        claims = 0
        claim = w.get(ClaimJobs)

        async def counting(limit: int | None = None) -> list[Any]:
            nonlocal claims
            claims += 1
            return await claim(limit)

        held = w.get(HeldPolls)
        worker = Worker(counting, w.get(RunJob), w.ports.signal, concurrency=2, idle_seconds=30,  # type: ignore[arg-type]
                        held=held)
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        for _ in range(20):
            await asyncio.sleep(0.03)
            w.clock.advance(0.05)
        stop.set()
        await asyncio.wait_for(running, 5)
        assert worker.jobs_run >= 3  # its first run, then polls of the held job
        assert claims <= 2  # the first, and one for the signal its creation sent; none per poll
        async with w.ports.uow() as uow:
            job = await uow.jobs.get(created.unwrap().job.id)
        assert job is not None and job.status is JobStatus.PROCESSING and job.lease_token is None  # given back

    asyncio.run(scenario())
