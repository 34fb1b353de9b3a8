"""One Idempotency-Key, 20 identical job submissions at once, against the real server
process on Postgres and on its embedded SQLite: one job, one usage count, one credit hold."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import Server, isolated_database, running, server_errors

RACERS = 20
JWT_SECRET = "e2e-secret-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "correct horse battery"
# Scheduled far ahead, so the job stays pending and its credits stay held while we look.
BODY = {"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "a red fox", "num_images": 3},
        "scheduled_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()}
BASE_ENV = {"PIXRELAY_JWT_SECRET": JWT_SECRET, "PIXRELAY_PROVIDERS": "sim", "PIXRELAY_LOG_LEVEL": "warning"}


@pytest.fixture(params=["postgres", "sqlite"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    if request.param == "sqlite":
        with running(tmp_path, BASE_ENV) as started:
            yield started
        return
    server_url: str = request.getfixturevalue("pg_server_url")
    with isolated_database(server_url) as url, running(tmp_path, {**BASE_ENV, "PIXRELAY_DATABASE_URL": url}) as started:
        yield started


def sign_up(client: httpx.Client, name: str) -> dict[str, str]:
    email = f"{name}@example.com"
    assert client.post("/v1/auth/register", json={"email": email, "username": name,
                                                  "password": PASSWORD}).status_code == 201
    login = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def race(url: str, headers: dict[str, str], body: dict[str, Any], key: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=RACERS)) as client:
        start = asyncio.Event()

        async def submit() -> httpx.Response:
            await start.wait()
            return await client.post("/v1/jobs", json=body, headers={**headers, "Idempotency-Key": key})

        racers = [asyncio.create_task(submit()) for _ in range(RACERS)]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*racers)


def test_concurrent_submissions_with_one_key_make_one_job(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        alice = sign_up(client, "alice")
        cost = client.post("/v1/jobs/quote", json=BODY, headers=alice).json()["credits"]
        before = client.get("/v1/users/me", headers=alice).json()

        responses = asyncio.run(race(server.url, alice, BODY, "one-key"))

        statuses = Counter(r.status_code for r in responses)
        assert set(statuses) <= {202, 409} and statuses[202] >= 1, [r.text for r in responses]
        ids = {r.json()["id"] for r in responses if r.status_code == 202}
        assert len(ids) == 1, ids
        for loser in (r for r in responses if r.status_code == 409):
            assert loser.json()["code"] == "CONFLICT"
            assert loser.headers["content-type"].startswith("application/problem+json")
        [job_id] = ids

        jobs = client.get("/v1/jobs", headers=alice).json()["items"]
        assert [job["id"] for job in jobs] == [job_id]
        replay = client.post("/v1/jobs", json=BODY, headers={**alice, "Idempotency-Key": "one-key"})
        assert replay.status_code == 202 and replay.json()["id"] == job_id
        other = client.post("/v1/jobs", json={**BODY, "params": {"prompt": "a grey wolf"}},
                            headers={**alice, "Idempotency-Key": "one-key"})
        assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_MISMATCH"

        after = client.get("/v1/users/me", headers=alice).json()
        assert after["usage"]["jobs_created"] == before["usage"]["jobs_created"] + 1
        assert after["credits_held"] == before["credits_held"] + cost
        assert after["credits"] == before["credits"] - cost
        assert [job["id"] for job in client.get("/v1/jobs", headers=alice).json()["items"]] == [job_id]

        # The key is the user's own: another user's identical race makes that user's one job.
        bob = sign_up(client, "bob")
        theirs = asyncio.run(race(server.url, bob, BODY, "one-key"))
        assert {r.json()["id"] for r in theirs if r.status_code == 202} - {job_id}
    assert not server_errors(server), server.output()[-5000:]
