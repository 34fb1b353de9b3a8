"""Kling end to end over the API: an admin adds a Kling account with its key pair (never shown
again), a user's text-to-video job goes through the whole pipeline (claim, submit with a signed
JWT, poll, download, settle) against a fake of Kling's task API replaying recorded answers."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from adapters.providers.guarded import GuardedProvider
from adapters.providers.kling import KlingProvider
from adapters.providers.registry import StaticProviderRegistry
from entrypoints.bootstrap import build_container
from entrypoints.http.app import create_app
from tests.e2e.http.conftest import Api, assert_problem
from tests.support.wiring import Wiring, memory_wiring
from tests.unit.adapters.providers import media_replay
from tests.unit.adapters.providers.media_fakes import OUTPUT_BYTES, FakeKling

PAIR = {"access_key": FakeKling.ACCESS_KEY, "secret_key": FakeKling.SECRET_KEY}


@dataclasses.dataclass
class KlingSetup:
    api: Api
    fake: FakeKling


@pytest.fixture
def kling_api() -> Iterator[KlingSetup]:
    """The API and worker on the memory wiring, with sim and Kling (on the fake) offered."""
    fake = FakeKling()
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
    base = memory_wiring()
    kling = GuardedProvider(KlingProvider(http, media_replay.downloader(http), clock=base.clock.now))
    ports = dataclasses.replace(base.ports, providers=StaticProviderRegistry([base.sim, kling]))
    wiring = Wiring(build_container(ports), ports, base.clock, base.sim)
    with TestClient(create_app(wiring.container)) as client:
        api = Api(client, wiring)
        yield KlingSetup(api, fake)
        api.run(http.aclose)


def _no_key_in(text: str) -> bool:
    return not any(value in text for value in PAIR.values())


def test_an_admin_adds_a_kling_account_whose_key_pair_is_never_echoed(kling_api: KlingSetup) -> None:
    api = kling_api.api
    root = api.admin()
    providers = {p["id"]: p for p in api.client.get("/v1/providers", headers=root.headers).json()["items"]}
    assert (providers["kling"]["secret_fields"], providers["sim"]["secret_fields"]) == (["access_key", "secret_key"], [])
    created = api.client.post("/v1/admin/accounts", headers=root.headers, json={
        "provider_id": "kling", "label": "kling main", "secret": PAIR, "credits": 500})
    assert created.status_code == 201, created.text
    assert "secret" not in created.json() and _no_key_in(created.text)
    url = f"/v1/admin/accounts/{created.json()['id']}"
    for response in (api.client.get("/v1/admin/accounts", headers=root.headers), api.client.get(url, headers=root.headers),
                     api.client.patch(url, headers=root.headers, json={"secret": PAIR | {"secret_key": "SK-rotated"}}),
                     api.client.get("/v1/admin/audit", headers=root.headers)):
        assert response.status_code == 200, response.text
        assert _no_key_in(response.text) and "SK-rotated" not in response.text


@pytest.mark.parametrize(("provider_id", "secret"), [
    ("kling", "AK:SK"),
    ("kling", {"access_key": "AK"}),
    ("kling", {"access_key": "AK", "secret_key": "SK", "region": "sg"}),
    ("kling", {"access_key": "AK", "secret_key": " SK "}),
    ("kling", {"access_key": "AK", "secret_key": 5}),
    ("kling", {}),
    ("sim", {"access_key": "AK", "secret_key": "SK"}),
])
def test_a_secret_of_the_wrong_shape_is_a_422(kling_api: KlingSetup, provider_id: str, secret: Any) -> None:
    api = kling_api.api
    root = api.admin()
    response = api.client.post("/v1/admin/accounts", headers=root.headers, json={
        "provider_id": provider_id, "label": "x", "secret": secret})
    assert_problem(response, 422, "VALIDATION_ERROR")
    assert api.client.get("/v1/admin/accounts", headers=root.headers).json()["items"] == []


def test_a_kling_job_runs_through_the_pipeline(kling_api: KlingSetup) -> None:
    api, fake = kling_api.api, kling_api.fake
    root = api.admin()
    assert api.client.post("/v1/admin/accounts", headers=root.headers, json={
        "provider_id": "kling", "label": "kling main", "secret": PAIR, "credits": 500}).status_code == 201
    alice = api.seeded("alice")
    submitted = api.client.post("/v1/jobs", headers=alice.headers, json={
        "provider_id": "kling", "operation_type": "text_to_video",
        "params": {"prompt": "a lighthouse in a storm", "duration": 10, "model_name": "kling-v2-master"}})
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    assert submitted.json()["cost_estimate"] == 10

    for _ in range(6):
        api.drain()
        fake.advance()
        api.wiring.clock.advance(seconds=30)
    done = api.client.get(f"/v1/jobs/{job_id}", headers=alice.headers).json()
    assert (done["status"], done["attempts"], done["error_code"]) == ("completed", 1, None), done
    [video_id] = done["result_asset_ids"]
    content = api.client.get(f"/v1/assets/{video_id}/content", headers=alice.headers)
    assert content.status_code == 200 and content.content == OUTPUT_BYTES

    [create] = [r for r in fake.seen if r.method == "POST"]
    sent = json.loads(create.content)
    assert create.url.path == "/v1/videos/text2video"
    assert {k: sent[k] for k in ("model_name", "prompt", "duration")} == {
        "model_name": "kling-v2-master", "prompt": "a lighthouse in a storm", "duration": "10"}
    assert sent["external_task_id"] in fake.external  # our submission reference, for find()

