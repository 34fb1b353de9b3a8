"""The real server believes X-Forwarded-For only from PIXRELAY_TRUSTED_PROXIES (none by
default, not even loopback): the address on sessions and in the audit log cannot be forged,
and it is the one the login limits count by."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import Server

ADMIN = {"email": "root@example.com", "password": "correct horse battery"}
ALICE = {"email": "alice@example.com", "username": "alice", "password": "correct horse battery"}


@pytest.fixture(params=["", "127.0.0.1"], ids=["default", "behind-a-local-proxy"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Server, str]]:
    env = {"PIXRELAY_PROVIDERS": "sim", "PIXRELAY_ADMIN_EMAIL": ADMIN["email"],
           "PIXRELAY_ADMIN_PASSWORD": ADMIN["password"]}
    if request.param:
        env["PIXRELAY_TRUSTED_PROXIES"] = request.param
    running = Server(tmp_path, env)
    running.start()
    yield running, request.param
    running.stop_if_running()


def test_the_client_address_on_sessions_and_in_the_audit(server: tuple[Server, str]) -> None:
    running, trusted = server
    expected = "198.51.100.7" if trusted else "127.0.0.1"
    with httpx.Client(base_url=running.url, timeout=30) as client:
        assert client.post("/v1/auth/register", json=ALICE).status_code == 201
        login = client.post("/v1/auth/login", json={"email": ALICE["email"], "password": ALICE["password"]},
                            headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.7"})
        assert login.status_code == 200, login.text
        mine = {"Authorization": f"Bearer {login.json()['access_token']}"}
        [session] = client.get("/v1/auth/sessions", headers=mine).json()["items"]
        assert session["client_ip"] == expected

        root = client.post("/v1/auth/login", json=ADMIN).json()["access_token"]
        audit = client.get("/v1/admin/audit", params={"action": "session.create", "limit": 50},
                           headers={"Authorization": f"Bearer {root}"})
        assert audit.status_code == 200, audit.text
        created = [e for e in audit.json()["items"] if e["resource_id"] == session["id"]]
        assert [e["details"]["client_ip"] for e in created] == [expected]
