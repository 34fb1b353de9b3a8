"""The bridge to punq, and who is calling.

Handlers never build anything: `use_case(CreateJob)` is the one provider, resolving from the
container in `app.state.container` at request time (so a lifespan may swap the container).
"""

from __future__ import annotations

import inspect
from typing import Any

import punq
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.handlers.base import BaseRouteHandler

from application.auth.authenticate import Authenticate, Principal, ReadAccessToken
from application.auth.authenticate_key import AuthenticateKey
from application.auth.known_keys import ReadApiKey
from domain.api_keys import Scope, looks_like_key
from domain.errors import forbidden, unauthenticated
from entrypoints.bootstrap import Ports
from entrypoints.http.errors import ProblemException, ok
from entrypoints.http.scopes import ANY_KEY, required_scope
from entrypoints.http.session_cookie import cookie_token

MAX_TOKEN = 4096
BEARER_SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]


def container_of(connection: ASGIConnection[Any, Any, Any, Any]) -> punq.Container:
    container: punq.Container = connection.app.state.container
    return container


# Everything the container holds is one instance for the app's life (entrypoints/bootstrap.py
# registers instances and singletons only), so each is looked up in punq once, then kept on
# the container: punq's `resolve` walks its registry on every call, tens of µs per request.
_MEMO = "_pixrelay_resolved"


def resolved(connection: ASGIConnection[Any, Any, Any, Any], cls: Any) -> Any:
    container = container_of(connection)
    memo: dict[Any, Any] | None = getattr(container, _MEMO, None)
    if memo is None:
        memo = {}
        setattr(container, _MEMO, memo)
    found = memo.get(cls)
    if found is None:
        found = memo[cls] = container.resolve(cls)
    return found


def ports_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Ports:
    ports: Ports = resolved(connection, Ports)
    return ports


def use_case(cls: type) -> Provide:
    """Provide the use case `cls` from the request's container."""

    def resolve(request: Request[Any, Any, Any]) -> Any:
        return resolved(request, cls)

    return Provide(resolve, sync_to_thread=False)


def use_case_after_caller(cls: type) -> Provide:
    """Provide the use case `cls` once the caller (`principal`) is known. Litestar resolves
    the dependencies of one level together in an anyio task group, about 100 µs of CPU for
    two tasks on these machines; one after the other they cost nothing (and a refused caller
    builds nothing)."""

    def resolve(request: Request[Any, Any, Any], principal: NamedDependency[Principal]) -> Any:
        return resolved(request, cls)

    return Provide(resolve, sync_to_thread=False)


def doc(cls: type) -> str:
    """A use case's docstring (its business rules), as an OpenAPI description."""
    return inspect.cleandoc(cls.__doc__ or "")


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ProblemException(unauthenticated("send Authorization: Bearer <access token>"))
    if len(token) > MAX_TOKEN:
        raise ProblemException(unauthenticated())
    return token


def presented_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The bearer token; without an Authorization header, the console's session cookie."""
    if "authorization" not in connection.headers:
        token = cookie_token(connection)
        if token is not None:
            return token
    return bearer_token(connection)


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The caller, checked once per request (guards and handlers share the answer)."""
    cached = connection.scope.get("auth")
    if isinstance(cached, Principal):
        return cached
    token = presented_token(connection)
    if looks_like_key(token):
        check_key: AuthenticateKey = resolved(connection, AuthenticateKey)
        principal = ok(await check_key(token, client_of(connection)))
        check_scope(connection, principal)
    else:
        check: Authenticate = resolved(connection, Authenticate)
        principal = ok(await check(token))
    connection.scope["auth"] = principal  # where Litestar keeps `request.auth`
    return principal


def client_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return connection.client.host if connection.client else "unknown"


def route_scope(connection: ASGIConnection[Any, Any, Any, Any]) -> Scope | str:
    """The scope an API key needs for this route, or ANY_KEY; 403 when keys may not call it."""
    handler = connection.scope.get("route_handler")
    override = handler.opt.get("scope") if handler is not None else None
    needed = required_scope(str(connection.scope.get("method", "GET")), connection.url.path, override)
    if needed is None:
        raise ProblemException(forbidden("this route needs a signed-in session, not an API key"))
    return needed


def check_scope(connection: ASGIConnection[Any, Any, Any, Any], principal: Principal) -> None:
    """403 unless the API key may call this route (sessions may call every route)."""
    needed = route_scope(connection)
    if needed != ANY_KEY and not principal.allows(Scope(needed)):
        raise ProblemException(forbidden(f"this API key lacks the scope {needed!r}"))


# Route option: the route's use case checks the caller's credential inside its own atomic
# step (one statement with its work), so the guard only checks the token's signature and
# lifetime. Only for use cases that take the credential (application/actor.py credential_of).
CHECKED_IN_STEP: dict[str, Any] = {"credential": "checked_in_step"}


def checked_in_step(handler: BaseRouteHandler) -> bool:
    return bool(handler.opt.get("credential") == CHECKED_IN_STEP["credential"])


def claimed(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The caller as their token says (signature and lifetime checked; kept apart from
    `authenticate`'s answer, which a guard of another route may trust)."""
    cached = connection.scope.get("claimed_principal")
    if isinstance(cached, Principal):
        return cached
    read: ReadAccessToken = resolved(connection, ReadAccessToken)
    principal = ok(read(presented_token(connection)))
    connection.scope["claimed_principal"] = principal  # type: ignore[typeddict-unknown-key]
    return principal


def key_in_step(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """On a CHECKED_IN_STEP route, the caller by an API key this process knows, read with no
    database read: the route's statement checks the key (live, its hash, the route's scope,
    its owner active). None when the key must be checked by its own read (unknown here, a
    different secret, or an admin route); 403 when the key lacks the route's scope."""
    cached = connection.scope.get("key_principal")
    if isinstance(cached, Principal):
        return cached
    needed = route_scope(connection)
    read: ReadApiKey = resolved(connection, ReadApiKey)
    principal = read(presented_token(connection), None if needed == ANY_KEY else Scope(needed))
    if principal is not None:
        check_scope(connection, principal)
        connection.scope["key_principal"] = principal  # type: ignore[typeddict-unknown-key]
    return principal


async def require_user(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard: a valid bearer token, before the body is even read; the session and user are
    checked here too unless the route checks them in its own step (CHECKED_IN_STEP)."""
    if checked_in_step(handler):
        if not presents_key(connection):
            claimed(connection)
            return
        if key_in_step(connection) is not None:
            return
    await authenticate(connection)


async def require_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: an admin (the admin use cases check again)."""
    if not (await authenticate(connection)).is_admin:
        raise ProblemException(forbidden())


def presents_key(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """An API key: checked by its own read (AuthenticateKey, with its scopes), except on a
    CHECKED_IN_STEP route once this process knows the key (`key_in_step`)."""
    return looks_like_key(presented_token(connection))


async def current_principal(request: Request[Any, Any, Any]) -> Principal:
    if checked_in_step(request.route_handler):
        if not presents_key(request):
            return claimed(request)
        known = key_in_step(request)
        if known is not None:
            return known
    return await authenticate(request)


PRINCIPAL = Provide(current_principal)


def uses(**use_cases: type) -> dict[str, Provide]:
    """Route dependencies by parameter name: `uses(create_job=CreateJob)`."""
    return {name: use_case(cls) for name, cls in use_cases.items()}


def uses_after_caller(**use_cases: type) -> dict[str, Provide]:
    """`uses` for a route whose handler takes `principal` (use_case_after_caller)."""
    return {name: use_case_after_caller(cls) for name, cls in use_cases.items()}
