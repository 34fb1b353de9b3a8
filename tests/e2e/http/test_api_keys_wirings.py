"""The issue's proof, over HTTP on the three acceptance wirings (in-memory, SQLite + disk,
Postgres + Redis + S3): a key made through the API submits a job, reads it, and stops
working at once when revoked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from entrypoints.http.app import create_app
from tests.acceptance.wirings import WIRINGS, make_wiring
from tests.e2e.http.conftest import PASSWORD, Api, assert_problem
from tests.support.wiring import Wiring, memory_wiring

JOB = {"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "a red fox"}}


@pytest.fixture(params=WIRINGS)
def wired_api(request: pytest.FixtureRequest) -> Iterator[Api]:
    """The API over the wiring, opened inside the test client's own event loop (pools and
    the in-memory lock bind to the loop that first uses them)."""
    app = create_app(memory_wiring().container)
    with TestClient(app) as client:
        manager = make_wiring(request.param, request)
        wiring: Wiring = client.blocking_portal.call(manager.__aenter__)
        app.state.container = wiring.container
        try:
            yield Api(client, wiring)
        finally:
            client.blocking_portal.call(manager.__aexit__, None, None, None)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_key_made_through_the_api_works_until_revoked(wired_api: Api) -> None:
    api = wired_api
    registered = api.client.post("/v1/auth/register",
                                 json={"email": "alice@example.com", "username": "alice", "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    alice = api.caller("alice@example.com", registered.json()["id"])
    made = api.client.post("/v1/api-keys", headers=alice.headers, json={"name": "backend"})
    assert made.status_code == 201, made.text
    key: str = made.json()["key"]
    submitted = api.client.post("/v1/jobs", headers=bearer(key), json=JOB)
    assert submitted.status_code == 202, submitted.text
    job: dict[str, Any] = submitted.json()
    read = api.client.get(f"/v1/jobs/{job['id']}", headers=bearer(key))
    assert read.status_code == 200 and read.json()["id"] == job["id"]
    listed = api.client.get("/v1/api-keys", headers=alice.headers).json()["items"]
    assert [k["id"] for k in listed] == [made.json()["id"]] and listed[0]["last_used_at"] is not None
    assert api.client.delete(f"/v1/api-keys/{made.json()['id']}", headers=alice.headers).status_code == 204
    assert_problem(api.client.get(f"/v1/jobs/{job['id']}", headers=bearer(key)), 401, "UNAUTHENTICATED")
    assert_problem(api.client.post("/v1/jobs", headers=bearer(key), json=JOB), 401, "UNAUTHENTICATED")
