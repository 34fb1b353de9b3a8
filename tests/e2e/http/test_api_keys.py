"""API keys over HTTP: made once, used as a bearer token, scoped, revoked at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.users import Role
from tests.e2e.http.conftest import Api, Caller, assert_problem

JOB = {"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "a red fox"}}


def make_key(api: Api, who: Caller, **body: Any) -> dict[str, Any]:
    response = api.client.post("/v1/api-keys", headers=who.headers, json={"name": "backend", **body})
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_key_submits_and_reads_jobs_and_stops_at_once_when_revoked(api: Api) -> None:
    alice = api.register("alice")
    made = make_key(api, alice, name="  backend ")
    assert made["name"] == "backend"
    key = made["key"]
    assert key.startswith("pxr_") and made["prefix"].startswith("pxr_") and key.startswith(made["prefix"])
    assert set(made["scopes"]) == {"jobs:read", "jobs:write", "assets:read", "assets:write",
                                   "accounts:read", "accounts:write"}
    job = api.client.post("/v1/jobs", headers=bearer(key), json=JOB)
    assert job.status_code == 202, job.text
    read = api.client.get(f"/v1/jobs/{job.json()['id']}", headers=bearer(key))
    assert read.status_code == 200 and read.json()["id"] == job.json()["id"]
    listed = api.client.get("/v1/api-keys", headers=alice.headers).json()["items"]
    assert [k["id"] for k in listed] == [made["id"]] and "key" not in listed[0]
    assert listed[0]["last_used_at"] is not None
    assert key not in api.client.get("/v1/api-keys", headers=alice.headers).text
    assert api.client.delete(f"/v1/api-keys/{made['id']}", headers=alice.headers).status_code == 204
    assert_problem(api.client.get(f"/v1/jobs/{job.json()['id']}", headers=bearer(key)), 401, "UNAUTHENTICATED")
    assert api.client.get("/v1/api-keys", headers=alice.headers).json()["items"] == []


def test_keys_cannot_manage_keys_or_sessions(api: Api) -> None:
    alice = api.register("alice")
    key = make_key(api, alice)["key"]
    for method, path in (("POST", "/v1/api-keys"), ("GET", "/v1/api-keys"), ("GET", "/v1/auth/sessions"),
                         ("POST", "/v1/auth/logout")):
        response = api.client.request(method, path, headers=bearer(key), json={"name": "more"})
        assert_problem(response, 403, "FORBIDDEN")
    assert api.client.get("/v1/users/me", headers=bearer(key)).json()["id"] == alice.id
    assert api.client.get("/v1/providers", headers=bearer(key)).status_code == 200


def test_a_call_outside_the_keys_scopes_is_forbidden(api: Api) -> None:
    alice = api.register("alice")
    reader = make_key(api, alice, scopes=["jobs:read"])["key"]
    assert api.client.get("/v1/jobs", headers=bearer(reader)).status_code == 200
    assert_problem(api.client.post("/v1/jobs", headers=bearer(reader), json=JOB), 403, "FORBIDDEN")
    assert_problem(api.client.get("/v1/assets", headers=bearer(reader)), 403, "FORBIDDEN")
    assert_problem(api.client.get("/v1/accounts", headers=bearer(reader)), 403, "FORBIDDEN")


def test_scopes_are_checked_when_the_key_is_made(api: Api) -> None:
    alice = api.register("alice")
    for scopes in (["jobs:delete"], []):
        response = api.client.post("/v1/api-keys", headers=alice.headers, json={"name": "x", "scopes": scopes})
        assert str(assert_problem(response, 422, "VALIDATION_ERROR")["field"]).startswith("scopes")
    admin = api.client.post("/v1/api-keys", headers=alice.headers, json={"name": "x", "scopes": ["admin"]})
    assert_problem(admin, 403, "FORBIDDEN")
    for body in ({"name": ""}, {"name": "   "}, {"name": "tab\there"}, {"name": "x" * 101},
                 {"name": "x", "expires_at": "2000-01-01T00:00:00Z"}, {"name": "x", "extra": 1},
                 {"name": "x", "expires_at": "2030-01-01T00:00:00"}, {}):
        assert_problem(api.client.post("/v1/api-keys", headers=alice.headers, json=body), 422, "VALIDATION_ERROR")


def test_an_expired_key_stops(api: Api) -> None:
    alice = api.register("alice")
    soon = (api.wiring.clock.now() + timedelta(minutes=5)).isoformat()
    key = make_key(api, alice, expires_at=soon)["key"]
    assert api.client.get("/v1/jobs", headers=bearer(key)).status_code == 200
    api.wiring.clock.advance(3600)
    assert_problem(api.client.get("/v1/jobs", headers=bearer(key)), 401, "UNAUTHENTICATED")


def test_last_used_is_written_at_most_once_a_minute(api: Api) -> None:
    alice = api.register("alice")
    key = make_key(api, alice)["key"]

    def last_used() -> str:
        return str(api.client.get("/v1/api-keys", headers=alice.headers).json()["items"][0]["last_used_at"])

    api.client.get("/v1/jobs", headers=bearer(key))
    first = last_used()
    api.wiring.clock.advance(30)
    api.client.get("/v1/jobs", headers=bearer(key))
    assert last_used() == first
    api.wiring.clock.advance(31)
    api.client.get("/v1/jobs", headers=bearer(key))
    assert last_used() > first


def test_another_users_key_is_not_found(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    made = make_key(api, alice)
    assert_problem(api.client.delete(f"/v1/api-keys/{made['id']}", headers=bob.headers), 404, "NOT_FOUND")
    assert api.client.get("/v1/api-keys", headers=bob.headers).json()["items"] == []
    assert api.client.get("/v1/jobs", headers=bearer(made["key"])).status_code == 200
    assert_problem(api.client.delete("/v1/api-keys/nope", headers=alice.headers), 404, "NOT_FOUND")


def test_admins_mint_keys_for_users_and_deactivation_stops_them(api: Api) -> None:
    root, alice = api.admin(), api.register("alice")
    minted = api.client.post(f"/v1/admin/users/{alice.id}/api-keys", headers=root.headers, json={"name": "per user"})
    assert minted.status_code == 201, minted.text
    assert minted.json()["user_id"] == alice.id and "admin" not in minted.json()["scopes"]
    key = minted.json()["key"]
    job = api.client.post("/v1/jobs", headers=bearer(key), json=JOB).json()
    assert job["id"] in [j["id"] for j in api.client.get("/v1/jobs", headers=alice.headers).json()["items"]]
    admin_scope = api.client.post(f"/v1/admin/users/{alice.id}/api-keys", headers=root.headers,
                                  json={"name": "x", "scopes": ["admin"]})
    assert_problem(admin_scope, 403, "FORBIDDEN")
    assert_problem(api.client.post("/v1/admin/users/nobody/api-keys", headers=root.headers, json={"name": "x"}),
                   404, "NOT_FOUND")
    assert_problem(api.client.post(f"/v1/admin/users/{alice.id}/api-keys", headers=alice.headers,
                                   json={"name": "x"}), 403, "FORBIDDEN")
    deactivated = api.client.patch(f"/v1/admin/users/{alice.id}", headers=root.headers, json={"is_active": False})
    assert deactivated.status_code == 200, deactivated.text
    assert_problem(api.client.get("/v1/jobs", headers=bearer(key)), 401, "UNAUTHENTICATED")


def test_an_admins_key_needs_the_admin_scope_for_admin_routes(api: Api) -> None:
    root = api.admin()
    full = make_key(api, root)
    assert "admin" in full["scopes"]
    assert api.client.get("/v1/admin/users", headers=bearer(full["key"])).status_code == 200
    alice = api.seeded("alice", Role.USER)
    minted = api.client.post(f"/v1/admin/users/{alice.id}/api-keys", headers=bearer(full["key"]),
                             json={"name": "from a backend"})
    assert minted.status_code == 201, minted.text
    jobs_only = make_key(api, root, scopes=["jobs:read", "jobs:write"])["key"]
    assert_problem(api.client.get("/v1/admin/users", headers=bearer(jobs_only)), 403, "FORBIDDEN")


def test_wrong_keys_are_rate_limited_per_client_and_valid_keys_are_not(api: Api) -> None:
    alice = api.register("alice")
    key = make_key(api, alice)["key"]
    wrong = key[:-6] + "AAAAAA"
    codes = [api.client.get("/v1/jobs", headers=bearer(wrong)).status_code for _ in range(21)]
    assert codes[:20] == [401] * 20 and codes[20] == 429
    limited = api.client.get("/v1/jobs", headers=bearer("pxr_garbage"))
    assert assert_problem(limited, 429, "RATE_LIMITED") and int(limited.headers["retry-after"]) > 0
    assert all(api.client.get("/v1/jobs", headers=bearer(key)).status_code == 200 for _ in range(30))


def test_a_user_holds_at_most_100_keys(api: Api) -> None:
    alice = api.register("alice")
    made = [make_key(api, alice, name=f"k{i}") for i in range(100)]
    assert_problem(api.client.post("/v1/api-keys", headers=alice.headers, json={"name": "one more"}), 409, "CONFLICT")
    assert api.client.delete(f"/v1/api-keys/{made[0]['id']}", headers=alice.headers).status_code == 204
    assert make_key(api, alice, name="now there is room")["key"].startswith("pxr_")
