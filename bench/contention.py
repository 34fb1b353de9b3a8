"""4. Contention: 100 accounts, 2 worker processes, 10,000 reservations through the SQL
account repository, beside the same conditional UPDATE as raw asyncpg. No account may end
above its maximum, below zero credits, or with more reserved than reservations won."""

from __future__ import annotations

from typing import Any

import asyncpg

from bench.common import Results, Row, fresh_database, plain_dsn, sized, temp_dir
from bench.seed import Children, pixrelay, seed

ACCOUNTS, WORKERS, CONCURRENCY = 100, 2, 8


async def reset(dsn: str, max_jobs: int, credits: int) -> list[str]:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("UPDATE provider_accounts SET current_jobs = 0, credits = $2, max_concurrent_jobs = $1",
                                 max_jobs, credits)
        return [r["id"] for r in await connection.fetch("SELECT id FROM provider_accounts ORDER BY id")]
    finally:
        await connection.close()


async def over_reserved(dsn: str, won: int) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        bad = await connection.fetchval(
            "SELECT count(*) FROM provider_accounts WHERE current_jobs > max_concurrent_jobs OR credits < 0")
        total = await connection.fetchval("SELECT sum(current_jobs) FROM provider_accounts")
    finally:
        await connection.close()
    return int(bad) + abs(int(total) - won)


async def contend(kind: str, args: dict[str, Any]) -> tuple[float, int, int]:
    children = Children()
    try:
        await children.start(kind, args, WORKERS)
        await children.say("go")
        found = await children.results()
    finally:
        children.kill()
    won = sum(r["won"] for r in found)
    rate = sum(r["tried"] for r in found) / max(r["seconds"] for r in found)
    return rate, won, await over_reserved(args["dsn"], won)


async def run(results: Results) -> None:
    reservations = sized(400, 10_000)
    per_worker = reservations // WORKERS
    # capacity for about 60% of the attempts, in slots and in credits: both limits are hit
    max_jobs = max(1, int(reservations * 0.6 / ACCOUNTS))
    with temp_dir() as tmp:
        async with fresh_database() as db:
            async with pixrelay(db, tmp) as (container, _runtime, _settings):
                await seed(container, accounts=ACCOUNTS)
            dsn = plain_dsn(db)
            measured = {}
            for kind in ("pixrelay_reserve", "raw_reserve"):
                accounts = await reset(dsn, max_jobs, max_jobs + 2)
                args = {"database_url": db, "dsn": dsn, "accounts": accounts, "count": per_worker,
                        "concurrency": CONCURRENCY}
                measured[kind] = await contend(kind, args)
    mine, floor = measured["pixrelay_reserve"], measured["raw_reserve"]
    results.add(
        Row("4 contention (100 accts, 2 procs)", "reservations/s", mine[0], floor[0], "raw asyncpg UPDATE", ""),
        Row("4 contention (100 accts, 2 procs)", "over-reservations", mine[2], floor[2], "raw asyncpg UPDATE",
            "0", mine[2] == 0, higher_is_better=False),
    )
    results.notes.append(f"4: {reservations} attempts; won {mine[1]} (pixrelay) / {floor[1]} (raw) of "
                         f"{ACCOUNTS * max_jobs} slots.")
