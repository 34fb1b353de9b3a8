"""Jobs over HTTP: submit, idempotency, quote, list, get, cancel, events; providers."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from tests.e2e.http.conftest import Api, Caller, assert_problem


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of each event in a text/event-stream body; comments skipped."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n") if line and not line.startswith(":"))
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_providers_list_operations_schemas_and_prices(api: Api) -> None:
    alice = api.register()
    response = api.client.get("/v1/providers", headers=alice.headers)
    assert response.status_code == 200
    [sim] = response.json()["items"]
    assert sim["id"] == "sim" and sim["name"]
    image = next(op for op in sim["operations"] if op["operation_type"] == "text_to_image")
    assert "prompt" in image["params_schema"]["properties"]
    assert image["price"] == {"credits_per_unit": 1, "unit": "image", "quantity_param": "num_images"}
    assert_problem(api.client.get("/v1/providers"), 401)


def test_submit_gives_202_and_the_job(api: Api) -> None:
    alice = api.register()
    job = api.job(alice, params={"num_images": 1})
    assert job["status"] == "pending" and job["provider_id"] == "sim" and job["attempts"] == 0
    assert job["params"]["prompt"] == "a red fox" and job["result_asset_ids"] == []
    assert job["created_at"].endswith("Z") and job["completed_at"] is None
    expected = {"id", "status", "provider_id", "operation_type", "params", "priority", "attempts",
                "max_attempts", "error_code", "error_message", "result_asset_ids", "parent_job_id",
                "scheduled_at", "created_at", "started_at", "completed_at"}
    assert expected <= set(job)
    me = api.client.get("/v1/users/me", headers=alice.headers).json()
    assert me["credits"] == 999 and me["credits_held"] == 1


def test_submit_errors_are_problems(api: Api) -> None:
    alice = api.register()

    def submit(body: dict[str, Any]) -> Any:
        return api.client.post("/v1/jobs", headers=alice.headers, json=body)

    base = {"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "x"}}
    assert assert_problem(submit({**base, "provider_id": "nope"}), 422)["field"] == "provider_id"
    assert_problem(submit({**base, "operation_type": "paint"}), 422, "VALIDATION_ERROR")
    assert assert_problem(submit({**base, "params": {}}), 422)["field"] == "params"
    assert_problem(submit({**base, "priority": 11}), 422, "VALIDATION_ERROR")
    assert_problem(submit({**base, "scheduled_at": "2026-01-01T00:00:00"}), 422, "VALIDATION_ERROR")
    for out_of_range in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"):
        assert_problem(submit({**base, "scheduled_at": out_of_range}), 422, "VALIDATION_ERROR")
    assert_problem(submit({**base, "input_asset_ids": ["missing"], "operation_type": "image_to_image"}),
                   404, "NOT_FOUND")
    assert_problem(submit({**base, "parent_job_id": "missing"}), 404, "NOT_FOUND")
    assert_problem(submit({**base, "params": {"prompt": "x", "num_images": 4}, "bogus": 1}), 422)
    assert_problem(api.client.post("/v1/jobs", json=base), 401, "UNAUTHENTICATED")
    assert api.client.get("/v1/jobs", headers=alice.headers).json()["items"] == []


def test_insufficient_credits_is_402(api: Api) -> None:
    poor = api.seeded("poor", credits=5)
    body = {"provider_id": "sim", "operation_type": "text_to_video", "params": {"prompt": "x", "seconds": 10}}
    response = api.client.post("/v1/jobs", headers=poor.headers, json=body)
    assert_problem(response, 402, "INSUFFICIENT_CREDITS")


def test_daily_quota_is_429_with_retry_after(api: Api) -> None:
    alice = api.register()
    for _ in range(100):
        api.job(alice)
    over = api.client.post("/v1/jobs", headers=alice.headers,
                           json={"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "x"}})
    assert_problem(over, 429, "QUOTA_EXCEEDED")
    assert int(over.headers["retry-after"]) > 0


def test_idempotency_key_replays_the_same_job_and_refuses_another_body(api: Api) -> None:
    alice = api.register()
    body = {"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "same"}}
    key = {"Idempotency-Key": "order-42", **alice.headers}
    first = api.client.post("/v1/jobs", headers=key, json=body)
    again = api.client.post("/v1/jobs", headers=key, json=body)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    other = api.client.post("/v1/jobs", headers=key, json={**body, "params": {"prompt": "other"}})
    assert_problem(other, 422, "IDEMPOTENCY_MISMATCH")
    too_long = api.client.post("/v1/jobs", headers={"Idempotency-Key": "k" * 300, **alice.headers}, json=body)
    assert_problem(too_long, 422, "VALIDATION_ERROR")
    assert len(api.client.get("/v1/jobs", headers=alice.headers).json()["items"]) == 1


def test_quote_prices_without_creating(api: Api) -> None:
    alice = api.register()
    body = {"provider_id": "sim", "operation_type": "text_to_video", "params": {"prompt": "x", "seconds": 6}}
    quoted = api.client.post("/v1/jobs/quote", headers=alice.headers, json=body)
    assert quoted.status_code == 200 and quoted.json() == {"credits": 6}
    assert api.client.get("/v1/jobs", headers=alice.headers).json()["items"] == []
    assert_problem(api.client.post("/v1/jobs/quote", headers=alice.headers, json={**body, "provider_id": "x"}), 422)
    assert_problem(api.client.post("/v1/jobs/quote", json=body), 401)


def test_list_filters_and_pages(api: Api) -> None:
    alice = api.register()
    ids = [api.job(alice, prompt=f"p{i}", workspace_id="ws" if i % 2 else None)["id"] for i in range(5)]
    first = api.client.get("/v1/jobs?limit=2", headers=alice.headers).json()
    assert [j["id"] for j in first["items"]] == ids[::-1][:2] and first["next_cursor"]
    second = api.client.get(f"/v1/jobs?limit=2&cursor={first['next_cursor']}", headers=alice.headers).json()
    assert [j["id"] for j in second["items"]] == ids[::-1][2:4]
    in_ws = api.client.get("/v1/jobs?workspace_id=ws", headers=alice.headers).json()["items"]
    assert {j["id"] for j in in_ws} == {ids[1], ids[3]}
    pending = api.client.get("/v1/jobs?status=pending&provider_id=sim&operation_type=text_to_image",
                             headers=alice.headers).json()["items"]
    assert len(pending) == 5
    assert api.client.get("/v1/jobs?status=completed", headers=alice.headers).json()["items"] == []
    capped = api.client.get("/v1/jobs?limit=1000", headers=alice.headers)
    assert capped.status_code == 200 and len(capped.json()["items"]) == 5
    for query in ("status=bogus", "operation_type=paint", "limit=abc", "cursor=!!!", "cursor=bm90LWpzb24"):
        assert_problem(api.client.get(f"/v1/jobs?{query}", headers=alice.headers), 422, "VALIDATION_ERROR")


def test_get_and_cancel(api: Api) -> None:
    alice = api.register()
    job = api.job(alice)
    got = api.client.get(f"/v1/jobs/{job['id']}", headers=alice.headers)
    assert got.status_code == 200
    # GET says why a pending job waits (here: no account at all); the rest is the job as created
    assert {**got.json(), "waiting_reason": None} == job and got.json()["waiting_reason"] == "no_account"
    cancelled = api.client.post(f"/v1/jobs/{job['id']}/cancel", headers=alice.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = api.client.post(f"/v1/jobs/{job['id']}/cancel", headers=alice.headers)
    assert_problem(again, 409, "INVALID_TRANSITION")
    assert_problem(api.client.get("/v1/jobs/nope", headers=alice.headers), 404, "NOT_FOUND")
    assert_problem(api.client.post("/v1/jobs/nope/cancel", headers=alice.headers), 404, "NOT_FOUND")
    assert api.client.get("/v1/users/me", headers=alice.headers).json()["credits"] == 1000


def test_events_of_a_finished_job_give_its_status_and_end(api: Api) -> None:
    alice = api.register()
    api.pool_account()
    job = api.job(alice)
    api.drain()
    response = api.client.get(f"/v1/jobs/{job['id']}/events", headers=alice.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    [(name, data)] = sse_events(response.text)
    assert name == "job.status" and data["status"] == "completed" and data["id"] == job["id"]


def test_events_stream_until_the_job_completes(api: Api) -> None:
    alice, job = stream_target(api)
    received: dict[str, Any] = {}

    def listen() -> None:
        received["response"] = api.client.get(f"/v1/jobs/{job['id']}/events", headers=alice.headers)

    listener = threading.Thread(target=listen)
    listener.start()
    deadline = time.monotonic() + 5
    while api.wiring.ports.events.subscriber_count(job["id"]) == 0:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the stream never subscribed"
        time.sleep(0.01)
    api.drain()
    listener.join(timeout=5)
    assert not listener.is_alive(), "the stream did not end after job.completed"
    events = sse_events(received["response"].text)
    names = [name for name, _ in events]
    assert names[0] == "job.status" and events[0][1]["status"] == "pending"
    assert names[-1] == "job.completed"
    assert {"job.started", "account.selected", "provider.submitted", "asset.created"} <= set(names)
    assert all("user_id" not in data for _, data in events)
    assert events[-1][1]["result_asset_ids"] and events[-1][1]["at"].endswith("Z")


def stream_target(api: Api) -> tuple[Caller, dict[str, Any]]:
    alice = api.register()
    api.pool_account()
    return alice, api.job(alice)


def test_events_of_an_unknown_job_are_404(api: Api) -> None:
    alice = api.register()
    assert_problem(api.client.get("/v1/jobs/nope/events", headers=alice.headers), 404, "NOT_FOUND")
    assert_problem(api.client.get("/v1/jobs/nope/events"), 401)


def test_a_child_job_cannot_use_another_users_parent_or_inputs(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    parent = api.job(alice)
    asset = api.upload(alice).json()
    body = {"provider_id": "sim", "operation_type": "image_to_image", "params": {"prompt": "x"}}
    as_parent = api.client.post("/v1/jobs", headers=bob.headers, json={**body, "parent_job_id": parent["id"]})
    assert_problem(as_parent, 404, "NOT_FOUND")
    as_input = api.client.post("/v1/jobs", headers=bob.headers, json={**body, "input_asset_ids": [asset["id"]]})
    assert_problem(as_input, 404, "NOT_FOUND")
