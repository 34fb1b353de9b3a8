"""The API over the in-memory wiring, driven through Litestar's TestClient.

All access to the wiring goes through the client's event loop (`api.run(...)`): the
in-memory store's lock binds to the loop that first uses it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from litestar.testing import TestClient

from adapters.media import png
from application.pipeline.run import DrainOnce
from application.policy import AuthPolicy, Policies
from domain.accounts import ProviderAccount
from domain.users import Role
from entrypoints.http.app import create_app
from tests.support.seed import add_account, add_user
from tests.support.wiring import Wiring, memory_wiring

T = TypeVar("T")
PASSWORD = "password123"
PNG = png(16, 16, seed=1)
# Many logins from the one test client address: keep the per-client limit out of the way.
ROOMY_AUTH = AuthPolicy(login_attempts_per_client=10_000, login_attempts_per_email=10_000)


@dataclass(frozen=True)
class Caller:
    id: str
    email: str
    headers: dict[str, str]
    session_id: str
    refresh_token: str


@dataclass
class Api:
    client: TestClient[Any]
    wiring: Wiring

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return self.client.blocking_portal.call(fn, *args)

    def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return self.client.post("/v1/auth/login", json={"email": email, "password": password})

    def caller(self, email: str, user_id: str) -> Caller:
        response = self.login(email)
        assert response.status_code == 200, response.text
        body = response.json()
        return Caller(user_id, email, {"Authorization": f"Bearer {body['access_token']}"},
                      body["session_id"], body["refresh_token"])

    def register(self, name: str = "alice") -> Caller:
        email = f"{name}@example.com"
        response = self.client.post("/v1/auth/register",
                                    json={"email": email, "username": name, "password": PASSWORD})
        assert response.status_code == 201, response.text
        return self.caller(email, response.json()["id"])

    def seeded(self, name: str, role: Role = Role.USER, **kwargs: Any) -> Caller:
        stub = self.run(lambda: add_user(self.wiring, name, role=role, **kwargs))
        return self.caller(f"{name}@example.com", stub.user_id)

    def admin(self, name: str = "root") -> Caller:
        return self.seeded(name, Role.ADMIN)

    def pool_account(self, **kwargs: Any) -> ProviderAccount:
        return self.run(lambda: add_account(self.wiring, **kwargs))

    def drain(self, rounds: int = 5) -> None:
        drain = self.wiring.get(DrainOnce)
        for _ in range(rounds):
            if not self.run(drain):
                return

    def upload(self, who: Caller, data: bytes = PNG, filename: str = "in.png", **form: str) -> httpx.Response:
        return self.client.post("/v1/assets", headers=who.headers, data=form,
                                files={"file": (filename, data, "application/octet-stream")})

    def job(self, who: Caller, prompt: str = "a red fox", params: dict[str, Any] | None = None,
            **extra: Any) -> dict[str, Any]:
        body = {"provider_id": "sim", "operation_type": "text_to_image",
                "params": {"prompt": prompt, **(params or {})}, **extra}
        response = self.client.post("/v1/jobs", headers=who.headers, json=body)
        assert response.status_code == 202, response.text
        job: dict[str, Any] = response.json()
        return job


def serve(wiring: Wiring) -> Iterator[Api]:
    with TestClient(create_app(wiring.container)) as client:
        yield Api(client, wiring)


@pytest.fixture
def api() -> Iterator[Api]:
    yield from serve(memory_wiring(policies=Policies(auth=ROOMY_AUTH)))


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "code"} <= set(body), body
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body
