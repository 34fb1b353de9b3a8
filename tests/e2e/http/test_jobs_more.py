"""Retrying, deleting, finding and batch-submitting jobs over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec

from domain.quotas import USER_DEFAULT
from tests.e2e.http.conftest import Api, Caller, assert_problem


def body(prompt: str = "a red fox", **params: Any) -> dict[str, Any]:
    return {"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": prompt, **params}}


def failed_job(api: Api, who: Caller) -> dict[str, Any]:
    api.pool_account()
    job = api.job(who, params={"sim_outcome": "final_error"}, name="doomed")
    api.drain()
    assert api.client.get(f"/v1/jobs/{job['id']}", headers=who.headers).json()["status"] == "failed"
    return job


def test_a_failed_job_runs_again_as_a_new_job(api: Api) -> None:
    alice = api.register("alice")
    old = failed_job(api, alice)
    retried = api.client.post(f"/v1/jobs/{old['id']}/retry", headers=alice.headers)
    assert retried.status_code == 202, retried.text
    new = retried.json()
    assert new["id"] != old["id"] and new["retried_from"] == old["id"] and new["status"] == "pending"
    assert (new["params"], new["name"], new["priority"]) == (old["params"], old["name"], old["priority"])
    assert api.client.get(f"/v1/jobs/{old['id']}", headers=alice.headers).json()["retried_from"] is None


def test_a_cancelled_job_can_be_retried_and_a_pending_one_cannot(api: Api) -> None:
    alice = api.register("alice")
    job = api.job(alice)
    assert_problem(api.client.post(f"/v1/jobs/{job['id']}/retry", headers=alice.headers), 409, "INVALID_TRANSITION")
    api.client.post(f"/v1/jobs/{job['id']}/cancel", headers=alice.headers)
    key = {"Idempotency-Key": "retry-1"}
    first = api.client.post(f"/v1/jobs/{job['id']}/retry", headers={**alice.headers, **key})
    again = api.client.post(f"/v1/jobs/{job['id']}/retry", headers={**alice.headers, **key})
    assert first.status_code == again.status_code == 202 and first.json()["id"] == again.json()["id"]


def test_another_users_job_cannot_be_retried_or_deleted(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    job = failed_job(api, alice)
    assert_problem(api.client.post(f"/v1/jobs/{job['id']}/retry", headers=bob.headers), 404, "NOT_FOUND")
    assert_problem(api.client.delete(f"/v1/jobs/{job['id']}", headers=bob.headers), 404, "NOT_FOUND")
    assert_problem(api.client.post("/v1/jobs/nope/retry", headers=alice.headers), 404, "NOT_FOUND")


def test_a_deleted_job_is_gone_but_its_money_and_audit_stay(api: Api) -> None:
    alice, root = api.register("alice"), api.admin()
    job = api.job(alice)
    assert_problem(api.client.delete(f"/v1/jobs/{job['id']}", headers=alice.headers), 409, "INVALID_TRANSITION")
    api.client.post(f"/v1/jobs/{job['id']}/cancel", headers=alice.headers)
    credits = api.client.get("/v1/users/me", headers=alice.headers).json()["credits"]
    assert api.client.delete(f"/v1/jobs/{job['id']}", headers=alice.headers).status_code == 204
    assert_problem(api.client.get(f"/v1/jobs/{job['id']}", headers=alice.headers), 404, "NOT_FOUND")
    assert_problem(api.client.delete(f"/v1/jobs/{job['id']}", headers=alice.headers), 404, "NOT_FOUND")
    assert_problem(api.client.post(f"/v1/jobs/{job['id']}/retry", headers=alice.headers), 404, "NOT_FOUND")
    assert_problem(api.client.post(f"/v1/jobs/{job['id']}/cancel", headers=alice.headers), 404, "NOT_FOUND")
    assert api.client.get("/v1/jobs", headers=alice.headers).json()["items"] == []
    assert api.client.get("/v1/users/me", headers=alice.headers).json()["credits"] == credits
    audit = api.client.get("/v1/admin/audit", params={"resource_id": job["id"]}, headers=root.headers).json()
    assert {e["action"] for e in audit["items"]} >= {"job.create", "job.cancel", "job.delete"}


def test_jobs_are_found_by_name_prefix_and_creation_time(api: Api) -> None:
    alice = api.register("alice")
    start = api.wiring.clock.now()
    api.job(alice, name="cat_1%")
    api.wiring.clock.advance(60)
    api.job(alice, name="cat_2")
    api.wiring.clock.advance(60)
    api.job(alice, name="dog")
    api.job(alice)

    def names(**query: str) -> list[str | None]:
        response = api.client.get("/v1/jobs", params=query, headers=alice.headers)
        assert response.status_code == 200, response.text
        return [j["name"] for j in response.json()["items"]]

    assert names(name="cat") == ["cat_2", "cat_1%"]
    assert names(name="cat_1%") == ["cat_1%"] and names(name="cat%") == [] and names(name="c_t") == []
    minute = (start + timedelta(seconds=60)).isoformat()
    assert names(created_after=minute) == [None, "dog", "cat_2"]
    assert names(created_before=minute) == ["cat_1%"]
    assert names(created_after=minute, created_before=(start + timedelta(seconds=61)).isoformat()) == ["cat_2"]
    for bad in ("yesterday", "0.5", "2026-12-03"):
        assert_problem(api.client.get("/v1/jobs", params={"created_after": bad}, headers=alice.headers), 422)


def test_a_batch_accepts_or_refuses_each_job_on_its_own(api: Api) -> None:
    alice = api.seeded("alice", quota=msgspec.structs.replace(USER_DEFAULT, max_jobs_per_day=2))
    jobs = [body("one"), {**body("orphan"), "parent_job_id": "nope"}, body("two"), body("three")]
    response = api.client.post("/v1/jobs/batch", headers=alice.headers, json={"jobs": jobs})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [i["status"] for i in answer["items"]] == [202, 404, 202, 429]
    assert [i["index"] for i in answer["items"]] == [0, 1, 2, 3]
    assert (answer["accepted"], answer["refused"]) == (2, 2)
    assert answer["items"][1]["problem"]["code"] == "NOT_FOUND" and answer["items"][1]["job"] is None
    assert answer["items"][3]["problem"]["code"] == "QUOTA_EXCEEDED"
    assert [i["job"]["params"]["prompt"] for i in answer["items"] if i["job"]] == ["one", "two"]


def test_a_batch_sent_again_with_its_key_gives_the_same_jobs(api: Api) -> None:
    alice = api.register("alice")
    key = {"Idempotency-Key": "nightly-42"}
    batch = {"jobs": [body("one"), body("two")]}
    first = api.client.post("/v1/jobs/batch", headers={**alice.headers, **key}, json=batch).json()
    again = api.client.post("/v1/jobs/batch", headers={**alice.headers, **key}, json=batch).json()
    assert [i["job"]["id"] for i in first["items"]] == [i["job"]["id"] for i in again["items"]]
    assert len(api.client.get("/v1/jobs", headers=alice.headers).json()["items"]) == 2
    other = api.client.post("/v1/jobs/batch", headers={**alice.headers, **key},
                            json={"jobs": [body("other"), body("two")]}).json()
    assert [i["status"] for i in other["items"]] == [422, 202]


def test_a_batch_is_1_to_100_jobs_and_needs_the_write_scope(api: Api) -> None:
    alice = api.register("alice")
    for jobs in ([], [body()] * 101):
        assert_problem(api.client.post("/v1/jobs/batch", headers=alice.headers, json={"jobs": jobs}), 422,
                       "VALIDATION_ERROR")
    misfits = ({**body(), "provider_id": "nope"}, {**body(), "params": {}}, {**body(), "input_asset_ids": ["a"]})
    for misfit in misfits:
        refused = api.client.post("/v1/jobs/batch", headers=alice.headers, json={"jobs": [body(), misfit]})
        assert str(assert_problem(refused, 422, "VALIDATION_ERROR")["field"]).startswith("jobs[1]")
    assert api.client.get("/v1/jobs", headers=alice.headers).json()["items"] == []
    reader = api.client.post("/v1/api-keys", headers=alice.headers,
                             json={"name": "r", "scopes": ["jobs:read"]}).json()["key"]
    refused = api.client.post("/v1/jobs/batch", headers={"Authorization": f"Bearer {reader}"},
                              json={"jobs": [body()]})
    assert_problem(refused, 403, "FORBIDDEN")
    full = api.client.post("/v1/jobs/batch", headers=alice.headers, json={"jobs": [body()] * 100})
    assert full.status_code == 200 and full.json()["accepted"] == 100
