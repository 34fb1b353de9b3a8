"""/openai/v1 over the in-memory wiring: OpenAI's error shape for every failure, API key scopes,
and the job a call leaves behind (the wait is 0 here: no worker runs, every call is a 504)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from application.policy import OpenAICompatPolicy, Policies
from entrypoints.http.routes_openai import JOB_HEADER
from tests.e2e.http.conftest import PNG, ROOMY_AUTH, Api, serve
from tests.support.wiring import memory_wiring

GENERATE = "/openai/v1/images/generations"
EDIT = "/openai/v1/images/edits"


@pytest.fixture
def api() -> Iterator[Api]:
    yield from serve(memory_wiring(policies=Policies(auth=ROOMY_AUTH, openai=OpenAICompatPolicy(wait_seconds=0))))


def openai_error(response: httpx.Response, status: int, code: str | None = None,
                 param: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "code", "param"}, body
    if code is not None:
        assert body["error"]["code"] == code, body
    if param is not None:
        assert body["error"]["param"] == param, body
    return body["error"]


def key(api: Api, headers: dict[str, str], *scopes: str) -> dict[str, str]:
    made = api.client.post("/v1/api-keys", headers=headers, json={"name": "k", "scopes": list(scopes)})
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['key']}"}


def test_a_call_is_an_ordinary_job_named_after_the_model_and_504_names_it(api: Api) -> None:
    alice = api.register()
    response = api.client.post(GENERATE, headers=alice.headers,
                               json={"model": "sim/image", "prompt": "a fox", "n": 2, "size": "128x128"})
    error = openai_error(response, 504, "job_still_running")
    job_id = response.headers[JOB_HEADER]
    assert job_id in error["message"] and response.headers["x-should-retry"] == "false"
    job = api.client.get(f"/v1/jobs/{job_id}", headers=alice.headers).json()
    assert job["name"] == "openai:sim/image" and job["params"]["num_images"] == 2
    assert job["cost_estimate"] == 2  # priced and held like any job


def test_the_same_idempotency_key_gives_the_same_job(api: Api) -> None:
    alice = api.register()
    body = {"model": "sim/image", "prompt": "a fox"}
    first = api.client.post(GENERATE, headers={**alice.headers, "Idempotency-Key": "k1"}, json=body)
    again = api.client.post(GENERATE, headers={**alice.headers, "Idempotency-Key": "k1"}, json=body)
    assert first.headers[JOB_HEADER] == again.headers[JOB_HEADER]


def test_errors_are_in_openais_shape(api: Api) -> None:
    alice = api.register()
    openai_error(api.client.post(GENERATE, json={"model": "sim/image", "prompt": "x"}), 401)
    openai_error(api.client.post(GENERATE, headers={"Authorization": "Bearer pxr_nope_nope_nope_nope_nope"},
                                 json={"model": "sim/image", "prompt": "x"}), 401, "invalid_api_key")
    openai_error(api.client.post(GENERATE, headers=alice.headers, json={"model": "nope", "prompt": "x"}),
                 404, "model_not_found", "model")
    openai_error(api.client.post(GENERATE, headers=alice.headers, json={"model": "sim/image"}), 400, param="prompt")
    openai_error(api.client.post(GENERATE, headers=alice.headers, json={"prompt": "x"}), 400, param="model")
    openai_error(api.client.post(GENERATE, headers=alice.headers, json={"model": "sim/image", "prompt": "x",
                                                                         "n": "two"}), 400, param="n")
    openai_error(api.client.post(GENERATE, headers=alice.headers, json={"model": "sim/image", "prompt": "x",
                                                                         "complexity": 3}), 400)
    openai_error(api.client.post(GENERATE, headers=alice.headers, json={"model": "sim/image", "prompt": "x",
                                                                         "stream": True}), 400, param="stream")
    openai_error(api.client.post(GENERATE, headers={**alice.headers, "Content-Type": "application/json"},
                                 content=b"{"), 400)
    openai_error(api.client.post(GENERATE, headers={**alice.headers, "Content-Type": "text/plain"}, content=b"x"),
                 415)
    openai_error(api.client.post(GENERATE, headers=alice.headers, json={
        "model": "sim/image", "prompt": "x", "pixrelay_params": {"sim_latency_ms": -1}}), 400, param="params")
    openai_error(api.client.get("/openai/v1/models/nope", headers=alice.headers), 404, "model_not_found")


def test_credits_and_quota_refusals(api: Api) -> None:
    poor = api.seeded("poor", credits=0)
    error = openai_error(api.client.post(GENERATE, headers=poor.headers, json={"model": "sim/image", "prompt": "x"}),
                         402, "insufficient_quota")
    assert error["type"] == "insufficient_quota"


def test_api_key_scopes(api: Api) -> None:
    alice = api.register()
    reader = key(api, alice.headers, "jobs:read")
    jobs_only = key(api, alice.headers, "jobs:write")
    openai_error(api.client.post(GENERATE, headers=reader, json={"model": "sim/image", "prompt": "x"}), 403)
    assert api.client.get("/openai/v1/models", headers=reader).status_code == 200
    openai_error(api.client.post(GENERATE, headers=jobs_only, json={"model": "sim/image", "prompt": "x"}), 504)
    openai_error(api.client.post(EDIT, headers=jobs_only, data={"prompt": "x", "model": "sim/image"},
                                 files={"image": ("in.png", PNG, "image/png")}), 403)


def test_an_edit_uploads_its_image_as_an_asset_and_uses_it_as_input(api: Api) -> None:
    alice = api.register()
    response = api.client.post(EDIT, headers=alice.headers, data={"prompt": "snow", "model": "sim/image", "n": "1"},
                               files={"image": ("in.png", PNG, "image/png")})
    openai_error(response, 504)
    job = api.client.get(f"/v1/jobs/{response.headers[JOB_HEADER]}", headers=alice.headers).json()
    assert job["operation_type"] == "image_to_image"
    [asset_id] = job["input_asset_ids"]
    assert api.client.get(f"/v1/assets/{asset_id}/content", headers=alice.headers).content == PNG
    openai_error(api.client.post(EDIT, headers=alice.headers, data={"prompt": "x", "model": "sim/image"},
                                 files={"mask": ("m.png", PNG, "image/png")}), 400, param="mask")
    openai_error(api.client.post(EDIT, headers=alice.headers, data={"prompt": "x", "model": "sim/image", "n": "x"},
                                 files={"image": ("in.png", PNG, "image/png")}), 400, param="n")
    openai_error(api.client.post(EDIT, headers=alice.headers, data={"prompt": "x", "model": "flux-schnell"},
                                 files={"image": ("in.png", PNG, "image/png")}), 404, "model_not_found")
    openai_error(api.client.post(EDIT, headers=alice.headers, json={"prompt": "x"}), 415)
    openai_error(api.client.post(EDIT, headers=alice.headers, data={"prompt": "x", "model": "sim/image"},
                                 files={"image": ("in.txt", b"hello", "text/plain")}), 415)


def test_models_list_the_offered_providers_models(api: Api) -> None:
    alice = api.register()
    listed = api.client.get("/openai/v1/models", headers=alice.headers).json()
    assert listed["object"] == "list"
    assert [(m["id"], m["object"], m["owned_by"]) for m in listed["data"]] == [("sim/image", "model", "sim")]
    assert api.client.get("/openai/v1/models/sim/image", headers=alice.headers).json()["id"] == "sim/image"
