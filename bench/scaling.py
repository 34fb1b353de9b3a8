"""6. Scale: (a) two worker processes against one on a load spread over 64 users, beside the
raw asyncpg floor's own two-against-one (on one machine the database shares the cores, so
the floor's ratio is what this machine allows); (b) one worker holding 1,000 jobs in flight
at the provider (sim latency 60 s, polled every 2 s): the worker process's CPU, beside the
floor that polls the same sim jobs from one loop with one statement per cycle.

Sizes for short runs: BENCH_INFLIGHT_JOBS, BENCH_INFLIGHT_LATENCY_S, BENCH_INFLIGHT_WINDOW_S,
BENCH_SCALE_JOBS."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import asyncpg

from bench.common import Results, Row, fresh_database, plain_dsn, sized, temp_dir
from bench.pipeline import CONCURRENCY, drain
from bench.seed import Children, clone_jobs_for_users, open_jobs, pixrelay, seed, text_job
from bench.users import make_users, unlimited_daily_jobs

USERS = 64
POLL_SECONDS = 2.0


def env_number(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


async def two_against_one(results: Results) -> None:
    jobs = int(env_number("BENCH_SCALE_JOBS", sized(12, 600)))
    users = int(sized(4, USERS))
    measured: dict[tuple[str, int], tuple[float, float]] = {}
    with temp_dir() as tmp:
        async with fresh_database() as db:
            async with pixrelay(db, tmp) as (container, _runtime, _settings):
                seeded = await seed(container)
            owners = [user.user_id for user in await make_users(db, tmp / "users", users, prefix="w")]
            args = {"database_url": db, "dsn": plain_dsn(db), "data_dir": str(tmp), "concurrency": CONCURRENCY}

            async def left() -> int:
                return await open_jobs(db)
            for workers in (1, 2):
                for kind in ("pixrelay_worker", "raw_worker"):
                    async with pixrelay(db, tmp) as (container, _runtime, _settings):
                        template = await text_job(container, seeded.user_id)
                    await clone_jobs_for_users(db, template, owners, jobs)
                    measured[(kind, workers)] = await drain(kind, args, workers, jobs, left)
    name = f"6a scale, {users} users"
    mine_one, mine_two = measured[("pixrelay_worker", 1)][0], measured[("pixrelay_worker", 2)][0]
    floor_one, floor_two = measured[("raw_worker", 1)][0], measured[("raw_worker", 2)][0]
    results.add(
        Row(name, "jobs/s, 1 worker", mine_one, floor_one, "raw asyncpg floor"),
        Row(name, "jobs/s, 2 workers", mine_two, floor_two, "raw asyncpg floor"),
        Row(name, "2 workers / 1 worker", mine_two / mine_one, floor_two / floor_one, "the floor's 2 / 1",
            ">= 1.7", mine_two / mine_one >= 1.7),
        Row(name, "CPU ms/job, 2 workers", measured[("pixrelay_worker", 2)][1], measured[("raw_worker", 2)][1],
            "raw asyncpg floor", higher_is_better=False),
    )
    results.notes.append(f"6a: {jobs} zero-latency sim jobs per run over {users} users (4 concurrent jobs "
                         f"each), {CONCURRENCY} in flight per worker process.")


async def in_flight(results: Results) -> None:
    count = int(env_number("BENCH_INFLIGHT_JOBS", sized(20, 1000)))
    latency = env_number("BENCH_INFLIGHT_LATENCY_S", sized(4, 60))
    window = env_number("BENCH_INFLIGHT_WINDOW_S", sized(1, 20))
    with temp_dir() as tmp:
        async with fresh_database() as db:
            async with pixrelay(db, tmp) as (container, _runtime, _settings):
                seeded = await seed(container)
                template = await text_job(container, seeded.user_id, sim_latency_ms=int(latency * 1000))
            await unlimited_daily_jobs(db, [seeded.user_id], concurrency=True)
            await clone_jobs_for_users(db, template, [seeded.user_id], count)
            args = {"database_url": db, "dsn": plain_dsn(db), "data_dir": str(tmp), "concurrency": CONCURRENCY,
                    "poll_seconds": POLL_SECONDS}
            mine, reached, ramp = await _window("pixrelay_inflight", args, count, window, db, latency)
            floor, _, _ = await _window("raw_inflight", {**args, "count": count, "latency_ms": int(latency * 1000)},
                                        count, window, None, latency)
    name = f"6b {count:,} in flight (sim {latency:g} s, poll {POLL_SECONDS:g} s)"
    needed = count / POLL_SECONDS
    results.add(
        Row(name, "worker CPU % of a core", mine["cpu"], floor["cpu"], "one-statement poll loop + sim",
            "<= 50%", mine["cpu"] <= 50 and reached >= count, higher_is_better=False),
        Row(name, "polls/s", mine["polls"], floor["polls"], "one-statement poll loop + sim",
            f">= {needed * 0.9:,.0f} (every job every {POLL_SECONDS:g} s)", mine["polls"] >= 0.9 * needed),
    )
    results.notes.append(
        f"6b: {reached:,} of {count:,} jobs were at the provider when the {window:g} s window began "
        f"({ramp:.0f} s after start); CPU is the worker process's (user + system) over the window, "
        "the sim's status calls included on both sides.")


async def _window(kind: str, args: dict[str, Any], count: int, window: float, db: str | None,
                  latency: float) -> tuple[dict[str, float], int, float]:
    """Start one `kind` process, wait until every job is at the provider (pixrelay: or the
    first could finish), then measure CPU and polls over `window` seconds."""
    children = Children()
    try:
        await children.start(kind, args, 1)
        await children.say("go")
        began = time.perf_counter()
        reached = count
        if db is not None:
            reached = await _until_submitted(db, count, deadline=began + latency * 0.6)
        ramp = time.perf_counter() - began
        [first] = await children.ask("mark")
        await asyncio.sleep(window)
        [last] = await children.ask("mark")
        await children.say("stop")
        await children.results()
    finally:
        children.kill()
    seconds = last["t"] - first["t"]
    return {"cpu": 100 * (last["cpu"] - first["cpu"]) / seconds,
            "polls": (last["polls"] - first["polls"]) / seconds}, reached, ramp


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
