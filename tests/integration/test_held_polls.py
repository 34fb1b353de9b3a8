"""Polls held by a worker lease, in memory and on Postgres: a worker that dies loses its jobs
only to the next claim after their leases run out; a webhook's poke makes a held job's poll
due within one cycle; a cancelled held job is let go; a stopping worker gives its jobs back."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from returns.result import Failure

from adapters.memory.system import ManualClock
from adapters.providers.registry import StaticProviderRegistry
from adapters.sql.engine import create_engine
from adapters.sql.uow import SqlUnitOfWorkFactory
from application.jobs.cancel import CancelJob
from application.jobs.create import CreateJob, JobRequest
from application.pipeline.advance import AdvanceJob
from application.pipeline.claim import ClaimJobs
from application.pipeline.held import HeldPolls
from application.pipeline.run import RunJob
from application.pipeline.webhook import AcceptWebhook
from application.policy import PipelinePolicy, Policies
from domain.jobs import Job, JobStatus
from entrypoints.bootstrap import Ports, build_container
from entrypoints.worker import Worker
from tests.support.seed import ActorStub, add_account, add_user
from tests.support.wiring import Wiring, memory_ports
from tests.unit.application.test_webhooks import SigningSim, delivery

# Polls far apart and renewals often, as with providers that send webhooks; a short lease.
POLICY = PipelinePolicy(lease=timedelta(seconds=20), poll_interval=timedelta(seconds=10),
                        lease_renewal=timedelta(seconds=2))


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> str | None:
    """None: in memory; else a clean Postgres database's URL."""
    return None if request.param == "memory" else str(request.getfixturevalue("pg_clean_url"))


@asynccontextmanager
async def world(url: str | None) -> AsyncIterator[Wiring]:
    clock = ManualClock()
    sim = SigningSim(clock=clock.now)
    ports = memory_ports(clock, sim)
    engine = None
    if url is not None:
        engine = create_engine(url, pool_pre_ping=False)
        ports = dataclasses.replace(ports, uow=SqlUnitOfWorkFactory(engine))
    try:
        yield Wiring(build_container(ports, Policies(pipeline=POLICY)), ports, clock, sim)
    finally:
        if engine is not None:
            await engine.dispose()


def worker_process(w: Wiring) -> Wiring:
    """Another worker process over the same stores: its own container, so its own held polls."""
    ports: Ports = dataclasses.replace(w.ports, providers=StaticProviderRegistry([w.sim]))
    process = Wiring(build_container(ports, Policies(pipeline=POLICY)), ports, w.clock, w.sim)
    process.get(HeldPolls).open()
    return process


async def slow_job(w: Wiring, actor: ActorStub, prompt: str = "slow") -> str:
    created = await w.get(CreateJob)(actor, JobRequest(provider_id="sim", operation_type="text_to_image",
                                                       params={"prompt": prompt, "sim_latency_ms": 60_000}))
    return created.unwrap().job.id


async def claim_and_run(w: Wiring) -> list[Job]:
    claimed = await w.get(ClaimJobs)()
    for job in claimed:
        await w.get(RunJob)(job)
    return claimed


async def poll_cycle(w: Wiring) -> list[str]:
    held = w.get(HeldPolls)
    await held.renew()
    due = held.due(100)
    for job in due:
        await w.get(RunJob)(job)
    return [job.id for job in due]


async def stored(w: Wiring, job_id: str) -> Job:
    async with w.ports.uow() as uow:
        job = await uow.jobs.get(job_id)
    assert job is not None
    return job


async def held_job(w: Wiring) -> tuple[Wiring, ActorStub, str]:
    """One job running at the provider, held by a worker process after its first poll."""
    alice = await add_user(w)
    await add_account(w, max_concurrent_jobs=4)
    worker = worker_process(w)
    job_id = await slow_job(w, alice)
    assert [j.id for j in await claim_and_run(worker)] == [job_id]
    assert len(worker.get(HeldPolls)) == 1
    return worker, alice, job_id


def test_a_dead_workers_jobs_are_taken_back_once_their_leases_run_out(store: str | None) -> None:
    async def scenario() -> None:
        async with world(store) as w:
            first, _, job_id = await held_job(w)
            held_version = (await stored(w, job_id)).version
            w.clock.advance(10)
            assert await poll_cycle(first) == [job_id]  # polled, unchanged: nothing written
            assert (await stored(w, job_id)).version == held_version
            # The first worker dies: nothing renews its leases any more.
            second = worker_process(w)
            w.clock.advance(19)
            assert await claim_and_run(second) == []  # still leased (renewed 10 s into the lease)
            w.clock.advance(2)
            assert [j.id for j in await claim_and_run(second)] == [job_id]  # due at once
            assert len(second.get(HeldPolls)) == 1
            taken = await stored(w, job_id)
            assert taken.lease_token is not None and taken.status is JobStatus.PROCESSING
            # Were the first one only stalled, its renewal lets the job go and it cannot write.
            w.clock.advance(3)
            assert await poll_cycle(first) == []
            assert len(first.get(HeldPolls)) == 0
            assert isinstance(await first.get(AdvanceJob)(job_id, "stale"), Failure)
            w.clock.advance(60)
            assert await poll_cycle(second) == [job_id]
            assert (await stored(w, job_id)).status is JobStatus.COMPLETED

    asyncio.run(scenario())


def test_a_webhook_makes_a_held_jobs_poll_due_within_one_cycle(store: str | None) -> None:
    async def scenario() -> None:
        async with world(store) as w:
            worker, _, job_id = await held_job(w)  # polled at t0: due again at t0 + 10 s
            w.clock.advance(3)
            assert await poll_cycle(worker) == []  # renewed at t0 + 3 s, nothing due
            remote = (await stored(w, job_id)).provider_job_id or ""
            w.clock.advance(0.5)
            accepted = await w.get(AcceptWebhook)("sim", {"x-signature": "good"},
                                                  delivery("d1", remote, w.clock.now()))
            assert accepted.unwrap().job_id == job_id
            assert await poll_cycle(worker) == []  # seen at the next renewal, not before
            w.clock.advance(1.5)  # the next cycle, 5 s before the poll was due
            assert await poll_cycle(worker) == [job_id]
            assert len(worker.get(HeldPolls)) == 1  # still running there, still held
            w.clock.advance(2)
            assert await poll_cycle(worker) == []  # the poke is seen once

    asyncio.run(scenario())


def test_a_cancelled_held_job_is_let_go(store: str | None) -> None:
    async def scenario() -> None:
        async with world(store) as w:
            worker, alice, job_id = await held_job(w)
            cancelled = await w.get(CancelJob)(alice, job_id)
            assert cancelled.unwrap().status is JobStatus.CANCELLED
            w.clock.advance(3)
            assert await poll_cycle(worker) == []
            assert len(worker.get(HeldPolls)) == 0
            after = await stored(w, job_id)
            assert after.status is JobStatus.CANCELLED and after.lease_token is None

    asyncio.run(scenario())


def test_a_stopping_worker_gives_its_held_jobs_back_at_once(store: str | None) -> None:
    async def scenario() -> None:
        async with world(store) as w:
            alice = await add_user(w)
            await add_account(w, max_concurrent_jobs=4)
            ids = [await slow_job(w, alice, f"p{i}") for i in range(3)]
            held = w.get(HeldPolls)
            worker = Worker(w.get(ClaimJobs), w.get(RunJob), w.ports.signal, concurrency=4, idle_seconds=0.02,
                            held=held)
            stop = asyncio.Event()
            running = asyncio.create_task(worker.run(stop))
            for _ in range(500):
                if len(held) == 3:
                    break
                await asyncio.sleep(0.01)
            assert len(held) == 3
            versions = [(await stored(w, job_id)).version for job_id in ids]
            await asyncio.sleep(0.1)  # cycles go by: nothing due (the clock stands still), nothing written
            assert [(await stored(w, job_id)).version for job_id in ids] == versions
            stop.set()
            await asyncio.wait_for(running, 5)
            assert len(held) == 0
            for job_id in ids:
                back = await stored(w, job_id)
                assert back.status is JobStatus.PROCESSING and back.lease_token is None
                assert back.next_poll_at == w.clock.now() + POLICY.poll_interval
            # Any worker polls them when this one would have.
            other = worker_process(w)
            assert await claim_and_run(other) == []
            w.clock.advance(POLICY.poll_interval.total_seconds())
            assert sorted(j.id for j in await claim_and_run(other)) == sorted(ids)

    asyncio.run(scenario())
