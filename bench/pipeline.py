"""2. The pipeline: N jobs through claim -> reserve -> submit (sim, zero latency) -> complete ->
asset (local disk) -> lineage, with 1 and 2 worker processes on Postgres, beside the same
statements as a raw asyncpg script (the floor) and pgqueuer draining no-op jobs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from bench.common import Results, Row, fresh_database, plain_dsn, sized, temp_dir, tuned
from bench.seed import Children, clone_jobs, open_jobs_counter, pixrelay, seed

CONCURRENCY = 16  # jobs in flight per worker process, on both sides


async def drain(kind: str, args: dict[str, Any], workers: int, jobs: int,
                remaining: Callable[[], Awaitable[int]]) -> tuple[float, float]:
    """(jobs/s, CPU ms per job) of `workers` processes of `kind` draining `jobs` jobs."""
    children = Children()
    try:
        await children.start(kind, args, workers)
        await children.say("go")
        began = time.perf_counter()
        deadline = began + sized(60, 600)
        while await remaining() > 0:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{kind}: jobs still open after {deadline - began:.0f} s")
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - began
        await children.say("stop")
        found = await children.results()
    finally:
        children.kill()
    done = sum(r["jobs"] for r in found)
    if kind != "pgqueuer_worker" and done < jobs:
        raise RuntimeError(f"{kind}: {done} of {jobs} jobs run")
    return jobs / elapsed, 1000 * sum(r["cpu"] for r in found) / jobs


async def run(results: Results) -> None:
    jobs = int(tuned("BENCH_PIPELINE_JOBS", 40, 2000))
    with temp_dir() as tmp:
        measured: dict[tuple[str, int], tuple[float, float]] = {}
        async with fresh_database() as db:
            async with pixrelay(db, tmp) as (container, _runtime, _settings):
                seeded = await seed(container)
            args = {"database_url": db, "dsn": plain_dsn(db), "data_dir": str(tmp), "concurrency": CONCURRENCY}

            async with open_jobs_counter(db) as left:
                for workers in (1, 2):
                    for kind in ("pixrelay_worker", "raw_worker"):
                        await clone_jobs(db, seeded, jobs)
                        measured[(kind, workers)] = await drain(kind, args, workers, jobs, left)
        async with fresh_database(migrated=False) as queue_db:
            from pgqueuer.queries import Queries

            connection = await asyncpg.connect(plain_dsn(queue_db))
            try:
                queries = Queries.from_asyncpg_connection(connection)
                await queries.install()

                async def queued() -> int:
                    return int(await connection.fetchval("SELECT count(*) FROM pgqueuer"))
                for workers in (1, 2):
                    await queries.enqueue(["noop"] * jobs, [None] * jobs, [0] * jobs)
                    measured[("pgqueuer_worker", workers)] = await drain(
                        "pgqueuer_worker", {"dsn": plain_dsn(queue_db), "batch": CONCURRENCY}, workers, jobs, queued)
            finally:
                await connection.close()
    for workers in (1, 2):
        mine_rate, mine_cpu = measured[("pixrelay_worker", workers)]
        floor_rate, floor_cpu = measured[("raw_worker", workers)]
        queue_rate, queue_cpu = measured[("pgqueuer_worker", workers)]
        name = f"2 pipeline, {workers} worker{'s' if workers > 1 else ''}"
        results.add(
            Row(name, "jobs/s", mine_rate, floor_rate, "raw asyncpg floor", ">= 500/s and >= 50% of floor",
                mine_rate >= 500 and mine_rate >= 0.5 * floor_rate),
            Row(name, "jobs/s vs pgqueuer", mine_rate, queue_rate, "pgqueuer no-op", ""),
            Row(name, "CPU ms/job", mine_cpu, floor_cpu, "raw asyncpg floor", "<= 1 ms", mine_cpu <= 1.0,
                higher_is_better=False),
            Row(name, "CPU ms/job vs pgqueuer", mine_cpu, queue_cpu, "pgqueuer no-op", "", higher_is_better=False),
        )
