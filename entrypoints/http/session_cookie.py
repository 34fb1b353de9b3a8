"""The console's session cookies: the API's own tokens, kept where page scripts cannot read them.

The console signs in through `POST /console/session`, which puts the access token and the
refresh token in HttpOnly, SameSite=Strict cookies (Secure when the request came over https).
The API then accepts the access cookie wherever it accepts `Authorization: Bearer`.

Cross-site requests never carry a SameSite=Strict cookie; as a second lock, a
cookie-authenticated request with an unsafe method must also send `X-Pixrelay-CSRF: 1`, a
custom header that another origin cannot add without a CORS preflight this server never grants.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie

from domain.errors import forbidden
from entrypoints.http.errors import ProblemException

ACCESS_COOKIE = "pixrelay_access"
REFRESH_COOKIE = "pixrelay_refresh"
REFRESH_PATH = "/console/session"
CSRF_HEADER = "x-pixrelay-csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_COOKIE = 4096


def cookie_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The access token of the console's cookie, or None when there is none.

    An unsafe method without the CSRF header is refused (403), whatever the token."""
    token = connection.cookies.get(ACCESS_COOKIE)
    if not token or len(token) > MAX_COOKIE:
        return None
    require_csrf_header(connection)
    return token


def require_csrf_header(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    if connection.scope.get("method", "GET") not in SAFE_METHODS and connection.headers.get(CSRF_HEADER) != "1":
        raise ProblemException(forbidden("a change made with the console's cookie needs the header "
                                         "X-Pixrelay-CSRF: 1"))


def is_https(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    # A proxy's X-Forwarded-Proto can only make the cookie stricter, never looser.
    forwarded = connection.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return connection.url.scheme == "https" or forwarded == "https"


def session_cookies(connection: ASGIConnection[Any, Any, Any, Any], access_token: str, refresh_token: str,
                    expires_in: int) -> list[Cookie]:
    secure = is_https(connection)
    return [
        Cookie(key=ACCESS_COOKIE, value=access_token, path="/", max_age=expires_in, httponly=True,
               samesite="strict", secure=secure),
        # a browser-session cookie, sent only to the refresh and sign-out routes
        Cookie(key=REFRESH_COOKIE, value=refresh_token, path=REFRESH_PATH, httponly=True, samesite="strict",
               secure=secure),
    ]


def cleared_cookies() -> list[Cookie]:
    """Both cookies, expired (what sign-out answers with; a deletion needs no Secure flag)."""
    return [Cookie(key=ACCESS_COOKIE, value="", path="/", max_age=0, httponly=True, samesite="strict"),
            Cookie(key=REFRESH_COOKIE, value="", path=REFRESH_PATH, max_age=0, httponly=True, samesite="strict")]
