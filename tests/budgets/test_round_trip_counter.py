"""The round-trip counter itself counts what it says, on the real services."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosqlite
import asyncpg
import pytest
import redis.asyncio

from tests.services_db import plain_dsn
from tests.support.round_trips import count_round_trips


@pytest.mark.postgres
def test_postgres_counts_each_wait_for_the_server(pg_url: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(plain_dsn(pg_url))
        try:
            await conn.fetchval("SELECT $1::int", 1)  # prepared and cached by asyncpg
            with count_round_trips() as trips:
                async with conn.transaction():  # BEGIN, COMMIT
                    await conn.fetchval("SELECT $1::int", 2)  # bind + execute
                    await conn.fetchval("SELECT $1::text", "x")  # prepare, then bind + execute
            assert trips.postgres == 5, trips.report()
            assert [call.split()[0] for call in trips.postgres_calls] == [
                "query", "bind_execute", "prepare", "bind_execute", "query"]
            with count_round_trips() as after:
                pass
            await conn.fetchval("SELECT 1")
            assert after.postgres == 0  # nothing counted once the block is left
        finally:
            await conn.close()

    asyncio.run(run())


def test_sqlite_counts_thread_hand_offs(tmp_path: Path) -> None:
    async def run() -> None:
        async with aiosqlite.connect(tmp_path / "x.db") as conn:
            with count_round_trips() as trips:
                cursor = await conn.execute("SELECT 1")  # execute
                await cursor.fetchall()  # fetch
                await cursor.close()  # close
            assert trips.sqlite == 3, trips.report()

    asyncio.run(run())


@pytest.mark.redis
def test_redis_counts_commands_and_round_trips(redis_url: str) -> None:
    async def run() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            await client.ping()
            with count_round_trips() as trips:
                await client.get("pixrelay-test:round-trips:missing")
                async with client.pipeline(transaction=False) as pipe:
                    pipe.get("pixrelay-test:round-trips:a")
                    pipe.get("pixrelay-test:round-trips:b")
                    await pipe.execute()
            assert (trips.redis_commands, trips.redis_round_trips) == (3, 2), trips.report()
        finally:
            await client.aclose()

    asyncio.run(run())
