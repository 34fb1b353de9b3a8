"""6. Scale: (a) two worker processes against one on a load spread over 64 users, beside the
raw asyncpg floor's own two-against-one (on one machine the database shares the cores, so
the floor's ratio is what this machine allows); (b) one worker holding 1,000 jobs in flight
at the provider (sim latency 60 s, polled every 2 s): the worker process's CPU, beside the
floor that polls the same sim jobs from one loop with one statement per cycle.

Sizes for short runs: BENCH_INFLIGHT_JOBS, BENCH_INFLIGHT_LATENCY_S, BENCH_INFLIGHT_WINDOW_S,
BENCH_SCALE_JOBS."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import asyncpg

from bench.common import Results, Row, fresh_database, plain_dsn, sized, temp_dir, tuned
from bench.pgcpu import BackendCpu, LockWaits
from bench.pipeline import CONCURRENCY
from bench.seed import Children, clone_jobs_for_users, open_jobs_counter, pixrelay, seed, text_job
from bench.users import make_users, unlimited_daily_jobs

USERS = 64
POLL_SECONDS = 2.0


async def two_against_one(results: Results) -> None:
    jobs = int(tuned("BENCH_SCALE_JOBS", 8, 600))
    users = int(sized(4, USERS))
    measured: dict[tuple[str, int], tuple[float, float]] = {}
    with temp_dir() as tmp:
        async with fresh_database() as db:
            async with pixrelay(db, tmp) as (container, _runtime, _settings):
                seeded = await seed(container)
            owners = [user.user_id for user in await make_users(db, tmp / "users", users, prefix="w")]
            args = {"database_url": db, "dsn": plain_dsn(db), "data_dir": str(tmp), "concurrency": CONCURRENCY}

            for workers in (1, 2):
                for kind in ("pixrelay_worker", "raw_worker"):
                    async with pixrelay(db, tmp) as (container, _runtime, _settings):
                        template = await text_job(container, seeded.user_id)
                    await clone_jobs_for_users(db, template, owners, jobs)
                    measured[(kind, workers)] = await drain_measured(kind, args, workers, jobs, db)
    name = f"6a scale, {users} users"
    mine_one, mine_two = measured[("pixrelay_worker", 1)], measured[("pixrelay_worker", 2)]
    floor_one, floor_two = measured[("raw_worker", 1)], measured[("raw_worker", 2)]
    mine_ratio, floor_ratio = mine_two.rate / mine_one.rate, floor_two.rate / floor_one.rate
    results.add(
        Row(name, "jobs/s, 1 worker", mine_one.rate, floor_one.rate, "raw asyncpg floor"),
        Row(name, "jobs/s, 2 workers", mine_two.rate, floor_two.rate, "raw asyncpg floor"),
        Row(name, "2 workers / 1 worker", mine_ratio, floor_ratio, "the floor's 2 / 1", ">= 1.7", mine_ratio >= 1.7),
        Row(name, "worker CPU ms/job, 1 worker", mine_one.worker_cpu, floor_one.worker_cpu, "raw asyncpg floor",
            higher_is_better=False),
        Row(name, "Postgres CPU ms/job, 1 worker", mine_one.postgres_cpu, floor_one.postgres_cpu,
            "raw asyncpg floor", higher_is_better=False),
        Row(name, "Postgres CPU ms/job, 2 workers", mine_two.postgres_cpu, floor_two.postgres_cpu,
            "raw asyncpg floor", higher_is_better=False),
        Row(name, "backends waiting for a row lock, 1 worker", mine_one.lock_waits, floor_one.lock_waits,
            "raw asyncpg floor", higher_is_better=False),
        Row(name, "backends waiting for a row lock, 2 workers", mine_two.lock_waits, floor_two.lock_waits,
            "raw asyncpg floor", higher_is_better=False),
    )
    results.notes.append(f"6a: with 2 workers, pixrelay's backends waited most often in: {mine_two.most_waited!r}")
    results.notes.append(f"6a: {jobs} zero-latency sim jobs per run over {users} users (4 concurrent jobs "
                         f"each), {CONCURRENCY} in flight per worker process.")


@dataclass(frozen=True)
class Drained:
    rate: float  # jobs/s
    worker_cpu: float  # ms per job, all worker processes
    postgres_cpu: float  # ms per job, this database's Postgres backends
    lock_waits: float  # backends waiting for a row lock, on average
    most_waited: str  # the statement they waited in most often


async def drain_measured(kind: str, args: dict[str, Any], workers: int, jobs: int, db: str) -> Drained:
    """`workers` processes of `kind` draining `jobs` jobs: their rate, their CPU and the CPU of
    the Postgres backends serving them (read before the workers disconnect)."""
    children = Children()
    try:
        await children.start(kind, args, workers)
        async with open_jobs_counter(db) as left:
            backends = BackendCpu(db, exclude=(left.backend_pid,))
            waits, drained = LockWaits(db, exclude=(left.backend_pid,)), asyncio.Event()
            before = await backends.snapshot()
            await children.say("go")
            began = time.perf_counter()
            sampling = asyncio.create_task(waits.sample_until(drained))
            deadline = began + sized(60, 900)
            try:
                while await left() > 0:
                    if time.perf_counter() > deadline:
                        raise RuntimeError(f"{kind}: jobs still open after {deadline - began:.0f} s")
                    await asyncio.sleep(0.01)
            finally:
                drained.set()
                await sampling
            elapsed = time.perf_counter() - began
            after = await backends.snapshot()
        await children.say("stop")
        found = await children.results()
    finally:
        children.kill()
    done = sum(r["jobs"] for r in found)
    if done < jobs:
        raise RuntimeError(f"{kind}: {done} of {jobs} jobs run")
    return Drained(jobs / elapsed, 1000 * sum(r["cpu"] for r in found) / jobs,
                   1000 * BackendCpu.since(before, after) / jobs, waits.average, waits.top())


async def in_flight(results: Results) -> None:
    count = int(tuned("BENCH_INFLIGHT_JOBS", 20, 1000))
    latency = tuned("BENCH_INFLIGHT_LATENCY_S", 3, 60)
    window = tuned("BENCH_INFLIGHT_WINDOW_S", 0.5, 20)
    with temp_dir() as tmp:
        async with fresh_database() as db:
            async with pixrelay(db, tmp) as (container, _runtime, _settings):
                seeded = await seed(container)
                template = await text_job(container, seeded.user_id, sim_latency_ms=int(latency * 1000))
            await unlimited_daily_jobs(db, [seeded.user_id], concurrency=True)
            await clone_jobs_for_users(db, template, [seeded.user_id], count)
            args = {"database_url": db, "dsn": plain_dsn(db), "data_dir": str(tmp), "concurrency": CONCURRENCY,
                    "poll_seconds": POLL_SECONDS}
            mine = await _window("pixrelay_inflight", args, count, window, db, ramp_until=latency * 0.6)
            floor = await _window("raw_inflight", {**args, "count": count, "latency_ms": int(latency * 1000)},
                                  count, window, db, ramp_until=0)
    name = f"6b {count:,} in flight (sim {latency:g} s, poll {POLL_SECONDS:g} s)"
    needed = count / POLL_SECONDS
    at_1000 = 1000 / POLL_SECONDS  # polls/s that 1,000 jobs in flight need
    results.add(
        Row(name, "worker CPU % of a core", mine.cpu_percent, floor.cpu_percent, "one-statement poll loop + sim",
            "<= 50%", mine.cpu_percent <= 50 and mine.reached >= count, higher_is_better=False),
        Row(name, "polls/s", mine.polls, floor.polls, "one-statement poll loop + sim",
            f">= {needed * 0.9:,.0f} (every job every {POLL_SECONDS:g} s)", mine.polls >= 0.9 * needed),
        Row(name, "worker CPU ms/poll", mine.cpu_per_poll, floor.cpu_per_poll, "one-statement poll loop + sim",
            higher_is_better=False),
        Row(name, "Postgres CPU ms/poll", mine.postgres_per_poll, floor.postgres_per_poll,
            "one-statement poll loop + sim", higher_is_better=False),
        Row(name, "worker CPU % of a core for 1,000 (from ms/poll)", mine.cpu_per_poll * at_1000 / 10,
            floor.cpu_per_poll * at_1000 / 10, "one-statement poll loop + sim", "<= 50%",
            mine.cpu_per_poll * at_1000 / 10 <= 50, higher_is_better=False),
    )
    results.notes.append(
        f"6b: {mine.reached:,} of {count:,} jobs were at the provider when the {window:g} s window began "
        f"({mine.ramp:.0f} s after start; submissions still running in the window count in its CPU); CPU is the "
        "worker process's (user + system) over the window, the sim's status calls included on both sides; "
        "'for 1,000' is CPU per poll x 500 polls/s.")


@dataclass(frozen=True)
class Window:
    cpu_percent: float
    polls: float  # per second
    cpu_per_poll: float  # ms
    postgres_per_poll: float  # ms
    reached: int
    ramp: float


async def _window(kind: str, args: dict[str, Any], count: int, window: float, db: str,
                  ramp_until: float) -> Window:
    """Start one `kind` process; for up to `ramp_until` seconds wait for every job to be at
    the provider, then measure CPU (the process's and its Postgres backends') and polls
    over `window` seconds."""
    children = Children()
    try:
        await children.start(kind, args, 1)
        await children.say("go")
        began = time.perf_counter()
        reached = count
        if ramp_until:
            reached = await _until_submitted(db, count, deadline=began + ramp_until)
        ramp = time.perf_counter() - began
        backends = BackendCpu(db)
        before = await backends.snapshot()
        [first] = await children.ask("mark")
        await asyncio.sleep(window)
        [last] = await children.ask("mark")
        after = await backends.snapshot()
        await children.say("stop")
        await children.results()
    finally:
        children.kill()
    seconds = last["t"] - first["t"]
    cpu, polls = last["cpu"] - first["cpu"], max(1, last["polls"] - first["polls"])
    return Window(cpu_percent=100 * cpu / seconds, polls=(last["polls"] - first["polls"]) / seconds,
                  cpu_per_poll=1000 * cpu / polls, postgres_per_poll=1000 * BackendCpu.since(before, after) / polls,
                  reached=reached, ramp=ramp)


async def _until_submitted(db: str, count: int, deadline: float) -> int:
    connection = await asyncpg.connect(plain_dsn(db))
    try:
        while True:
            submitted = int(await connection.fetchval(
                "SELECT count(*) FROM jobs WHERE status = 'processing' AND provider_job_id IS NOT NULL"))
            if submitted >= count or time.perf_counter() > deadline:
                return submitted
            await asyncio.sleep(0.2)
    finally:
        await connection.close()


async def run(results: Results) -> None:
    await two_against_one(results)
    await in_flight(results)
