"""Priority under contention, through the whole pipeline, on memory, SQLite and Postgres:
when accounts are the bottleneck, the best waiting job is the next one to run."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

import pytest

from adapters.memory.system import ManualClock
from adapters.providers.sim import SimProvider
from adapters.sql.engine import create_engine
from adapters.sql.uow import SqlUnitOfWorkFactory
from application.jobs.create import CreateJob, JobRequest
from application.pipeline.run import DrainOnce
from domain.jobs import Job, JobStatus
from domain.quotas import QuotaPolicy
from entrypoints.bootstrap import build_container
from tests.support.seed import add_account, add_user
from tests.support.wiring import Wiring, memory_ports

STORES = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
URLS = {"sqlite": "sqlite_url", "postgres": "pg_clean_url"}


def on(store: str, request: pytest.FixtureRequest, test: Callable[[Wiring], Awaitable[None]]) -> None:
    url = request.getfixturevalue(URLS[store]) if store in URLS else None

    async def main() -> None:
        clock = ManualClock()
        sim = SimProvider(clock=clock.now)
        ports = memory_ports(clock, sim)
        engine = create_engine(url) if url else None
        if engine is not None:
            ports = dataclasses.replace(ports, uow=SqlUnitOfWorkFactory(engine))
        try:
            await test(Wiring(build_container(ports), ports, clock, sim))
        finally:
            if engine is not None:
                await engine.dispose()

    asyncio.run(main())


async def drain(w: Wiring) -> None:
    while await w.get(DrainOnce)():
        pass


@pytest.mark.parametrize("store", STORES)
def test_a_priority_0_job_runs_next_behind_six_priority_10_jobs(store: str, request: pytest.FixtureRequest) -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w, quota=QuotaPolicy(max_concurrent_jobs=None))
        await add_account(w, max_concurrent_jobs=1)

        async def create(priority: int, name: str) -> Job:
            created = await w.get(CreateJob)(alice, JobRequest(
                provider_id="sim", operation_type="text_to_image", priority=priority,
                params={"prompt": name, "sim_latency_ms": 1500}))
            return created.unwrap().job

        low = [await create(10, f"low {i}") for i in range(6)]
        await drain(w)
        w.clock.advance(0.3)
        urgent = await create(0, "urgent")
        for _ in range(400):  # workers looking for due jobs five times a second until all is done
            await drain(w)
            w.clock.advance(0.2)
        async with w.ports.uow() as uow:
            done = [await uow.jobs.get(j.id) for j in [*low, urgent]]
            first_submits = {}
            for job in done:
                assert job is not None and job.status is JobStatus.COMPLETED
                first_submits[job.id] = min(s.submitted_at for s in await uow.submissions.for_job(job.id))
        order = sorted(first_submits, key=lambda job_id: (first_submits[job_id], job_id))
        assert order[:2] == [low[0].id, urgent.id], "the priority-0 job must run right after the running one"
        assert w.sim.submit_count == 7

    on(store, request, scenario)
