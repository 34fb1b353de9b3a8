"""The web console: its page, its static files, and its cookie session.

The console is one HTML page (`/console`) with plain ES modules and CSS under
`/console/static` (no build step, nothing from a CDN). It talks to the same `/v1` API as
every client; only signing in differs: `POST /console/session` keeps the tokens in HttpOnly
cookies (see `entrypoints.http.session_cookie`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response, Router, delete, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.static_files import create_static_files_router

from application.auth.authenticate import Principal
from application.auth.login import LogIn
from application.auth.refresh import RefreshSession
from application.auth.sessions import LogOut
from domain.errors import unauthenticated
from entrypoints.http.client_address import client_of
from entrypoints.http.deps import doc, require_user, uses
from entrypoints.http.errors import ProblemException, ok, problems
from entrypoints.http.schemas_users import LoginIn
from entrypoints.http.session_cookie import (
    REFRESH_COOKIE,
    cleared_cookies,
    require_csrf_header,
    session_cookies,
)

CONSOLE_DIR = Path(__file__).parent / "console"
STATIC_DIR = CONSOLE_DIR / "static"


class ConsoleSessionOut(msgspec.Struct, kw_only=True):
    session_id: str
    expires_in: int  # seconds the access cookie lives; the console refreshes after


@get("/console", include_in_schema=False, media_type="text/html",
     cache_control=CacheControlHeader(no_cache=True))
async def console_page() -> Response[bytes]:
    page = (CONSOLE_DIR / "index.html").read_bytes()
    # The page loads only what this server serves (its scripts, styles and media, and this API).
    policy = ("default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
              "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
              "base-uri 'none'; form-action 'self'")
    return Response(page, media_type="text/html", headers={
        "Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})


@post("/session", operation_id="signInToConsole", status_code=200, summary="Sign in to the console",
      description="Log in (as `POST /v1/auth/login`) with the tokens put in HttpOnly, SameSite=Strict "
                  "cookies instead of the body. Needs the header `X-Pixrelay-CSRF: 1`.\n\n" + doc(LogIn),
      dependencies=uses(log_in=LogIn), responses=problems(401, 403, 422, 429))
async def sign_in(request: Request[Any, Any, Any], data: JSONBody[LoginIn],
                  log_in: NamedDependency[LogIn]) -> Response[ConsoleSessionOut]:
    require_csrf_header(request)
    tokens = ok(await log_in(data.email, data.password, client_of(request), request.headers.get("user-agent")))
    return Response(ConsoleSessionOut(session_id=tokens.session_id, expires_in=tokens.expires_in),
                    cookies=session_cookies(request, tokens.access_token, tokens.refresh_token, tokens.expires_in))


@post("/session/refresh", operation_id="refreshConsoleSession", status_code=200, summary="Renew the console's session",
      description="Rotate the refresh cookie and renew the access cookie (as `POST /v1/auth/refresh`). "
                  "Needs the header `X-Pixrelay-CSRF: 1`.",
      dependencies=uses(refresh_session=RefreshSession), responses=problems(401, 403))
async def refresh(request: Request[Any, Any, Any],
                  refresh_session: NamedDependency[RefreshSession]) -> Response[ConsoleSessionOut]:
    require_csrf_header(request)
    token = request.cookies.get(REFRESH_COOKIE, "")
    if not token or len(token) > 1024:
        raise ProblemException(unauthenticated("no console session: sign in"))
    tokens = ok(await refresh_session(token))
    return Response(ConsoleSessionOut(session_id=tokens.session_id, expires_in=tokens.expires_in),
                    cookies=session_cookies(request, tokens.access_token, tokens.refresh_token, tokens.expires_in))


@delete("/session", operation_id="signOutOfConsole", status_code=204, summary="Sign out of the console",
        description="Revoke the console's session at once (as `POST /v1/auth/logout`) and clear its cookies.",
        guards=[require_user], dependencies=uses(log_out=LogOut), responses=problems(401, 403),
        response_cookies=cleared_cookies())
async def sign_out(principal: NamedDependency[Principal], log_out: NamedDependency[LogOut]) -> None:
    ok(await log_out(principal.session_id))


session_router = Router(path="/console", tags=["console"], route_handlers=[sign_in, refresh, sign_out])
static_router = create_static_files_router(
    path="/console/static", directories=[STATIC_DIR], name="console-static",
    cache_control=CacheControlHeader(max_age=300), include_in_schema=False)
