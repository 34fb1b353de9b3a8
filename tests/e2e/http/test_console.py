"""The console's cookie session, its page and its offline assets, over HTTP.

The browser tests (tests/browser) drive the same routes through Chromium; these pin the
security properties of the cookies and the CSRF rule exactly."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from pathlib import Path

import httpx

from entrypoints.http.routes_console import STATIC_DIR
from tests.e2e.http.conftest import PASSWORD, Api, assert_problem

CSRF = {"X-Pixrelay-CSRF": "1"}


def sign_in(api: Api, email: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return api.client.post("/console/session", json={"email": email, "password": PASSWORD},
                           headers=CSRF if headers is None else headers)


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie header by cookie name, as sent."""
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


def test_sign_in_puts_the_tokens_in_httponly_strict_cookies_only(api: Api) -> None:
    alice = api.register("alice")
    response = sign_in(api, alice.email)
    assert response.status_code == 200
    assert set(response.json()) == {"session_id", "expires_in"}  # no token in reach of page scripts
    cookies = set_cookies(response)
    for name in ("pixrelay_access", "pixrelay_refresh"):
        attributes = cookies[name].lower()
        assert "httponly" in attributes and "samesite=strict" in attributes and "secure" not in attributes
    assert "path=/console/session" in cookies["pixrelay_refresh"].lower()
    me = api.client.get("/v1/users/me")  # the client keeps the cookies, as a browser does
    assert me.status_code == 200 and me.json()["email"] == alice.email


def test_cookies_are_secure_over_https(api: Api) -> None:
    alice = api.register("alice")
    response = sign_in(api, alice.email, {**CSRF, "X-Forwarded-Proto": "https"})
    assert all("secure" in c.lower() for c in set_cookies(response).values())


def test_signing_in_needs_the_csrf_header_and_the_right_password(api: Api) -> None:
    alice = api.register("alice")
    assert_problem(sign_in(api, alice.email, headers={}), 403, "FORBIDDEN")
    wrong = api.client.post("/console/session", json={"email": alice.email, "password": "not it at all"}, headers=CSRF)
    assert_problem(wrong, 401, "UNAUTHENTICATED")
    assert "set-cookie" not in wrong.headers


def test_a_cookie_authenticated_change_needs_the_csrf_header(api: Api) -> None:
    alice = api.register("alice")
    sign_in(api, alice.email)
    body = {"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "a fox"}}
    forged = api.client.post("/v1/jobs", json=body)  # what a cross-site form could send, cookie and all
    assert "X-Pixrelay-CSRF" in assert_problem(forged, 403, "FORBIDDEN")["detail"]
    assert api.client.get("/v1/jobs").json()["items"] == []
    assert api.client.post("/v1/jobs", json=body, headers=CSRF).status_code == 202
    assert len(api.client.get("/v1/jobs").json()["items"]) == 1  # reads need no header


def test_a_bearer_header_wins_over_the_cookie(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    sign_in(api, alice.email)
    assert api.client.get("/v1/users/me", headers=bob.headers).json()["email"] == bob.email
    assert_problem(api.client.get("/v1/users/me", headers={"Authorization": "Bearer nope"}), 401)


def test_refresh_rotates_and_a_reused_refresh_cookie_ends_the_session(api: Api) -> None:
    alice = api.register("alice")
    first = set_cookies(sign_in(api, alice.email))
    old_refresh = SimpleCookie(first["pixrelay_refresh"])["pixrelay_refresh"].value
    assert_problem(api.client.post("/console/session/refresh"), 403)  # CSRF header here too
    renewed = api.client.post("/console/session/refresh", headers=CSRF)
    assert renewed.status_code == 200 and set(set_cookies(renewed)) == {"pixrelay_access", "pixrelay_refresh"}
    assert api.client.get("/v1/users/me").status_code == 200
    api.client.cookies.set("pixrelay_refresh", old_refresh, path="/console/session")
    assert_problem(api.client.post("/console/session/refresh", headers=CSRF), 401)  # reuse: the session ends
    api.client.cookies.clear()


def test_sign_out_revokes_the_session_and_clears_the_cookies(api: Api) -> None:
    alice = api.register("alice")
    access = SimpleCookie(set_cookies(sign_in(api, alice.email))["pixrelay_access"])["pixrelay_access"].value
    assert_problem(api.client.delete("/console/session"), 403)
    out = api.client.delete("/console/session", headers=CSRF)
    assert out.status_code == 204
    assert all("max-age=0" in c.lower() for c in set_cookies(out).values())
    # the token itself is dead, not just forgotten by the browser
    assert_problem(api.client.get("/v1/users/me", headers={"Authorization": f"Bearer {access}"}), 401)
    assert_problem(api.client.get("/v1/users/me"), 401)


def test_without_any_credentials_the_console_routes_answer_401(api: Api) -> None:
    assert_problem(api.client.delete("/console/session", headers=CSRF), 401, "UNAUTHENTICATED")
    assert_problem(api.client.post("/console/session/refresh", headers=CSRF), 401, "UNAUTHENTICATED")


def test_the_console_page_loads_only_what_this_server_serves(api: Api) -> None:
    page = api.client.get("/console")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    referenced = re.findall(r'(?:src|href)="([^"#]+)"', page.text)
    assert referenced and all(url.startswith("/") for url in referenced), referenced
    for url in referenced:
        if url.startswith("/console/static/"):
            assert api.client.get(url).status_code == 200, url


def test_no_console_file_loads_anything_from_elsewhere() -> None:
    ours = [p for p in STATIC_DIR.rglob("*") if p.is_file() and "vendor" not in p.parts]
    assert any(p.suffix == ".js" for p in ours)
    for path in ours:
        if path.suffix in {".js", ".css", ".html", ".svg"}:
            text = path.read_text()
            assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text.replace("http://www.w3.org/2000/svg", "")), path


def test_the_api_reference_is_served_offline(api: Api) -> None:
    docs = api.client.get("/schema")
    assert docs.status_code == 200
    urls = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", docs.text)
    assert urls and all(url.startswith("/console/static/vendor/") for url in urls), urls
    for url in urls:
        assert api.client.get(url).status_code == 200, url
    vendored = Path(STATIC_DIR, "vendor", "swagger-ui-5.18.2")
    assert "Apache License" in (vendored / "LICENSE").read_text()
    assert "sim text_to_image" in docs.text  # the schema as /schema/openapi.json serves it (one body per operation)
