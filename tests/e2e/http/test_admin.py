"""Admin routes (accounts, users, audit, stats) and users' private accounts, over HTTP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.routes import HTTPRoute

from tests.e2e.http.conftest import Api, assert_problem

SECRET = "sk-very-secret-value"

ADMIN_ROUTES = [
    ("POST", "/v1/admin/accounts", {"provider_id": "sim", "label": "x", "secret": "k"}),
    ("GET", "/v1/admin/accounts", None),
    ("GET", "/v1/admin/accounts/{id}", None),
    ("PATCH", "/v1/admin/accounts/{id}", {"label": "y"}),
    ("DELETE", "/v1/admin/accounts/{id}", None),
    ("POST", "/v1/admin/accounts/{id}/credits", {"amount": 5}),
    ("GET", "/v1/admin/users", None),
    ("PATCH", "/v1/admin/users/{id}", {"is_active": False}),
    ("POST", "/v1/admin/users/{id}/credits", {"amount": 5}),
    ("POST", "/v1/admin/users/{id}/api-keys", {"name": "backend"}),
    ("GET", "/v1/admin/users/{id}/usage", None),
    ("GET", "/v1/admin/users/{id}/ledger", None),
    ("GET", "/v1/admin/audit", None),
    ("GET", "/v1/admin/stats", None),
    ("POST", "/v1/admin/models", {"provider_id": "sim", "remote_id": "x", "operations": {
        "text_to_image": {}}, "price": {"credits_per_unit": 1}}),
    ("PATCH", "/v1/admin/models/{id}", {"name": "y"}),
    ("DELETE", "/v1/admin/models/{id}", None),
]


def test_the_403_test_covers_every_admin_route(api: Api) -> None:
    admin_routes = {(method, re.sub(r"\{\w+:(str|path)\}", "{id}", route.path)) for route in api.client.app.routes
                    if isinstance(route, HTTPRoute) and route.path.startswith("/v1/admin")
                    for method in route.methods - {"OPTIONS", "HEAD"}}
    assert admin_routes == {(method, path) for method, path, _ in ADMIN_ROUTES}


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_admin_routes_are_403_for_users_and_401_without_a_token(api: Api, method: str, path: str,
                                                                  body: dict[str, Any] | None) -> None:
    alice = api.register()
    account = api.pool_account()
    url = path.replace("{id}", account.id if "accounts" in path else "sim/image" if "models" in path else alice.id)
    assert_problem(api.client.request(method, url, headers=alice.headers, json=body), 403, "FORBIDDEN")
    assert_problem(api.client.request(method, url, json=body), 401, "UNAUTHENTICATED")
    assert api.client.get("/v1/users/me", headers=alice.headers).json()["is_active"] is True


def test_account_crud_never_returns_the_secret(api: Api) -> None:
    root = api.admin()
    created = api.client.post("/v1/admin/accounts", headers=root.headers, json={
        "provider_id": "sim", "label": "pool 1", "secret": SECRET, "credits": 100, "max_concurrent_jobs": 3,
        "priority": 7})
    assert created.status_code == 201
    account = created.json()
    assert account["owner_user_id"] is None and account["status"] == "active" and account["current_jobs"] == 0
    assert {"id", "provider_id", "label", "owner_user_id", "status", "credits", "priority",
            "max_concurrent_jobs", "current_jobs", "cooldown_until"} <= set(account)
    url = f"/v1/admin/accounts/{account['id']}"
    assert api.client.get(url, headers=root.headers).json() == account
    listed = api.client.get("/v1/admin/accounts?provider_id=sim", headers=root.headers).json()["items"]
    assert [a["id"] for a in listed] == [account["id"]]
    assert api.client.get("/v1/admin/accounts?provider_id=other", headers=root.headers).json()["items"] == []
    patched = api.client.patch(url, headers=root.headers, json={"label": "renamed", "status": "disabled",
                                                                "secret": "sk-new"})
    assert patched.status_code == 200 and patched.json()["label"] == "renamed"
    assert patched.json()["status"] == "disabled" and patched.json()["priority"] == 7
    credits = api.client.post(f"{url}/credits", headers=root.headers, json={"amount": -40})
    assert credits.status_code == 200 and credits.json()["credits"] == 60
    assert_problem(api.client.post(f"{url}/credits", headers=root.headers, json={"amount": -100}), 422)
    assert_problem(api.client.post(f"{url}/credits", headers=root.headers, json={"amount": 0}), 422)
    assert_problem(api.client.patch(url, headers=root.headers, json={"status": "cooling_down"}), 422)
    assert_problem(api.client.patch(url, headers=root.headers, json={"secret": 5}), 422, "VALIDATION_ERROR")
    for response in (created, patched, credits):
        assert SECRET not in response.text and "secret" not in response.json()
    assert api.client.delete(url, headers=root.headers).status_code == 204
    for method in ("GET", "PATCH", "DELETE"):
        assert_problem(api.client.request(method, url, headers=root.headers, json={}), 404, "NOT_FOUND")
    assert_problem(api.client.post(f"{url}/credits", headers=root.headers, json={"amount": 1}), 404)
    bad = api.client.post("/v1/admin/accounts", headers=root.headers,
                          json={"provider_id": "nope", "label": "x", "secret": "k"})
    assert assert_problem(bad, 422)["field"] == "provider_id"


def test_users_list_patch_and_grant(api: Api) -> None:
    root = api.admin()
    alice = api.register("alice")
    users = api.client.get("/v1/admin/users?limit=1", headers=root.headers).json()
    assert len(users["items"]) == 1 and users["next_cursor"]
    rest = api.client.get(f"/v1/admin/users?cursor={users['next_cursor']}", headers=root.headers).json()
    assert {u["id"] for u in users["items"] + rest["items"]} == {root.id, alice.id}
    url = f"/v1/admin/users/{alice.id}"
    patched = api.client.patch(url, headers=root.headers,
                               json={"quota": {"max_jobs_per_day": 3, "max_storage_bytes": None}})
    assert patched.status_code == 200
    assert patched.json()["quota"] == {"max_jobs_per_day": 3, "max_concurrent_jobs": 4,
                                       "max_storage_bytes": None, "max_private_accounts": 3}
    assert_problem(api.client.patch(url, headers=root.headers, json={"role": "emperor"}), 422, "VALIDATION_ERROR")
    assert_problem(api.client.patch(url, headers=root.headers, json={"quota": {"max_jobs_per_day": -1}}), 422)
    assert_problem(api.client.patch(url, headers=root.headers, json={"quota": {"bogus": 1}}), 422)
    assert_problem(api.client.patch(url, headers=root.headers, json={"quota": {"max_jobs_per_day": 2**70}}), 422)
    assert_problem(api.client.patch(f"/v1/admin/users/{root.id}", headers=root.headers,
                                    json={"is_active": False}), 409, "CONFLICT")
    granted = api.client.post(f"{url}/credits", headers=root.headers, json={"amount": 250, "memo": "promo"})
    assert granted.status_code == 200 and granted.json() == {"user_id": alice.id, "credits": 1250, "credits_held": 0}
    assert_problem(api.client.post(f"{url}/credits", headers=root.headers, json={"amount": 0}), 422)
    assert_problem(api.client.post("/v1/admin/users/nope/credits", headers=root.headers, json={"amount": 1}), 404)
    assert_problem(api.client.patch("/v1/admin/users/nope", headers=root.headers, json={}), 404)
    promoted = api.client.patch(url, headers=root.headers, json={"role": "admin"})
    assert promoted.json()["role"] == "admin"
    assert api.client.get("/v1/admin/stats", headers=alice.headers).status_code == 200  # role applies at once
    off = api.client.patch(url, headers=root.headers, json={"is_active": False})
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert_problem(api.client.get("/v1/users/me", headers=alice.headers), 401)


def test_audit_filters(api: Api) -> None:
    root = api.admin()
    alice = api.register("alice")
    api.job(alice)
    everything = api.client.get("/v1/admin/audit", headers=root.headers).json()["items"]
    assert {"user.register", "session.create", "job.create"} <= {e["action"] for e in everything}
    jobs = api.client.get(f"/v1/admin/audit?actor={alice.id}&action=job.create&resource=job",
                          headers=root.headers).json()["items"]
    assert len(jobs) == 1 and jobs[0]["actor_id"] == alice.id and jobs[0]["at"].endswith("Z")
    timed = api.client.get("/v1/admin/audit?since=2020-01-01T00:00:00Z&until=2100-01-01T00:00:00%2B02:00",
                           headers=root.headers).json()["items"]
    assert len(timed) == len(everything)
    for query in ("since=yesterday", "since=2026-01-01T00:00:00", "until=0001-01-01T00:00:00%2B05:00",
                  "since=2027-01-01T00:00:00Z&until=2026-01-01T00:00:00Z", "cursor=zzz", "limit=-"):
        assert_problem(api.client.get(f"/v1/admin/audit?{query}", headers=root.headers), 422, "VALIDATION_ERROR")


def test_stats_per_provider_and_account(api: Api) -> None:
    root = api.admin()
    alice = api.register("alice")
    account = api.pool_account()
    api.job(alice)
    api.drain()
    stats = api.client.get("/v1/admin/stats", headers=root.headers)
    assert stats.status_code == 200
    [sim] = stats.json()["providers"]
    assert sim["provider_id"] == "sim" and sim["jobs_by_status"]["completed"] == 1
    assert [a["account_id"] for a in sim["accounts"]] == [account.id]
    assert sim["accounts"][0]["success_rate"] == 1.0
    assert sim["daily"] == [{"day": "2026-01-01", "status": "completed", "count": 1}]


def test_private_accounts_add_list_delete_within_quota(api: Api) -> None:
    alice = api.register("alice")
    body = {"provider_id": "sim", "label": "mine", "secret": SECRET, "credits": 10}
    created = [api.client.post("/v1/accounts", headers=alice.headers, json=body) for _ in range(3)]
    assert [r.status_code for r in created] == [201, 201, 201]
    assert created[0].json()["owner_user_id"] == alice.id and SECRET not in created[0].text
    assert_problem(api.client.post("/v1/accounts", headers=alice.headers, json=body), 429, "QUOTA_EXCEEDED")
    listed = api.client.get("/v1/accounts", headers=alice.headers).json()
    assert len(listed["items"]) == 3 and listed["next_cursor"] is None
    first = created[0].json()["id"]
    assert api.client.delete(f"/v1/accounts/{first}", headers=alice.headers).status_code == 204
    assert_problem(api.client.delete(f"/v1/accounts/{first}", headers=alice.headers), 404, "NOT_FOUND")
    shared = api.pool_account()
    assert_problem(api.client.delete(f"/v1/accounts/{shared.id}", headers=alice.headers), 404, "NOT_FOUND")
    assert_problem(api.client.post("/v1/accounts", headers=alice.headers, json={**body, "label": ""}), 422)
    assert_problem(api.client.get("/v1/accounts"), 401)
