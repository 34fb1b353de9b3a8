"""Round-trip budgets of the request path (issue 10), through the real app on the real
adapters, warm pool and known session: Postgres round trips, Redis commands, SQLite thread
hand-offs per request. A request over its budget fails here with the calls it made."""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from domain.users import revoke
from tests.e2e.http.conftest import Api, Caller
from tests.support.round_trips import RoundTrips, count_round_trips

WARM_UP = 3


def job_body(prompt: str = "a red fox") -> dict[str, Any]:
    return {"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": prompt}}


def measured(api: Api, send: Any) -> tuple[httpx.Response, RoundTrips]:
    for _ in range(WARM_UP):  # a pooled connection with its statements prepared
        send()
    with count_round_trips() as trips:
        response = send()
    return response, trips


def submit(api: Api, who: Caller, key: str | None = None) -> httpx.Response:
    headers = {**who.headers, **({"Idempotency-Key": key} if key else {})}
    return api.client.post("/v1/jobs", headers=headers, json=job_body())


@pytest.mark.postgres
@pytest.mark.redis
def test_submitting_a_job_costs_at_most_two_postgres_round_trips_and_one_redis_command(pg_api: Api) -> None:
    alice = pg_api.seeded("alice")
    response, trips = measured(pg_api, lambda: submit(pg_api, alice))
    assert response.status_code == 202, response.text
    assert trips.postgres <= 2, trips.report()
    assert trips.redis_commands <= 1, trips.report()


@pytest.mark.postgres
@pytest.mark.redis
def test_an_idempotency_key_replay_costs_the_same(pg_api: Api) -> None:
    alice = pg_api.seeded("alice")
    first = submit(pg_api, alice, "again")
    response, trips = measured(pg_api, lambda: submit(pg_api, alice, "again"))
    assert response.status_code == 202 and response.json()["id"] == first.json()["id"], response.text
    assert trips.postgres <= 2, trips.report()
    assert trips.redis_commands <= 1, trips.report()


@pytest.mark.postgres
@pytest.mark.redis
def test_a_session_revoked_in_the_database_submits_nothing_at_once(pg_api: Api) -> None:
    alice = pg_api.seeded("alice")
    assert submit(pg_api, alice).status_code == 202
    assert pg_api.client.get("/v1/users/me", headers=alice.headers).status_code == 200

    async def revoke_behind_the_cache() -> None:  # no cache is told: the statement must see it
        async with pg_api.wiring.ports.uow() as uow:
            session = await uow.sessions.get(alice.session_id)
            assert session is not None
            await uow.sessions.update(revoke(session, pg_api.wiring.clock.now()))
            await uow.commit()

    pg_api.run(revoke_behind_the_cache)
    refused = submit(pg_api, alice)
    assert refused.status_code == 401, refused.text
    relogged = pg_api.caller(alice.email, alice.id)
    assert len(pg_api.client.get("/v1/jobs", headers=relogged.headers).json()["items"]) == 1
    assert pg_api.client.get("/v1/users/me", headers=relogged.headers).json()["usage"]["jobs_created"] == 1


def settled_job(api: Api, who: Any) -> str:
    """A job that is no longer pending (cancelled); a pending one is measured below."""
    job_id: str = submit(api, who).json()["id"]
    assert api.client.post(f"/v1/jobs/{job_id}/cancel", headers=who.headers).status_code == 200
    return job_id


READS = {
    "one job": lambda api, who, ids: api.client.get(f"/v1/jobs/{ids['job']}", headers=who.headers),
    "my jobs": lambda api, who, ids: api.client.get("/v1/jobs?limit=5", headers=who.headers),
    "one asset": lambda api, who, ids: api.client.get(f"/v1/assets/{ids['asset']}", headers=who.headers),
    "my assets": lambda api, who, ids: api.client.get("/v1/assets?limit=5", headers=who.headers),
    "my profile": lambda api, who, ids: api.client.get("/v1/users/me", headers=who.headers),
}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize("path", READS)
def test_each_read_costs_one_postgres_round_trip_and_nothing_of_redis(path: str, pg_api: Api) -> None:
    alice = pg_api.seeded("alice")
    ids = {"job": settled_job(pg_api, alice), "asset": pg_api.upload(alice).json()["id"]}
    response, trips = measured(pg_api, lambda: READS[path](pg_api, alice, ids))
    assert response.status_code == 200, response.text
    assert trips.postgres <= 1, trips.report()
    assert trips.redis_commands == 0, trips.report()


@pytest.mark.postgres
@pytest.mark.redis
def test_a_pending_job_explains_its_wait_in_the_same_round_trip(pg_api: Api) -> None:
    """`waiting_reason` reads the user's limit, the provider's accounts and the parent in the
    job's own statement (AtomicSteps.read_shown_job)."""
    alice = pg_api.seeded("alice")
    job_id = submit(pg_api, alice).json()["id"]
    response, trips = measured(pg_api, lambda: pg_api.client.get(f"/v1/jobs/{job_id}", headers=alice.headers))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "pending"
    assert trips.postgres <= 1, trips.report()
    assert trips.redis_commands == 0, trips.report()


def test_a_pending_job_on_sqlite_explains_its_wait_in_one_hand_off_and_no_write_lock(sqlite_api: Api) -> None:
    alice = sqlite_api.seeded("alice")
    job_id = submit(sqlite_api, alice).json()["id"]
    response, trips = measured(sqlite_api, lambda: sqlite_api.client.get(f"/v1/jobs/{job_id}",
                                                                         headers=alice.headers))
    assert response.status_code == 200 and response.json()["status"] == "pending", response.text
    assert trips.sqlite <= 2, trips.report()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize("path", READS)
def test_each_read_refuses_a_revoked_session_at_once_and_tells_401_from_404(path: str, pg_api: Api) -> None:
    alice, bob = pg_api.seeded("alice"), pg_api.seeded("bob")
    ids = {"job": submit(pg_api, alice).json()["id"], "asset": pg_api.upload(alice).json()["id"]}
    assert READS[path](pg_api, alice, ids).status_code == 200
    if path.startswith("one"):  # another user's is absent to bob
        assert READS[path](pg_api, bob, ids).status_code == 404

    async def revoke_behind_the_cache() -> None:
        async with pg_api.wiring.ports.uow() as uow:
            session = await uow.sessions.get(alice.session_id)
            assert session is not None
            await uow.sessions.update(revoke(session, pg_api.wiring.clock.now()))
            await uow.commit()

    pg_api.run(revoke_behind_the_cache)
    assert READS[path](pg_api, alice, ids).status_code == 401


def test_submitting_a_job_on_sqlite_costs_at_most_three_thread_hand_offs(sqlite_api: Api) -> None:
    alice = sqlite_api.seeded("alice")
    for send in (lambda: submit(sqlite_api, alice), lambda: submit(sqlite_api, alice, "again")):
        response, trips = measured(sqlite_api, send)
        assert response.status_code == 202, response.text
        assert trips.sqlite <= 3, trips.report()


@pytest.mark.parametrize("path", READS)
def test_reads_on_sqlite_take_no_write_lock(path: str, sqlite_api: Api, sqlite_url: str) -> None:
    alice = sqlite_api.seeded("alice")
    ids = {"job": settled_job(sqlite_api, alice), "asset": sqlite_api.upload(alice).json()["id"]}
    response, trips = measured(sqlite_api, lambda: READS[path](sqlite_api, alice, ids))
    assert response.status_code == 200, response.text
    assert trips.sqlite <= 2, trips.report()
    writer = sqlite3.connect(make_url(sqlite_url).database or "", isolation_level=None, timeout=0)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock meanwhile
        started = time.monotonic()
        assert READS[path](sqlite_api, alice, ids).status_code == 200
        assert time.monotonic() - started < 1.0  # never waited for the lock (busy_timeout is 30 s)
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@pytest.mark.postgres
@pytest.mark.redis
def test_a_job_naming_an_input_costs_one_read_more(pg_api: Api) -> None:
    alice = pg_api.seeded("alice")
    asset_id = pg_api.upload(alice).json()["id"]
    body = {"provider_id": "sim", "operation_type": "image_to_image", "params": {"prompt": "a red fox"},
            "input_asset_ids": [asset_id]}
    response, trips = measured(pg_api, lambda: pg_api.client.post("/v1/jobs", headers=alice.headers, json=body))
    assert response.status_code == 202, response.text
    assert trips.postgres <= 2, trips.report()
    assert trips.redis_commands <= 1, trips.report()


@pytest.mark.postgres
@pytest.mark.redis
def test_a_routed_job_costs_no_more_than_a_named_one(pg_api: Api) -> None:
    """Routing reads the accounts' health to choose the provider (application/jobs/routing.py):
    within the same budget as a job on a named provider."""
    alice = pg_api.seeded("alice")
    pg_api.pool_account()
    body = {"provider_id": "auto", "operation_type": "text_to_image", "params": {"prompt": "a red fox"}}
    response, trips = measured(pg_api, lambda: pg_api.client.post("/v1/jobs", headers=alice.headers, json=body))
    assert response.status_code == 202, response.text
    assert response.json()["routed_to"] == "sim/image", response.text
    assert trips.postgres <= 2, trips.report()
    assert trips.redis_commands <= 1, trips.report()


def key_of(api: Api, who: Caller, scopes: list[str] | None = None) -> tuple[str, Caller]:
    """A new API key of `who`'s: its id, and a caller presenting it."""
    body: dict[str, Any] = {"name": "backend", **({"scopes": scopes} if scopes is not None else {})}
    made = api.client.post("/v1/api-keys", headers=who.headers, json=body)
    assert made.status_code == 201, made.text
    key = made.json()
    return key["id"], dataclasses.replace(who, headers={"Authorization": f"Bearer {key['key']}"})


def revoke_key_behind_the_scenes(api: Api, key_id: str) -> None:
    async def revoke_key() -> None:  # no process is told: the statement must see it
        async with api.wiring.ports.uow() as uow:
            assert await uow.api_keys.revoke(key_id, api.wiring.clock.now())
            await uow.commit()

    api.run(revoke_key)


@pytest.mark.postgres
@pytest.mark.redis
def test_an_api_key_submits_a_job_within_the_same_budget_as_a_session(pg_api: Api) -> None:
    session = pg_api.seeded("alice")
    key_id, alice = key_of(pg_api, session)
    _, by_session = measured(pg_api, lambda: submit(pg_api, session))
    response, trips = measured(pg_api, lambda: submit(pg_api, alice))
    assert response.status_code == 202, response.text
    assert trips.postgres <= 2 and trips.postgres <= by_session.postgres, (trips.report(), by_session.report())
    assert trips.redis_commands <= 1, trips.report()
    revoke_key_behind_the_scenes(pg_api, key_id)
    assert submit(pg_api, alice).status_code == 401


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize("path", ["one job", "my jobs", "one asset", "my assets", "my profile"])
def test_an_api_key_reads_within_the_same_budget_as_a_session(path: str, pg_api: Api) -> None:
    """The same round trips as the same read with a session (the budget of each read is
    checked for sessions above)."""
    session = pg_api.seeded("alice")
    key_id, alice = key_of(pg_api, session)
    ids = {"job": submit(pg_api, alice).json()["id"], "asset": pg_api.upload(alice).json()["id"]}
    _, by_session = measured(pg_api, lambda: READS[path](pg_api, session, ids))
    response, trips = measured(pg_api, lambda: READS[path](pg_api, alice, ids))
    assert response.status_code == 200, response.text
    assert trips.postgres <= by_session.postgres, (trips.report(), by_session.report())
    assert trips.postgres <= 1, trips.report()  # a pending job's wait is explained in the same statement
    assert trips.redis_commands == 0, trips.report()
    revoke_key_behind_the_scenes(pg_api, key_id)
    assert READS[path](pg_api, alice, ids).status_code == 401


@pytest.mark.postgres
@pytest.mark.redis
def test_a_known_api_key_still_needs_the_routes_scope_and_its_own_secret(pg_api: Api) -> None:
    alice = pg_api.seeded("alice")
    _, reader = key_of(pg_api, alice, ["jobs:read"])
    assert reader.headers != alice.headers
    assert pg_api.client.get("/v1/jobs", headers=reader.headers).status_code == 200  # now known here
    refused = submit(pg_api, reader)
    assert refused.status_code == 403 and "jobs:write" in refused.text, refused.text
    token = reader.headers["Authorization"]
    wrong = {"Authorization": token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")}
    assert pg_api.client.get("/v1/jobs", headers=wrong).status_code == 401
