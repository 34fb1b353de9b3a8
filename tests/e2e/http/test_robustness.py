"""No request, however malformed, gets a 500; nobody reaches another user's objects."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from litestar.routes import HTTPRoute

from application.webhooks.deliver import DeliverWebhooks
from tests.e2e.http.conftest import Api, Caller, assert_problem

JSON = {"Content-Type": "application/json"}
GARBAGE_BODIES: list[tuple[bytes, dict[str, str]]] = [
    (b"{", JSON),
    (b"[]", JSON),
    (b"null", JSON),
    (b'"\xff\xfe"', JSON),
    (b'{"unknown_field": 1}', JSON),
    (b'{"email": 5, "password": [], "provider_id": {}, "amount": "x", "label": null, "quota": 7,'
     b' "params": "x", "priority": "high", "refresh_token": 1, "role": 3, "scheduled_at": "soon"}', JSON),
    (b'{"amount": 1e400, "priority": 99999999999999999999999, "credits": -1e30}', JSON),
    (b"[" * 5000 + b"]" * 5000, JSON),
    (b"x" * (2 * 1024 * 1024), JSON),
    (b"--b\r\nContent-Disposition: form-data\r\n\r\n", {"Content-Type": "multipart/form-data; boundary=b"}),
    (b"a=b&c", {"Content-Type": "application/x-www-form-urlencoded"}),
    (b"", {}),
]
GARBAGE_QUERY = ("?limit=abc&cursor=%00%ff!&status=bogus&media_type=x&source=y&direction=z&max_depth=q"
                 "&since=w&until=v&operation_type=o&actor=&provider_id=" + "p" * 3000)
NOT_JSON_ROUTES = {"/metrics", "/health/live", "/health/ready", "/console"}


def routes(api: Api) -> list[tuple[str, str]]:
    found = []
    for route in api.client.app.routes:
        if isinstance(route, HTTPRoute) and not route.path.startswith(("/schema", "/console/static")):
            path = re.sub(r"\{[^}]+\}", "x", route.path)
            found += [(method, path) for method in sorted(route.methods - {"OPTIONS", "HEAD"})]
    return found


def assert_never_500(response: httpx.Response, method: str, path: str) -> None:
    assert response.status_code < 500, (method, path, response.status_code, response.text[:300])
    if response.status_code >= 400 and path.startswith("/openai/"):  # OpenAI's error shape there
        assert response.headers["content-type"] == "application/json", (method, path)
        assert set(response.json()["error"]) == {"message", "type", "code", "param"}, (method, path)
    elif response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json", (method, path)
        assert {"type", "title", "status", "detail", "code"} <= set(response.json())
    elif path not in NOT_JSON_ROUTES and response.status_code != 204:
        assert response.headers["content-type"].startswith(("application/json", "text/event-stream"))


@pytest.mark.parametrize("authenticated", [True, False], ids=["admin", "anonymous"])
def test_garbage_on_every_route_is_a_4xx_problem(api: Api, authenticated: bool) -> None:
    root = api.admin()
    all_routes = routes(api)
    assert len(all_routes) >= 35
    for method, path in all_routes:
        for body, headers in GARBAGE_BODIES:
            # a fresh session each time: logout and revoke-all end the previous one
            auth = api.caller(root.email, root.id).headers if authenticated else {}
            response = api.client.request(method, path + GARBAGE_QUERY, content=body, headers={**headers, **auth})
            assert_never_500(response, method, path)


def test_wrong_methods_and_unknown_paths_are_problems(api: Api) -> None:
    alice = api.register()
    assert_problem(api.client.put("/v1/jobs", headers=alice.headers), 405, "METHOD_NOT_ALLOWED")
    assert "POST" in api.client.put("/v1/jobs").headers["allow"]
    assert_problem(api.client.get("/v1/nothing/here"), 404, "NOT_FOUND")
    assert_problem(api.client.get("/v1/jobs/quote", headers=alice.headers), 405)


def test_a_body_past_the_json_limit_is_413(api: Api) -> None:
    alice = api.register()
    huge = api.client.post("/v1/jobs", headers={**alice.headers, **JSON}, content=b" " * (1024 * 1024 + 1))
    assert_problem(huge, 413, "PAYLOAD_TOO_LARGE")


# ---------------------------------------------------------------- two users

ISOLATED = {
    ("GET", "/v1/jobs/{job_id:str}"), ("POST", "/v1/jobs/{job_id:str}/cancel"),
    ("GET", "/v1/jobs/{job_id:str}/events"), ("GET", "/v1/assets/{asset_id:str}"),
    ("GET", "/v1/assets/{asset_id:str}/content"), ("GET", "/v1/assets/{asset_id:str}/lineage"),
    ("DELETE", "/v1/assets/{asset_id:str}"), ("DELETE", "/v1/accounts/{account_id:str}"),
    ("DELETE", "/v1/auth/sessions/{session_id:str}"),
    ("GET", "/v1/webhook-endpoints/{endpoint_id:str}"), ("PATCH", "/v1/webhook-endpoints/{endpoint_id:str}"),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id:str}"),
    ("POST", "/v1/webhook-endpoints/{endpoint_id:str}/rotate-secret"),
    ("GET", "/v1/webhook-endpoints/{endpoint_id:str}/deliveries"),
    ("POST", "/v1/webhook-endpoints/{endpoint_id:str}/deliveries/{delivery_id:str}/replay"),
    ("GET", "/v1/jobs/{job_id:str}/webhook-deliveries"),
    ("DELETE", "/v1/api-keys/{key_id:str}"),
    ("POST", "/v1/jobs/{job_id:str}/retry"), ("DELETE", "/v1/jobs/{job_id:str}"),
}
# admin: 403 for users (test_admin); models: one catalog every user reads alike (test_models)
NOT_USER_OWNED = ("/v1/admin/", "/v1/webhooks/", "/schema", "/console/static", "/v1/models/", "/openai/v1/models/")


def test_every_route_with_an_id_is_covered_by_the_two_user_test(api: Api) -> None:
    with_ids = {(method, route.path) for route in api.client.app.routes if isinstance(route, HTTPRoute)
                and "{" in route.path and not route.path.startswith(NOT_USER_OWNED)
                for method in route.methods - {"OPTIONS", "HEAD"}}
    assert with_ids == ISOLATED


def test_another_users_objects_are_404(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    hooks = webhook_ids(api, alice)  # first: it runs jobs to the end, the job below must stay pending
    ids = {
        "job_id": api.job(alice)["id"],
        "asset_id": api.upload(alice).json()["id"],
        "account_id": api.client.post("/v1/accounts", headers=alice.headers,
                                      json={"provider_id": "sim", "label": "own", "secret": "k"}).json()["id"],
        "session_id": alice.session_id,
        **hooks,
        "key_id": api.client.post("/v1/api-keys", headers=alice.headers, json={"name": "own"}).json()["id"],
    }
    for method, template in sorted(ISOLATED):
        path = re.sub(r"\{(\w+):str\}", lambda m: ids[m.group(1)], template)
        body = {"json": {}} if method == "PATCH" else {}  # a valid (empty) change: only ownership refuses it
        assert_problem(api.client.request(method, path, headers=bob.headers, **body), 404, "NOT_FOUND")
    mine: dict[str, Any] = api.client.get(f"/v1/jobs/{ids['job_id']}", headers=alice.headers).json()
    assert mine["status"] == "pending"
    assert api.client.get(f"/v1/assets/{ids['asset_id']}/content", headers=alice.headers).status_code == 200
    assert len(api.client.get("/v1/accounts", headers=alice.headers).json()["items"]) == 1
    assert api.client.get("/v1/users/me", headers=alice.headers).status_code == 200
    assert api.client.get(f"/v1/webhook-endpoints/{hooks['endpoint_id']}", headers=alice.headers).status_code == 200
    assert api.client.get("/v1/jobs", headers=bob.headers).json()["items"] == []
    assert api.client.get("/v1/assets", headers=bob.headers).json()["items"] == []


def webhook_ids(api: Api, alice: Caller) -> dict[str, str]:
    """One of alice's webhook endpoints, and one delivery to it (of a finished job)."""
    endpoint = api.client.post("/v1/webhook-endpoints", headers=alice.headers,
                               json={"url": "https://hooks.example.com/x"}).json()["id"]
    api.pool_account()
    api.job(alice)
    api.drain()
    assert api.run(api.wiring.get(DeliverWebhooks)) >= 1
    log = api.client.get(f"/v1/webhook-endpoints/{endpoint}/deliveries", headers=alice.headers).json()
    return {"endpoint_id": endpoint, "delivery_id": log["items"][0]["id"]}


