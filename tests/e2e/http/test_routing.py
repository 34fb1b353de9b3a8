"""Routed jobs over HTTP: `provider_id: "auto"`, and where the job went and why."""

from __future__ import annotations

from tests.e2e.http.conftest import Api, assert_problem


def test_an_auto_job_says_where_it_runs_and_why(api: Api) -> None:
    alice = api.register("alice")
    api.pool_account()
    made = api.client.post("/v1/jobs", headers=alice.headers, json={
        "provider_id": "auto", "operation_type": "text_to_image", "params": {"prompt": "a fox"}})
    assert made.status_code == 202, made.text
    job = made.json()
    assert (job["provider_id"], job["routed_to"], job["route_reason"]) == ("sim", "sim/image", "only capable provider")
    api.drain()
    shown = api.client.get(f"/v1/jobs/{job['id']}", headers=alice.headers).json()
    assert (shown["status"], shown["routed_to"], shown["route_reason"]) == (
        "completed", "sim/image", "only capable provider")
    listed = api.client.get("/v1/jobs", headers=alice.headers).json()["items"]
    assert [(j["routed_to"], j["route_reason"]) for j in listed] == [("sim/image", "only capable provider")]


def test_a_job_on_a_named_provider_is_not_routed(api: Api) -> None:
    alice = api.register("alice")
    job = api.job(alice)
    assert (job["routed_to"], job["route_reason"]) == (None, None)


def test_auto_with_a_model_nobody_serves_is_refused(api: Api) -> None:
    alice = api.register("alice")
    refused = api.client.post("/v1/jobs", headers=alice.headers, json={
        "provider_id": "auto", "model": "no-such-model", "operation_type": "text_to_image",
        "params": {"prompt": "a fox"}})
    assert_problem(refused, 422, "VALIDATION_ERROR")
    quoted = api.client.post("/v1/jobs/quote", headers=alice.headers, json={
        "provider_id": "auto", "operation_type": "text_to_image", "params": {"prompt": "a fox", "num_images": 3}})
    assert quoted.status_code == 200 and quoted.json()["credits"] == 3, quoted.text
