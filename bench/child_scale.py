"""Benchmark worker processes for scale and wake-up (run through `python -m bench.child KIND`).

- pixrelay_inflight: a real pixrelay worker that counts its provider polls; on `mark` it
  prints its CPU seconds, polls and clock, so the parent measures a window of steady state.
- raw_inflight: the floor for the same load: the sim's jobs polled from one asyncpg loop
  that takes and re-parks every due job of a cycle in ONE statement.
- pixrelay_timed_worker: a real pixrelay worker (the runtime's own work signal: Redis or
  Postgres LISTEN/NOTIFY) noting the wall-clock time each job's claim returned.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench.child import cpu, read_line, settings_for


async def serve_marks(counters: Callable[[], dict[str, Any]]) -> None:
    """Answer each `mark` with one JSON line of counters; return on `stop`."""
    while (line := await read_line()) != "stop":
        if line == "mark":
            print(json.dumps({"cpu": cpu(), "t": time.perf_counter(), **counters()}), flush=True)
        elif not line:
            return  # the parent went away


class CountingClient:
    """A provider client that counts `status` calls (one poll each)."""

    def __init__(self, inner: Any, counts: dict[str, int]) -> None:
        self._inner = inner
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def status(self, secret: str, provider_job_id: str) -> Any:
        self._counts["polls"] += 1
        return await self._inner.status(secret, provider_job_id)


class CountingRegistry:
    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.counts = {"polls": 0}

    def get(self, provider_id: str) -> Any:
        client = self._inner.get(provider_id)
        return None if client is None else CountingClient(client, self.counts)

    def all(self) -> Any:
        return self._inner.all()


async def pixrelay_inflight(args: dict[str, Any], go: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    from entrypoints.bootstrap import build_container
    from entrypoints.runtime import open_runtime
    from entrypoints.serve import make_worker

    settings = settings_for(args)
    async with open_runtime(settings, run_migrations=False) as runtime:
        registry = CountingRegistry(runtime.ports.providers)
        worker = make_worker(build_container(replace(runtime.ports, providers=registry), runtime.policies),
                             settings)
        await go()
        began = cpu()
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await serve_marks(lambda: {"polls": registry.counts["polls"], "jobs": worker.jobs_run})
        stop.set()
        await task
        return {"cpu": cpu() - began, "jobs": worker.jobs_run, "polls": registry.counts["polls"]}


FLOOR_TABLE = """CREATE TABLE IF NOT EXISTS inflight_floor (
  id text PRIMARY KEY, provider_job_id text NOT NULL, next_poll_at timestamptz NOT NULL, lease text)"""
FLOOR_CYCLE = """
WITH due AS (
  SELECT id FROM inflight_floor WHERE next_poll_at <= $1 ORDER BY next_poll_at LIMIT $2 FOR UPDATE SKIP LOCKED)
UPDATE inflight_floor f SET next_poll_at = $1 + $3::interval, lease = $4 FROM due WHERE f.id = due.id
RETURNING f.id, f.provider_job_id"""


async def raw_inflight(args: dict[str, Any], go: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    """`count` sim jobs of `latency_ms`, each polled every `poll_seconds`: per cycle (every
    0.1 s) one statement takes the due ones and parks them until their next poll."""
    from adapters.providers.sim import SimProvider
    from domain.jobs import OperationType
    from domain.providers import SubmitRequest

    count, latency_ms, poll = int(args["count"]), int(args["latency_ms"]), float(args["poll_seconds"])
    sim = SimProvider(clock=lambda: datetime.now(UTC))
    connection = await asyncpg.connect(args["dsn"])
    await connection.execute(FLOOR_TABLE)
    now = datetime.now(UTC)
    rows = []
    for n in range(count):
        submitted = await sim.submit("key", SubmitRequest(
            reference=f"floor-{n}", operation_type=OperationType.TEXT_TO_IMAGE,
            params={"prompt": "floor", "seed": n, "width": 64, "height": 64, "sim_latency_ms": latency_ms}))
        rows.append((uuid.uuid4().hex, submitted.unwrap(), now + timedelta(seconds=random.uniform(0, poll))))
    await connection.copy_records_to_table("inflight_floor", records=rows,
                                           columns=["id", "provider_job_id", "next_poll_at"])
    polls = 0

    async def cycles() -> None:
        nonlocal polls
        while True:
            due = await connection.fetch(FLOOR_CYCLE, datetime.now(UTC), count, timedelta(seconds=poll),
                                         uuid.uuid4().hex)
            for row in due:
                await sim.status("key", row["provider_job_id"])
                polls += 1
            await asyncio.sleep(0.1)

    await go()
    began = cpu()
    task = asyncio.create_task(cycles())
    await serve_marks(lambda: {"polls": polls})
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await connection.close()
    return {"cpu": cpu() - began, "polls": polls}


class TimedClaim:
    """ClaimJobs, noting when (wall clock) the claim that took each job began and returned."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.claimed: dict[str, tuple[float, float]] = {}

    async def __call__(self, limit: int | None = None) -> list[Any]:
        began = time.time()
        jobs = await self._inner(limit)
        now = time.time()
        for job in jobs:
            self.claimed.setdefault(job.id, (began, now))
        return list(jobs)


async def pixrelay_timed_worker(args: dict[str, Any], go: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    from application.pipeline.claim import ClaimJobs
    from entrypoints.bootstrap import build_container
    from entrypoints.runtime import open_runtime
    from entrypoints.serve import make_worker

    settings = settings_for(args)
    async with open_runtime(settings, run_migrations=False) as runtime:
        container = build_container(runtime.ports, runtime.policies)
        timed = TimedClaim(container.resolve(ClaimJobs))
        wrapped = container.child()
        wrapped.register(ClaimJobs, instance=timed)
        worker = make_worker(wrapped, settings)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await go()
        began = cpu()
        await read_line()  # stop
        stop.set()
        await task
        return {"cpu": cpu() - began, "jobs": worker.jobs_run, "claimed": timed.claimed,
                "signal": type(runtime.ports.signal).__name__}


KINDS = {"pixrelay_inflight": pixrelay_inflight, "raw_inflight": raw_inflight,
         "pixrelay_timed_worker": pixrelay_timed_worker}
