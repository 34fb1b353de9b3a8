"""Outbound webhook routes over the in-memory wiring: CRUD, ownership (404), problems, and
deliveries checked with the reference `standardwebhooks` verifier."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from adapters.memory.webhook_sender import RecordingWebhookSender, SentWebhook
from application.webhooks.deliver import DeliverWebhooks
from tests.e2e.http.conftest import Api, Caller, assert_problem

URL = "https://hooks.example.com/pixrelay"


def sender(api: Api) -> RecordingWebhookSender:
    recorder = api.wiring.ports.webhook_sender
    assert isinstance(recorder, RecordingWebhookSender)
    return recorder


def deliver(api: Api) -> int:
    return api.run(api.wiring.get(DeliverWebhooks))


def now_for_verifiers(api: Api) -> None:
    """The verifier compares `webhook-timestamp` with the real clock (5 minutes' tolerance)."""
    api.wiring.clock.set(datetime.now(UTC))


def create(api: Api, who: Caller, **body: Any) -> dict[str, Any]:
    response = api.client.post("/v1/webhook-endpoints", headers=who.headers, json={"url": URL, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def verified(secret: str, sent: SentWebhook) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(sent.body, sent.headers)
    return payload


def finished_job(api: Api, who: Caller, **extra: Any) -> dict[str, Any]:
    api.pool_account()
    job = api.job(who, **extra)
    api.drain()
    done: dict[str, Any] = api.client.get(f"/v1/jobs/{job['id']}", headers=who.headers).json()
    assert done["status"] == "completed", done
    return done


def test_an_endpoint_is_made_shown_changed_and_removed(api: Api) -> None:
    alice = api.register("alice")
    made = create(api, alice, description="orders")
    assert made["secret"].startswith("whsec_") and made["events"] == ["job.completed", "job.failed", "job.cancelled"]
    listed = api.client.get("/v1/webhook-endpoints", headers=alice.headers).json()
    assert [e["id"] for e in listed["items"]] == [made["id"]] and listed["next_cursor"] is None
    one = api.client.get(f"/v1/webhook-endpoints/{made['id']}", headers=alice.headers).json()
    assert "secret" not in one and one["description"] == "orders" and one["disabled"] is False
    changed = api.client.patch(f"/v1/webhook-endpoints/{made['id']}", headers=alice.headers,
                               json={"events": ["job.failed"], "disabled": True})
    assert changed.status_code == 200, changed.text
    assert changed.json()["events"] == ["job.failed"]
    assert changed.json()["disabled"] and changed.json()["disabled_reason"] == "disabled by its owner"
    enabled = api.client.patch(f"/v1/webhook-endpoints/{made['id']}", headers=alice.headers, json={"disabled": False})
    assert enabled.json()["disabled"] is False and enabled.json()["disabled_reason"] is None
    assert api.client.delete(f"/v1/webhook-endpoints/{made['id']}", headers=alice.headers).status_code == 204
    assert_problem(api.client.get(f"/v1/webhook-endpoints/{made['id']}", headers=alice.headers), 404, "NOT_FOUND")


def test_another_users_endpoint_and_deliveries_are_404_on_every_route(api: Api) -> None:
    now_for_verifiers(api)
    alice, mallory = api.register("alice"), api.register("mallory")
    made = create(api, alice)
    finished_job(api, alice)
    assert deliver(api) == 1
    delivery = api.client.get(f"/v1/webhook-endpoints/{made['id']}/deliveries", headers=alice.headers).json()
    delivery_id = delivery["items"][0]["id"]
    base = f"/v1/webhook-endpoints/{made['id']}"
    attempts = [
        api.client.get(base, headers=mallory.headers),
        api.client.patch(base, headers=mallory.headers, json={"disabled": True}),
        api.client.delete(base, headers=mallory.headers),
        api.client.post(f"{base}/rotate-secret", headers=mallory.headers),
        api.client.get(f"{base}/deliveries", headers=mallory.headers),
        api.client.post(f"{base}/deliveries/{delivery_id}/replay", headers=mallory.headers),
    ]
    for response in attempts:
        assert_problem(response, 404, "NOT_FOUND")
    mine = create(api, mallory)  # a delivery id of another endpoint, under one's own
    assert_problem(api.client.post(f"/v1/webhook-endpoints/{mine['id']}/deliveries/{delivery_id}/replay",
                                   headers=mallory.headers), 404, "NOT_FOUND")
    assert api.client.get(base, headers=alice.headers).json()["disabled"] is False  # untouched


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "http://hooks.example.com/x"}, "url"),  # http, with private targets not allowed
    ({"url": "https://localhost/x"}, "url"),
    ({"url": "https://user:pw@example.com/x"}, "url"),
    ({"url": "https://10.0.0.1/x"}, None),  # IP literals are refused by the schema itself
    ({"url": URL, "events": ["job.started"]}, None),
    ({"url": URL, "events": []}, None),
    ({"url": URL, "secret": "mine"}, None),
])
def test_bad_endpoints_are_422_problems(api: Api, body: dict[str, Any], field: str | None) -> None:
    alice = api.register("alice")
    problem = assert_problem(api.client.post("/v1/webhook-endpoints", headers=alice.headers, json=body),
                             422, "VALIDATION_ERROR")
    if field:
        assert problem.get("field") == field, problem


def test_a_malformed_cursor_and_no_token_are_problems(api: Api) -> None:
    alice = api.register("alice")
    made = create(api, alice)
    assert_problem(api.client.get(f"/v1/webhook-endpoints/{made['id']}/deliveries?cursor=zz", headers=alice.headers),
                   422, "VALIDATION_ERROR")
    assert_problem(api.client.get("/v1/webhook-endpoints"), 401, "UNAUTHENTICATED")


def test_a_finished_job_is_delivered_signed_with_the_job_and_its_assets(api: Api) -> None:
    now_for_verifiers(api)
    alice = api.register("alice")
    made = create(api, alice)
    create(api, alice, url="https://other.example.com/x", events=["job.failed"])  # not this event
    job = finished_job(api, alice)
    assert deliver(api) == 1
    [sent] = sender(api).sent
    assert sent.url == URL
    assert sent.headers["webhook-id"] == f"msg_{job['id']}_completed"
    payload = verified(made["secret"], sent)
    assert payload["type"] == "job.completed"
    assert payload["data"]["job"] == job  # as GET /v1/jobs/{id} shows it
    [asset] = payload["data"]["assets"]
    assert asset["id"] == job["result_asset_ids"][0]
    assert asset["content_url"] == f"/v1/assets/{asset['id']}/content"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB").verify(sent.body, sent.headers)
    log = api.client.get(f"/v1/webhook-endpoints/{made['id']}/deliveries", headers=alice.headers).json()
    [entry] = log["items"]
    assert entry["status"] == "delivered" and entry["webhook_id"] == sent.headers["webhook-id"]
    assert [(a["status_code"], a["error"]) for a in entry["attempts"]] == [(200, None)]


def test_after_a_rotation_both_secrets_sign_for_a_day(api: Api) -> None:
    now_for_verifiers(api)
    alice = api.register("alice")
    made = create(api, alice)
    rotated = api.client.post(f"/v1/webhook-endpoints/{made['id']}/rotate-secret", headers=alice.headers)
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != made["secret"] and rotated.json()["previous_secret_expires_at"]
    finished_job(api, alice)
    deliver(api)
    [sent] = sender(api).sent
    assert len(sent.headers["webhook-signature"].split(" ")) == 2
    assert verified(new_secret, sent)["type"] == "job.completed"
    assert verified(made["secret"], sent)["type"] == "job.completed"


def test_a_failing_receiver_is_retried_on_the_schedule_and_replays_resend(api: Api) -> None:
    now_for_verifiers(api)
    alice = api.register("alice")
    made = create(api, alice)
    finished_job(api, alice)
    sender(api).answers = [500, 503]
    assert deliver(api) == 1
    assert deliver(api) == 0  # not due yet: 5 s later
    api.wiring.clock.advance(5)
    assert deliver(api) == 1
    api.wiring.clock.advance(299)
    assert deliver(api) == 0
    api.wiring.clock.advance(1)
    assert deliver(api) == 1
    log = api.client.get(f"/v1/webhook-endpoints/{made['id']}/deliveries", headers=alice.headers).json()
    [entry] = log["items"]
    assert entry["status"] == "delivered"
    assert [a["status_code"] for a in entry["attempts"]] == [500, 503, 200]
    assert entry["attempts"][0]["next_attempt_at"] is not None
    assert len({s.headers["webhook-id"] for s in sender(api).sent}) == 1  # one message, three attempts
    replay = api.client.post(f"/v1/webhook-endpoints/{made['id']}/deliveries/{entry['id']}/replay",
                             headers=alice.headers)
    assert replay.status_code == 202, replay.text
    assert replay.json()["replay_of"] == entry["id"] and replay.json()["status"] == "pending"
    assert deliver(api) == 1
    first, last = sender(api).sent[0], sender(api).sent[-1]
    assert last.headers["webhook-id"] == first.headers["webhook-id"] and last.body == first.body


def test_an_endpoint_failing_for_a_day_is_disabled_with_the_reason(api: Api) -> None:
    alice = api.register("alice")
    made = create(api, alice)
    finished_job(api, alice)
    sender(api).answers = [500] * 10
    for wait in (0, 5, 300, 1800, 7200, 18000, 36000, 36000):
        api.wiring.clock.advance(wait)
        deliver(api)
    alice = api.caller(alice.email, alice.id)  # a day later: a fresh token
    endpoint = api.client.get(f"/v1/webhook-endpoints/{made['id']}", headers=alice.headers).json()
    assert endpoint["disabled"] is True, endpoint
    assert "without a break" in endpoint["disabled_reason"] and "HTTP 500" in endpoint["disabled_reason"]
    entry = api.client.get(f"/v1/webhook-endpoints/{made['id']}/deliveries", headers=alice.headers).json()["items"][0]
    assert entry["status"] == "failed" and len(entry["attempts"]) == 8  # the first and 7 retries, over 27 h
    assert entry["next_attempt_at"] is None
    finished_job(api, alice)
    assert deliver(api) == 0  # a disabled endpoint is sent nothing
    api.client.patch(f"/v1/webhook-endpoints/{made['id']}", headers=alice.headers, json={"disabled": False})
    sender(api).answers = []
    replay = api.client.post(f"/v1/webhook-endpoints/{made['id']}/deliveries/{entry['id']}/replay",
                             headers=alice.headers)
    assert replay.status_code == 202
    assert deliver(api) == 1
    latest = api.client.get(f"/v1/webhook-endpoints/{made['id']}/deliveries", headers=alice.headers).json()["items"][0]
    assert latest["id"] == replay.json()["id"] and latest["status"] == "delivered"


def test_a_job_webhook_url_is_signed_with_the_users_default_secret(api: Api) -> None:
    now_for_verifiers(api)
    alice = api.register("alice")
    job = finished_job(api, alice, webhook_url="https://app.example.com/done",
                       webhook_events_filter=["job.completed"])
    assert job["webhook_url"] == "https://app.example.com/done"
    deliver(api)
    [sent] = sender(api).sent
    assert sent.url == "https://app.example.com/done"
    secret = api.client.get("/v1/users/me/webhook-secret", headers=alice.headers).json()["secret"]
    assert secret == api.client.get("/v1/users/me/webhook-secret", headers=alice.headers).json()["secret"]
    assert verified(secret, sent)["data"]["job"]["id"] == job["id"]


def test_a_jobs_deliveries_show_every_target_and_attempt(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    made = create(api, alice)
    job = finished_job(api, alice, webhook_url="https://app.example.com/done")
    sender(api).answers = [503]
    deliver(api)
    api.wiring.clock.advance(5)
    deliver(api)
    listed = api.client.get(f"/v1/jobs/{job['id']}/webhook-deliveries", headers=alice.headers)
    assert listed.status_code == 200, listed.text
    by_target = {(d["endpoint_id"], d["url"]): d for d in listed.json()["items"]}
    assert set(by_target) == {(made["id"], None), (None, "https://app.example.com/done")}
    assert sorted(len(d["attempts"]) for d in by_target.values()) == [1, 2]  # one of them failed first
    assert all(d["status"] == "delivered" for d in by_target.values())
    assert_problem(api.client.get(f"/v1/jobs/{job['id']}/webhook-deliveries", headers=bob.headers), 404, "NOT_FOUND")


def test_a_job_webhook_url_must_be_https_and_events_known(api: Api) -> None:
    alice = api.register("alice")
    base = {"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "x"}}
    for extra in ({"webhook_url": "http://app.example.com/x"}, {"webhook_url": "https://localhost/x"},
                  {"webhook_url": URL, "webhook_events_filter": ["job.started"]}):
        assert_problem(api.client.post("/v1/jobs", headers=alice.headers, json={**base, **extra}),
                       422, "VALIDATION_ERROR")


def test_the_openapi_names_every_webhook_operation(api: Api) -> None:
    schema = api.client.get("/schema/openapi.json").json()
    ids = {op.get("operationId") for item in schema["paths"].values() for op in item.values() if isinstance(op, dict)}
    assert {"createWebhookEndpoint", "listWebhookEndpoints", "getWebhookEndpoint", "updateWebhookEndpoint",
            "deleteWebhookEndpoint", "rotateWebhookEndpointSecret", "listWebhookDeliveries",
            "replayWebhookDelivery", "getWebhookSigningSecret", "listJobWebhookDeliveries"} <= ids
    url_schema = json.dumps(schema["components"]["schemas"]["WebhookEndpointIn"]["properties"]["url"])
    assert "^https://" in url_schema and "https?" not in url_schema  # private targets are not allowed here
