"""Many users for the benchmarks whose shape is many users (64 submitting at once, a worker
load spread over 64 users): registered and logged in through the use cases, without the
daily job limit (a benchmark submits thousands of jobs in seconds)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import plain_dsn
from bench.seed import pixrelay

PASSWORD = "bench password 123"


@dataclass(frozen=True)
class BenchUser:
    user_id: str
    token: str


async def make_users(database_url: str, data_dir: Path, count: int, *, prefix: str = "u") -> list[BenchUser]:
    """`count` users with the `user` role, signup credits and access tokens (one session each).
    Their passwords are hashed by the fast test hasher (argon2 takes seconds a user on a busy
    machine): the API only ever sees their tokens, signed with the benchmark's JWT secret."""
    from dataclasses import replace

    from adapters.memory.passwords import PlainTestPasswordHasher
    from application.auth.login import LogIn
    from application.auth.register import RegisterUser
    from entrypoints.bootstrap import build_container

    users: list[BenchUser] = []
    async with pixrelay(database_url, data_dir) as (_container, runtime, _settings):
        container = build_container(replace(runtime.ports, hasher=PlainTestPasswordHasher()), runtime.policies)
        register: RegisterUser = container.resolve(RegisterUser)
        login: LogIn = container.resolve(LogIn)
        ids = []
        for n in range(count):
            email = f"{prefix}{n}-{data_dir.name[-6:]}@example.com"
            user = (await register(email, f"{prefix}{n}_{data_dir.name[-6:]}", PASSWORD)).unwrap()
            ids.append((user.id, email))
        await unlimited_daily_jobs(database_url, [user_id for user_id, _ in ids])
        for n, (user_id, email) in enumerate(ids):
            logged_in = (await login(email, PASSWORD, f"10.0.{n // 250}.{n % 250 + 1}")).unwrap()
            users.append(BenchUser(user_id, logged_in.access_token))
    return users


async def unlimited_daily_jobs(database_url: str, user_ids: list[str], *, concurrency: bool = False) -> None:
    """No daily job limit for these users (and, with `concurrency`, no concurrent-job limit)."""
    extra = ", max_concurrent_jobs = NULL" if concurrency else ""
    connection = await asyncpg.connect(plain_dsn(database_url))
    try:
        await connection.execute(f"UPDATE users SET max_jobs_per_day = NULL{extra} WHERE id = ANY($1::text[])",
                                 user_ids)
    finally:
        await connection.close()


def headers_for(users: list[BenchUser]) -> list[dict[str, Any]]:
    return [{"Authorization": f"Bearer {user.token}"} for user in users]
