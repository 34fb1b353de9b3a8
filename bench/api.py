"""1. The API: POST /v1/jobs and GET /v1/jobs/{id} against bare Litestar endpoints doing one
statement on the same database, with the same client and concurrency. POST in two shapes:
one hot user sending everything (their rows serialise) and 64 users at once, one each."""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg

from bench.common import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Load,
    Process,
    Request,
    Results,
    Row,
    fresh_database,
    load,
    pixrelay_env,
    plain_dsn,
    redis_url,
    running,
    sized,
    temp_dir,
    tuned,
)
from bench.pgcpu import BackendCpu
from bench.users import headers_for, make_users

CONCURRENCY = 32
MANY_USERS = 64  # the many-users shape: 64 clients, each its own user (8 at smoke size)


def many_users() -> int:
    return int(sized(8, MANY_USERS))


def body(i: int) -> dict[str, object]:
    return {"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "bench", "seed": i}}


async def token(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.post(
            f"{url}/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}) as response:
        if response.status != 200:
            raise RuntimeError(f"login failed: {response.status} {(await response.text())[:300]}")
        return str((await response.json())["access_token"])


def poster(url: str, headers: dict[str, str], expect: int = 202) -> Request:
    async def post(session: aiohttp.ClientSession, i: int) -> bool:
        async with session.post(url, json=body(i), headers=headers) as response:
            await response.read()
            return response.status == expect
    return post


def many_posters(url: str, headers: list[dict[str, str]], expect: int = 202) -> Request:
    """Client k posts as user k (`i % len(headers)`)."""
    async def post(session: aiohttp.ClientSession, i: int) -> bool:
        async with session.post(url, json=body(i), headers=headers[i % len(headers)]) as response:
            await response.read()
            return response.status == expect
    return post


def getter(url: str, ids: list[str], headers: dict[str, str]) -> Request:
    async def fetch(session: aiohttp.ClientSession, i: int) -> bool:
        async with session.get(f"{url}/{ids[i % len(ids)]}", headers=headers) as response:
            await response.read()
            return response.status == 200
    return fetch


def run_load(request: Request, concurrency: int = CONCURRENCY) -> object:
    return load(request, concurrency=concurrency, seconds=tuned("BENCH_API_SECONDS", 1.0, 8.0),
                max_requests=sized(100, 10**7),
                warmup_seconds=sized(0.2, 1.0))


async def ids_of(database_url: str, table: str) -> list[str]:
    connection = await asyncpg.connect(plain_dsn(database_url))
    try:
        rows = await connection.fetch(f"SELECT id FROM {table} LIMIT 2000")
    finally:
        await connection.close()
    ids = [row["id"] for row in rows]
    random.Random(7).shuffle(ids)
    return ids


@dataclass(frozen=True)
class Costs:
    postgres: float  # CPU ms per request, the database's backends
    server: float  # CPU ms per request, the server process


async def with_cpu(database_url: str, server: Process, running_load: Any) -> tuple[Load, Costs]:
    """The load, and the CPU its server process and its database's Postgres backends spent
    per request (the warm-up's requests counted too: they are inside the measurement)."""
    backends = BackendCpu(database_url)
    before, server_before = await backends.snapshot(), server.cpu_seconds()
    found: Load = await running_load
    spent = BackendCpu.since(before, await backends.snapshot())
    served = server.cpu_seconds() - server_before
    return found, Costs(1000 * spent / max(1, found.sent), 1000 * served / max(1, found.sent))


def cpu_rows(name: str, mine: Costs, bare: Costs) -> list[Row]:
    return [Row(name, "server CPU ms/request", mine.server, bare.server, "bare Litestar", higher_is_better=False),
            Row(name, "Postgres CPU ms/request", mine.postgres, bare.postgres, "bare Litestar",
                higher_is_better=False)]


def throughput_rows(name: str, metric_goal: float, mine: Load, bare: Load, p99_goal: bool) -> list[Row]:
    ratio = mine.throughput / bare.throughput if bare.throughput else 0.0
    rows = [Row(name, "req/s", mine.throughput, bare.throughput, "bare Litestar",
                f">= {metric_goal:.0%} of bare", ratio >= metric_goal),
            Row(name, "p50 ms", mine.p50_ms, bare.p50_ms, "bare Litestar", "", None, higher_is_better=False)]
    rows.append(Row(name, "p99 ms", mine.p99_ms, bare.p99_ms, "bare Litestar",
                    "<= 2x bare" if p99_goal else "", (mine.p99_ms <= 2 * bare.p99_ms) if p99_goal else None,
                    higher_is_better=False))
    return rows


async def run(results: Results) -> None:
    with temp_dir() as tmp:
        async with fresh_database(migrated=False) as bare_db, fresh_database() as db:
            async with running(["-m", "bench.bare_server"],
                               {"BENCH_BARE_PG": plain_dsn(bare_db)}, tmp) as bare:
                bare_post, bare_post_pg = await with_cpu(bare_db, bare, run_load(poster(f"{bare.url}/jobs", {})))
                bare_ids = await ids_of(bare_db, "bare_jobs")
                bare_get, bare_get_pg = await with_cpu(
                    bare_db, bare, run_load(getter(f"{bare.url}/jobs", bare_ids, {})))
                bare_many, bare_many_pg = await with_cpu(
                    bare_db, bare, run_load(poster(f"{bare.url}/jobs", {}), many_users()))
            env = pixrelay_env(db, tmp / "pg", PIXRELAY_REDIS_URL=redis_url())
            async with running(["-m", "entrypoints.cli", "api"], env, tmp, "/health/ready") as server:
                auth = {"Authorization": f"Bearer {await token(server.url)}"}
                mine_post, mine_post_pg = await with_cpu(db, server, run_load(poster(f"{server.url}/v1/jobs", auth)))
                job_ids = await ids_of(db, "jobs")
                mine_get, mine_get_pg = await with_cpu(
                    db, server, run_load(getter(f"{server.url}/v1/jobs", job_ids, auth)))
                users = headers_for(await make_users(db, tmp / "users", many_users()))
                mine_many, mine_many_pg = await with_cpu(
                    db, server, run_load(many_posters(f"{server.url}/v1/jobs", users), many_users()))
        # Goals from issue 10: one hot user >= 0.20 of bare, 64 users >= 0.35 (stretch 0.5).
        results.add(*throughput_rows("1a submit, one user (Postgres)", 0.2, mine_post, bare_post, True),
                    *cpu_rows("1a submit, one user (Postgres)", mine_post_pg, bare_post_pg))
        results.add(*throughput_rows(f"1d submit, {many_users()} users (Postgres)", 0.35, mine_many, bare_many, True),
                    *cpu_rows(f"1d submit, {many_users()} users (Postgres)", mine_many_pg, bare_many_pg))
        results.add(*throughput_rows("1b get job (Postgres)", 0.6, mine_get, bare_get, True),
                    *cpu_rows("1b get job (Postgres)", mine_get_pg, bare_get_pg))
        for label, found in (("pixrelay POST", mine_post), ("pixrelay GET", mine_get),
                             (f"pixrelay POST {many_users()} users", mine_many)):
            if found.errors:
                results.notes.append(f"1: {label} had {found.errors} non-2xx answers")

        sqlite_file = tmp / "bare.db"
        async with running(["-m", "bench.bare_server"],
                           {"BENCH_BARE_SQLITE": str(sqlite_file)}, tmp) as bare:
            bare_lite: Load = await run_load(poster(f"{bare.url}/jobs", {}))  # type: ignore[assignment]
        async with running(["-m", "entrypoints.cli", "api"], pixrelay_env(None, tmp / "embedded"), tmp,
                           "/health/ready") as server:
            auth = {"Authorization": f"Bearer {await token(server.url)}"}
            mine_lite: Load = await run_load(poster(f"{server.url}/v1/jobs", auth))  # type: ignore[assignment]
        results.add(*throughput_rows("1c submit (SQLite)", 0.35, mine_lite, bare_lite, False))


if __name__ == "__main__":
    import asyncio

    found = Results()
    asyncio.run(run(found))
    for row in found.rows:
        print(row, file=sys.stderr)
