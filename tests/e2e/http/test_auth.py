"""Sign-up, log-in, refresh rotation, log-out, sessions and the profile, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from application.policy import AuthPolicy, Policies
from tests.e2e.http.conftest import PASSWORD, Api, assert_problem, serve
from tests.support.wiring import memory_wiring


def test_register_gives_the_user_with_quota_usage_and_credits(api: Api) -> None:
    response = api.client.post("/v1/auth/register",
                               json={"email": "Ada@Example.com", "username": "ada", "password": PASSWORD})
    assert response.status_code == 201
    user = response.json()
    assert set(user) >= {"id", "email", "username", "role", "is_active", "quota", "usage", "credits"}
    assert user["email"] == "ada@example.com" and user["role"] == "user" and user["is_active"] is True
    assert user["credits"] == 1000 and user["quota"]["max_jobs_per_day"] == 100
    assert user["created_at"].endswith("Z")
    assert "password" not in response.text and "password_hash" not in user


def test_register_conflicts_and_validation(api: Api) -> None:
    api.register("ada")
    again = api.client.post("/v1/auth/register",
                            json={"email": "ADA@example.com", "username": "other", "password": PASSWORD})
    assert_problem(again, 409, "CONFLICT")
    short = api.client.post("/v1/auth/register", json={"email": "b@example.com", "username": "bob", "password": "x"})
    assert assert_problem(short, 422, "VALIDATION_ERROR")["field"] == "password"
    bad_email = api.client.post("/v1/auth/register", json={"email": "nope", "username": "bob", "password": PASSWORD})
    assert assert_problem(bad_email, 422)["field"] == "email"
    missing = api.client.post("/v1/auth/register", json={"email": "b@example.com"})
    assert_problem(missing, 422, "VALIDATION_ERROR")


def test_login_gives_a_token_pair_and_wrong_passwords_are_401(api: Api) -> None:
    alice = api.register("alice")
    body = api.login(alice.email).json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "session_id"}
    wrong = api.login(alice.email, "wrong-password")
    assert_problem(wrong, 401, "UNAUTHENTICATED")
    assert wrong.headers["www-authenticate"].startswith("Bearer")
    assert_problem(api.login("nobody@example.com"), 401, "UNAUTHENTICATED")


def test_me_needs_a_valid_bearer_token(api: Api) -> None:
    alice = api.register("alice")
    me = api.client.get("/v1/users/me", headers=alice.headers)
    assert me.status_code == 200 and me.json()["id"] == alice.id
    assert me.json()["usage"]["jobs_created"] == 0
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"},
                    {"Authorization": "Bearer not-a-token"}, {"Authorization": "Bearer " + "x" * 5000}):
        response = api.client.get("/v1/users/me", headers=headers)
        assert_problem(response, 401, "UNAUTHENTICATED")
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_refresh_rotates_and_reuse_revokes_the_session(api: Api) -> None:
    alice = api.register("alice")
    first = api.client.post("/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert first.status_code == 200
    pair = first.json()
    assert pair["refresh_token"] != alice.refresh_token and pair["session_id"] == alice.session_id
    new_headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert api.client.get("/v1/users/me", headers=new_headers).status_code == 200
    reuse = api.client.post("/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert_problem(reuse, 401, "UNAUTHENTICATED")
    assert_problem(api.client.get("/v1/users/me", headers=new_headers), 401)
    assert_problem(api.client.post("/v1/auth/refresh", json={"refresh_token": "garbage"}), 401)


def test_logout_stops_the_access_token_at_once(api: Api) -> None:
    alice = api.register("alice")
    assert api.client.post("/v1/auth/logout", headers=alice.headers).status_code == 204
    assert_problem(api.client.get("/v1/users/me", headers=alice.headers), 401, "UNAUTHENTICATED")
    assert_problem(api.client.post("/v1/auth/logout", headers=alice.headers), 401)


def test_sessions_list_revoke_one_and_revoke_all(api: Api) -> None:
    alice = api.register("alice")
    second = api.caller(alice.email, alice.id)
    listed = api.client.get("/v1/auth/sessions", headers=alice.headers)
    assert listed.status_code == 200
    body = listed.json()
    assert body["next_cursor"] is None
    assert {s["id"] for s in body["items"]} == {alice.session_id, second.session_id}
    assert [s["current"] for s in body["items"] if s["id"] == alice.session_id] == [True]
    assert "refresh_hash" not in listed.text
    ended = api.client.delete(f"/v1/auth/sessions/{second.session_id}", headers=alice.headers)
    assert ended.status_code == 204
    assert_problem(api.client.get("/v1/users/me", headers=second.headers), 401)
    assert_problem(api.client.delete("/v1/auth/sessions/nope", headers=alice.headers), 404, "NOT_FOUND")
    third = api.caller(alice.email, alice.id)
    revoked = api.client.post("/v1/auth/sessions/revoke-all", headers=third.headers)
    assert revoked.status_code == 200 and revoked.json() == {"revoked": 2}
    assert_problem(api.client.get("/v1/users/me", headers=third.headers), 401)


@pytest.fixture
def strict_api() -> Iterator[Api]:
    policy = AuthPolicy(login_attempts_per_client=3, login_attempts_per_email=100)
    yield from serve(memory_wiring(policies=Policies(auth=policy)))


def test_login_is_rate_limited_per_client_address(strict_api: Api) -> None:
    for _ in range(3):
        assert_problem(strict_api.login("who@example.com", "wrong-password"), 401)
    limited = strict_api.login("who@example.com", "wrong-password")
    assert_problem(limited, 429, "RATE_LIMITED")
    assert int(limited.headers["retry-after"]) >= 1
