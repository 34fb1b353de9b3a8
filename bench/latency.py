"""3. Latency: a job committed (by the API's create use case) -> claimed by an idle worker in
ANOTHER process (`pixrelay worker`), woken through Redis pub/sub and, with Postgres alone,
through LISTEN/NOTIFY; beside a raw asyncpg floor: INSERT + NOTIFY committed -> a LISTENing
connection claims it with FOR UPDATE SKIP LOCKED. Both clocks are the machine's wall clock."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import replace
from typing import Any

import asyncpg

from bench.common import Results, Row, fresh_database, percentile, plain_dsn, redis_url, temp_dir, tuned
from bench.seed import BenchActor, Children, pixrelay, seed


class TimedSignal:
    """The work signal, noting when (wall clock) each notify, right after the job's commit,
    happened."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.notified: list[float] = []

    async def notify(self) -> None:
        self.notified.append(time.time())
        await self._inner.notify()

    async def wait(self, seconds: float) -> bool:
        return bool(await self._inner.wait(seconds))


async def _finished(connection: asyncpg.Connection, job_id: str) -> None:
    """Waits until the worker has run the job to its end: the next sample finds it idle."""
    for _ in range(2000):
        status = await connection.fetchval("SELECT status FROM jobs WHERE id = $1", job_id)
        if status in ("completed", "failed", "cancelled"):
            return
        await asyncio.sleep(0.005)
    raise RuntimeError(f"job {job_id} did not finish within 10 s")


async def pixrelay_latencies(db: str, samples: int, *, through_redis: bool
                             ) -> tuple[list[float], list[float], str]:
    """Commit -> claimed and commit -> the claim began (woken), for a separate worker
    process; and the signal class it used."""
    from application.jobs.create import CreateJob, JobRequest
    from entrypoints.bootstrap import build_container

    extra = {"PIXRELAY_REDIS_URL": redis_url()} if through_redis else {}
    with temp_dir() as tmp:
        async with pixrelay(db, tmp, **extra) as (container, runtime, _settings):
            seeded = await seed(container)
            signal = TimedSignal(runtime.ports.signal)
            create: CreateJob = build_container(replace(runtime.ports, signal=signal), runtime.policies).resolve(
                CreateJob)
            actor = BenchActor(seeded.user_id)
            observer = await asyncpg.connect(plain_dsn(db))
            children = Children()
            notified: dict[str, float] = {}
            try:
                args = {"database_url": db, "data_dir": str(tmp), "concurrency": 4,  # the seeded blobs too
                        **({"redis_url": redis_url()} if through_redis else {})}
                await children.start("pixrelay_timed_worker", args, 1)
                await children.say("go")
                for i in range(samples + 1):
                    await asyncio.sleep(0.03)  # the worker idle again
                    created = (await create(actor, JobRequest(
                        provider_id="sim", operation_type="text_to_image",
                        params={"prompt": "latency", "seed": i, "width": 64, "height": 64}))).unwrap()
                    if i:  # the first one makes sure the worker is listening
                        notified[created.job.id] = signal.notified[-1]
                    await _finished(observer, created.job.id)
                await children.say("stop")
                [found] = await children.results()
            finally:
                children.kill()
                await observer.close()
    claimed: dict[str, list[float]] = found["claimed"]
    return ([claimed[job_id][1] - at for job_id, at in notified.items()],
            [claimed[job_id][0] - at for job_id, at in notified.items()], str(found["signal"]))


async def floor_latencies(db: str, samples: int) -> list[float]:
    dsn = plain_dsn(db)
    producer, consumer = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    await producer.execute("CREATE TABLE floor_jobs (id text PRIMARY KEY, status text NOT NULL, lease text)")
    claimed: dict[str, float] = {}
    wake = asyncio.Event()
    consumer_ready = asyncio.Event()

    async def claimer() -> None:
        await consumer.add_listener("floor_ready", lambda *_: wake.set())
        consumer_ready.set()
        while True:
            await wake.wait()
            wake.clear()
            rows = await consumer.fetch(
                "WITH due AS (SELECT id FROM floor_jobs WHERE status = 'pending' LIMIT 4 FOR UPDATE SKIP LOCKED) "
                "UPDATE floor_jobs SET status = 'processing', lease = $1 FROM due WHERE floor_jobs.id = due.id "
                "RETURNING floor_jobs.id", uuid.uuid4().hex)
            now = time.perf_counter()
            for row in rows:
                claimed[row["id"]] = now

    task = asyncio.create_task(claimer())
    await consumer_ready.wait()
    latencies = []
    try:
        for _ in range(samples):
            await asyncio.sleep(0.03)
            job_id = uuid.uuid4().hex
            async with producer.transaction():
                await producer.execute("INSERT INTO floor_jobs (id, status) VALUES ($1, 'pending')", job_id)
                await producer.execute("NOTIFY floor_ready")
            committed = time.perf_counter()
            while job_id not in claimed:
                await asyncio.sleep(0.0005)
            latencies.append(claimed[job_id] - committed)
    finally:
        task.cancel()
        await producer.close()
        await consumer.close()
    return latencies


async def run(results: Results) -> None:
    samples = int(tuned("BENCH_LATENCY_SAMPLES", 6, 300))
    async with fresh_database() as db:
        floor = await floor_latencies(db, samples)
        measured = [(label, await pixrelay_latencies(db, samples, through_redis=redis))
                    for label, redis in (("Redis", True), ("Postgres NOTIFY", False))]
    for label, (mine, woken, signal) in measured:
        for p, goal in ((50, 5.0), (99, 25.0)):
            ours = percentile(mine, p) * 1000
            results.add(Row(f"3 commit -> claimed, worker process, {label}", f"p{p} ms", ours,
                            percentile(floor, p) * 1000, "asyncpg LISTEN/NOTIFY", f"<= {goal:g} ms", ours <= goal,
                            higher_is_better=False))
        results.add(Row(f"3 commit -> claimed, worker process, {label}", "p50 ms to the claim's start (woken)",
                        percentile(woken, 50) * 1000, percentile(floor, 50) * 1000, "asyncpg LISTEN/NOTIFY",
                        higher_is_better=False))
        results.notes.append(
            f"3 ({label}): the worker process woke through {signal}; {len(mine)} samples from the notify right "
            "after the commit to the worker's claim returning (and, 'woken', to the claim beginning: the rest is "
            "the claim transaction).")
