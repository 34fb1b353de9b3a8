"""Changing one's password over HTTP: the other sessions end, this one stays."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.http.conftest import PASSWORD, Api, assert_problem, serve
from tests.support.wiring import memory_wiring

NEW = "a much better passphrase"


def test_changing_the_password_ends_the_other_sessions(api: Api) -> None:
    alice = api.register("alice")
    phone = api.caller(alice.email, alice.id)
    changed = api.client.post("/v1/auth/password", headers=alice.headers,
                              json={"current_password": PASSWORD, "new_password": NEW})
    assert changed.status_code == 204, changed.text
    assert api.client.get("/v1/users/me", headers=alice.headers).status_code == 200
    assert_problem(api.client.get("/v1/users/me", headers=phone.headers), 401, "UNAUTHENTICATED")
    refreshed = api.client.post("/v1/auth/refresh", json={"refresh_token": phone.refresh_token})
    assert_problem(refreshed, 401, "UNAUTHENTICATED")
    assert_problem(api.login(alice.email, PASSWORD), 401, "UNAUTHENTICATED")
    assert api.login(alice.email, NEW).status_code == 200


@pytest.fixture
def strict_api() -> Iterator[Api]:
    """The default limits: 10 wrong passwords per user and window."""
    yield from serve(memory_wiring())


def test_a_wrong_current_password_is_forbidden_and_rate_limited(strict_api: Api) -> None:
    api = strict_api
    alice = api.register("alice")
    body = {"current_password": "not my password", "new_password": NEW}
    codes = [api.client.post("/v1/auth/password", headers=alice.headers, json=body).status_code for _ in range(11)]
    assert codes == [403] * 10 + [429]
    assert api.login(alice.email, PASSWORD).status_code == 200


def test_bad_bodies_are_422_and_keys_cannot_change_passwords(api: Api) -> None:
    alice = api.register("alice")
    for body in ({"current_password": PASSWORD, "new_password": "short"}, {"current_password": PASSWORD},
                 {"current_password": PASSWORD, "new_password": NEW, "extra": 1}):
        assert_problem(api.client.post("/v1/auth/password", headers=alice.headers, json=body), 422,
                       "VALIDATION_ERROR")
    assert_problem(api.client.post("/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW}),
                   401, "UNAUTHENTICATED")
    key = api.client.post("/v1/api-keys", headers=alice.headers, json={"name": "k"}).json()["key"]
    attempt = api.client.post("/v1/auth/password", headers={"Authorization": f"Bearer {key}"},
                              json={"current_password": PASSWORD, "new_password": NEW})
    assert_problem(attempt, 403, "FORBIDDEN")
