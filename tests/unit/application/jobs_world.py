"""One in-memory pixrelay for the job use cases (models, routing): run a scenario on a fresh
wiring, and drain the worker until a job has settled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from application.pipeline.run import DrainOnce
from domain.jobs import Job
from tests.support.wiring import Wiring, memory_wiring


def run(test: Callable[[Wiring], Awaitable[None]]) -> None:
    asyncio.run(test(memory_wiring()))


async def drained(w: Wiring, job_id: str) -> Job:
    """The job after 20 worker rounds, 10 s apart."""
    for _ in range(20):
        await w.get(DrainOnce)()
        w.clock.advance(10)
    async with w.ports.uow() as uow:
        job = await uow.jobs.get(job_id)
    assert job is not None
    return job
