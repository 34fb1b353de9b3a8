"""1,000 requests abandoned mid-flight against the real server process on Postgres: it keeps
answering, gives its database connections back, and never hands one caller another's answer."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from tests.services_db import plain_dsn
from tests.support.server import Server, isolated_database, running, server_errors

ABORTED = 1_000
AT_ONCE = 50
JWT_SECRET = "e2e-secret-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "correct horse battery"
JOB = {"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "storm"},
       "scheduled_at": "2100-01-01T00:00:00Z"}


@dataclass(frozen=True)
class Target:
    server: Server
    database_url: str


@pytest.fixture
def target(pg_server_url: str, tmp_path: Path) -> Iterator[Target]:
    with isolated_database(pg_server_url) as url, running(tmp_path, {
            "PIXRELAY_DATABASE_URL": url, "PIXRELAY_JWT_SECRET": JWT_SECRET, "PIXRELAY_PROVIDERS": "sim",
            "PIXRELAY_LOG_LEVEL": "warning"}) as server:
        yield Target(server, url)


@dataclass(frozen=True)
class User:
    id: str
    headers: dict[str, str]


def sign_up(client: httpx.Client, name: str) -> User:
    email = f"{name}@example.com"
    created = client.post("/v1/auth/register", json={"email": email, "username": name, "password": PASSWORD})
    login = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    return User(created.json()["id"], {"Authorization": f"Bearer {login.json()['access_token']}"})


async def connections(database_url: str) -> dict[str, int]:
    """The server's connections to its database, by state (`active`, `idle`, ...)."""
    connection = await asyncpg.connect(plain_dsn(database_url))
    try:
        rows = await connection.fetch(
            "SELECT coalesce(state, '?') AS state, count(*) AS n FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1")
    finally:
        await connection.close()
    return {row["state"]: row["n"] for row in rows}


def total(states: dict[str, int]) -> int:
    return sum(states.values())


async def storm(url: str, users: list[User], seed: int = 7) -> Counter[str]:
    """ABORTED requests, each given up after 1-30 ms or dropped right after it is sent; how
    each ended (`hung up`, `timed out`, or `answered` when the server beat the client)."""
    rng = random.Random(seed)
    ended: Counter[str] = Counter()
    host, port = urlsplit(url).hostname or "", urlsplit(url).port or 80

    async def abandon(index: int) -> None:
        user = users[index % len(users)]
        method, path, body = rng.choice([("GET", "/v1/jobs", None), ("POST", "/v1/jobs", JOB),
                                         ("GET", "/v1/users/me", None)])
        if index % 4 == 0:  # write the request and hang up at once
            _, writer = await asyncio.open_connection(host, port)
            payload = httpx.Request(method, f"{url}{path}", json=body, headers=user.headers)
            head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n" + "".join(
                f"{k}: {v}\r\n" for k, v in payload.headers.items() if k.lower() != "host") + "\r\n"
            writer.write(head.encode() + (payload.content or b""))
            await writer.drain()
            writer.transport.abort()
            ended["hung up"] += 1
            return
        timeout = httpx.Timeout(rng.uniform(0.001, 0.03))
        async with httpx.AsyncClient(base_url=url, timeout=timeout) as client:
            try:
                await client.request(method, path, json=body, headers=user.headers)
                ended["answered"] += 1
            except httpx.TimeoutException:
                ended["timed out"] += 1

    for start in range(0, ABORTED, AT_ONCE):
        await asyncio.gather(*(abandon(i) for i in range(start, min(start + AT_ONCE, ABORTED))))
    return ended


async def everyone_gets_their_own(url: str, users: list[User], each: int = 50) -> list[tuple[str, str]]:
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=2 * each)) as client:
        async def me(user: User) -> tuple[str, str]:
            response = await client.get("/v1/users/me", headers=user.headers)
            assert response.status_code == 200, response.text
            return user.id, response.json()["id"]

        return await asyncio.gather(*(me(user) for _ in range(each) for user in users))


def test_abandoned_requests_leave_no_trace(target: Target) -> None:
    url = target.server.url
    with httpx.Client(base_url=url, timeout=30) as client:
        users = [sign_up(client, "ann"), sign_up(client, "ben")]
    asyncio.run(everyone_gets_their_own(url, users))  # fills the connection pool before the baseline
    with httpx.Client(base_url=url, timeout=30) as client:  # and opens the worker wake-up's own
        # connection (NOTIFY after a job's commit, when there is no Redis): it stays, by design
        assert client.post("/v1/jobs", json=JOB, headers=users[0].headers).status_code == 202
    time.sleep(1)
    baseline = total(asyncio.run(connections(target.database_url)))

    started = time.monotonic()
    ended = asyncio.run(storm(url, users))
    stormed = time.monotonic() - started
    assert sum(ended.values()) == ABORTED and ended["answered"] < ABORTED // 10, ended

    assert httpx.get(f"{url}/health/ready", timeout=10).status_code == 200
    deadline, states = time.monotonic() + 10, {}
    while time.monotonic() < deadline:
        states = asyncio.run(connections(target.database_url))
        if total(states) <= baseline and not states.get("idle in transaction"):
            break
        time.sleep(0.25)
    assert total(states) <= baseline and not states.get("idle in transaction"), (baseline, states)

    answers = asyncio.run(everyone_gets_their_own(url, users))
    assert len(answers) == 100 and all(asked == answered for asked, answered in answers)
    assert not server_errors(target.server), target.server.output()[-5000:]
    print(f"{ABORTED} abandoned requests in {stormed:.1f} s ({dict(ended)}); connections {baseline} -> {states}")
