"""Round-trip budgets of the request path (issue 10), through the real app on the real
adapters, warm pool and known session: Postgres round trips, Redis commands, SQLite thread
hand-offs per request. A request over its budget fails here with the calls it made."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

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
