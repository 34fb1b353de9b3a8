"""The model catalog over HTTP: listing, one model, admins' changes, and jobs that name models."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from adapters.memory.system import ManualClock
from adapters.providers.fal import FalProvider
from adapters.providers.httpio import SafeDownloader
from adapters.providers.luma import LumaProvider
from adapters.providers.openai_images import OpenAIImagesProvider
from adapters.providers.pixverse import PixverseProvider
from adapters.providers.registry import StaticProviderRegistry
from adapters.providers.replicate import ReplicateProvider
from adapters.providers.runway import RunwayProvider
from adapters.providers.sim import SimProvider
from adapters.providers.veo import VeoProvider
from application.policy import Policies
from entrypoints.bootstrap import build_container
from tests.e2e.http.conftest import ROOMY_AUTH, Api, assert_problem, serve
from tests.support.wiring import Wiring, memory_ports

SCHEMA = {"type": "object", "properties": {"prompt": {"type": "string", "minLength": 1},
                                           "num_images": {"type": "integer", "minimum": 1, "maximum": 4}},
          "required": ["prompt"], "additionalProperties": False}
HQ = {"provider_id": "sim", "remote_id": "image-hq", "name": "Simulated HQ images",
      "operations": {"text_to_image": {}},
      "price": {"credits_per_unit": 7, "unit": "image", "quantity_param": "num_images"},
      "params_schema": SCHEMA, "aliases": ["hq"]}


@pytest.fixture
def every_provider() -> Iterator[Api]:
    """The memory wiring with all eight providers (no network: every call would be a 500)."""
    clock = ManualClock()
    sim = SimProvider(clock=clock.now)
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(500)))
    downloader = SafeDownloader(client, max_bytes=1000)
    now = lambda: datetime(2026, 12, 3, tzinfo=UTC)  # noqa: E731
    ports = memory_ports(clock, sim)
    ports = type(ports)(**{**ports.__dict__, "providers": StaticProviderRegistry([
        sim, ReplicateProvider(client, downloader, clock=now), FalProvider(client, downloader, clock=now),
        OpenAIImagesProvider(client, downloader, clock=now), RunwayProvider(client, downloader, clock=now),
        LumaProvider(client, downloader, clock=now), VeoProvider(client, downloader, clock=now),
        PixverseProvider(client, downloader, clock=now)])})
    policies = Policies(auth=ROOMY_AUTH)
    yield from serve(Wiring(build_container(ports, policies), ports, clock, sim))


def every_page(api: Api, headers: dict[str, str], **query: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = api.client.get("/v1/models", headers=headers,
                                  params={**query, "limit": 7, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def test_the_catalog_lists_at_least_twenty_models_over_eight_providers(every_provider: Api) -> None:
    alice = every_provider.register()
    models = every_page(every_provider, alice.headers)
    assert len(models) >= 20 and len({m["provider_id"] for m in models}) >= 8
    assert [m["id"] for m in models] == sorted(m["id"] for m in models)
    pro = next(m for m in models if m["id"] == "replicate/black-forest-labs/flux-1.1-pro")
    assert pro["remote_id"] == "black-forest-labs/flux-1.1-pro" and pro["builtin"] is True
    assert pro["price"] == {"credits_per_unit": 4, "unit": "image", "quantity_param": None, "default_quantity": 1}
    assert "safety_tolerance" in pro["params_schema"]["properties"]
    assert [op["operation_type"] for op in pro["operations"]] == ["text_to_image"]
    fal = every_page(every_provider, alice.headers, provider_id="fal", operation_type="text_to_video")
    assert fal and all(m["provider_id"] == "fal" and any(op["operation_type"] == "text_to_video"
                                                         for op in m["operations"]) for m in fal)


def test_one_model_by_its_id_with_slashes(every_provider: Api) -> None:
    alice = every_provider.register()
    got = every_provider.client.get("/v1/models/fal/fal-ai/flux/dev", headers=alice.headers)
    assert got.status_code == 200, got.text
    assert got.json()["id"] == "fal/fal-ai/flux/dev" and got.json()["aliases"] == ["flux-dev"]
    edit = every_provider.client.get("/v1/models/openai_images/gpt-image-1", headers=alice.headers).json()
    schemas = {op["operation_type"]: op["params_schema"] for op in edit["operations"]}
    assert "moderation" in schemas["text_to_image"]["properties"]  # each operation its own params
    assert "moderation" not in schemas["image_to_image"]["properties"]
    assert_problem(every_provider.client.get("/v1/models/fal/nope", headers=alice.headers), 404, "NOT_FOUND")
    assert every_provider.client.get("/v1/models").status_code == 401


def test_bad_listing_queries_are_422(api: Api) -> None:
    alice = api.register()
    assert_problem(api.client.get("/v1/models?cursor=%%%", headers=alice.headers), 422, "VALIDATION_ERROR")
    assert_problem(api.client.get("/v1/models?operation_type=teleport", headers=alice.headers), 422)
    only_sim = api.client.get("/v1/models", headers=alice.headers).json()["items"]
    assert {m["id"] for m in only_sim} == {"sim/image", "sim/video", "sim/upscale"}  # providers offered here


def test_a_model_an_admin_adds_is_used_by_a_job_end_to_end(api: Api) -> None:
    root, alice = api.admin(), api.register()
    api.pool_account()
    added = api.client.post("/v1/admin/models", headers=root.headers, json=HQ)
    assert added.status_code == 201, added.text
    assert added.json()["id"] == "sim/image-hq" and added.json()["params_schema"] == SCHEMA
    assert not added.json()["builtin"]
    assert_problem(api.client.post("/v1/admin/models", headers=root.headers, json=HQ), 409, "CONFLICT")
    listed = api.client.get("/v1/models?provider_id=sim", headers=alice.headers).json()["items"]
    assert "sim/image-hq" in {m["id"] for m in listed}

    body = {"model": "sim/image-hq", "operation_type": "text_to_image", "params": {"prompt": "fox", "num_images": 2}}
    assert api.client.post("/v1/jobs/quote", headers=alice.headers, json=body).json() == {"credits": 14}
    bad = {**body, "params": {"prompt": "fox", "width": 300}}
    assert_problem(api.client.post("/v1/jobs", headers=alice.headers, json=bad), 422, "VALIDATION_ERROR")
    made = api.client.post("/v1/jobs", headers=alice.headers, json=body)
    assert made.status_code == 202, made.text
    job = made.json()
    assert (job["model"], job["provider_id"], job["cost_estimate"]) == ("sim/image-hq", "sim", 14)
    api.drain()
    done = api.client.get(f"/v1/jobs/{job['id']}", headers=alice.headers).json()
    assert done["status"] == "completed" and len(done["result_asset_ids"]) == 2, done
    remote = api.wiring.sim.remote_job(api.run(_provider_job_id, api, job["id"]))
    assert remote is not None and remote.model == "image-hq"  # the sim was sent the model's remote id


async def _provider_job_id(api: Api, job_id: str) -> str:
    async with api.wiring.ports.uow() as uow:
        job = await uow.jobs.get(job_id)
    assert job is not None and job.provider_job_id is not None
    return job.provider_job_id


def test_admins_change_and_remove_models_built_in_ones_too_and_it_is_audited(api: Api) -> None:
    root, alice = api.admin(), api.register()
    quote = {"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "fox"}}
    assert api.client.post("/v1/jobs/quote", headers=alice.headers, json=quote).json() == {"credits": 1}
    changed = api.client.patch("/v1/admin/models/sim/image", headers=root.headers,
                               json={"price": {"credits_per_unit": 3, "unit": "image", "quantity_param": "num_images"}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["builtin"] and "sim_outcome" in changed.json()["params_schema"]["properties"]
    assert api.client.post("/v1/jobs/quote", headers=alice.headers, json=quote).json() == {"credits": 3}
    job = api.job(alice)
    assert job["model"] == "sim/image" and job["cost_estimate"] == 3

    assert api.client.delete("/v1/admin/models/sim/video", headers=root.headers).status_code == 204
    assert_problem(api.client.get("/v1/models/sim/video", headers=alice.headers), 404)
    video = {"provider_id": "sim", "operation_type": "text_to_video", "params": {"prompt": "waves"}}
    assert_problem(api.client.post("/v1/jobs", headers=alice.headers, json=video), 422, "VALIDATION_ERROR")
    assert_problem(api.client.delete("/v1/admin/models/sim/video", headers=root.headers), 404)
    assert_problem(api.client.patch("/v1/admin/models/sim/nope", headers=root.headers, json={}), 404)
    assert_problem(api.client.patch("/v1/admin/models/sim/image", headers=root.headers,
                                    json={"params_schema": {"type": "array"}}), 422)
    actions = [e["action"] for e in api.client.get("/v1/admin/audit?resource=model", headers=root.headers
                                                   ).json()["items"]]
    assert sorted(actions) == ["model.delete", "model.update"]


def test_model_and_provider_must_agree_and_one_of_them_is_needed(api: Api) -> None:
    alice = api.register()
    for body, field in [
        ({"operation_type": "text_to_image", "params": {"prompt": "x"}}, "model"),
        ({"model": "sim/image", "provider_id": "replicate", "operation_type": "text_to_image",
          "params": {"prompt": "x"}}, "provider_id"),
        ({"model": "sim/video", "operation_type": "text_to_image", "params": {"prompt": "x"}}, "operation_type"),
    ]:
        for path in ("/v1/jobs", "/v1/jobs/quote"):
            problem = assert_problem(api.client.post(path, headers=alice.headers, json=body), 422, "VALIDATION_ERROR")
            assert field in str(problem), problem
    agreed = api.job(alice, model="sim/image")
    assert agreed["model"] == "sim/image"


@pytest.mark.parametrize(("body", "words"), [
    ({**HQ, "provider_id": "replicate"}, "unknown provider"),  # not offered here
    ({**HQ, "operations": {}}, ""),
    ({**HQ, "operations": {"teleport": {}}}, ""),
    ({**HQ, "operations": {"upscale": {"inputs": 17}}}, ""),
    ({**HQ, "price": {"credits_per_unit": -1}}, ""),
    ({**HQ, "params_schema": {"type": "object", "properties": {"x": {"type": "nonsense"}}}}, "JSON Schema"),
    ({**HQ, "remote_id": "has space"}, ""),
    ({**HQ, "aliases": ["has space"]}, ""),
    ({**HQ, "unknown": 1}, ""),
])
def test_an_admins_model_that_does_not_make_sense_is_422(api: Api, body: dict[str, Any], words: str) -> None:
    root = api.admin()
    problem = assert_problem(api.client.post("/v1/admin/models", headers=root.headers, json=body), 422)
    assert words in str(problem)
