"""The Litestar application of docs/SPEC.md §5, on top of the use cases in the container."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from importlib.metadata import PackageNotFoundError, version

import punq
from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope

from entrypoints.http import (
    routes_accounts,
    routes_admin,
    routes_api_keys,
    routes_assets,
    routes_auth,
    routes_billing,
    routes_console,
    routes_jobs,
    routes_jobs_more,
    routes_models,
    routes_openai,
    routes_ops,
    routes_providers,
    routes_users,
    routes_webhook_endpoints,
    routes_webhooks,
)
from entrypoints.http.api_reference import OfflineSwagger
from entrypoints.http.deps import PRINCIPAL
from entrypoints.http.errors import EXCEPTION_HANDLERS
from entrypoints.http.metrics import Metrics, ProviderHealth, count_response, metrics_middleware
from entrypoints.http.openapi import ServedSchema, strict_json_body
from entrypoints.http.request_id import request_id_middleware
from entrypoints.http.routes_ops import ReadinessCheck
from entrypoints.settings import IPNetwork

JSON_BODY_LIMIT = 1024 * 1024  # every route but uploads (which stream and cap themselves)

Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


def _version() -> str:
    try:
        return version("pixrelay")
    except PackageNotFoundError:
        return "0.0.0"


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="pixrelay", version=_version(), path="/schema",
        render_plugins=[OfflineSwagger(), ServedSchema()],
        description="One HTTP API for generative media providers: jobs, assets with lineage, "
                    "quotas, credits, provider account pools. Errors are RFC 9457 problems "
                    "(application/problem+json) with a stable `code`.",
        components=Components(security_schemes={"bearer": SecurityScheme(
            type="http", scheme="bearer", bearer_format="JWT",
            description="The access token from POST /v1/auth/login"), "metricsToken": SecurityScheme(
            type="http", scheme="bearer", description="PIXRELAY_METRICS_TOKEN, for GET /metrics only")}),
    )


def create_app(container: punq.Container, *, lifespan: Lifespan | None = None, debug: bool = False,
               readiness_checks: Sequence[ReadinessCheck] = (),
               guarded_providers: Sequence[ProviderHealth] = (), metrics: Metrics | None = None,
               metrics_token: str | None = None, trusted_proxies: Sequence[IPNetwork] = ()) -> Litestar:
    """The API over `container`, kept in `app.state.container` (a lifespan may replace it).

    `readiness_checks` add to the built-in ones (database, blob store, providers);
    `guarded_providers` are the circuit-breaking provider clients whose state /metrics and
    /health/ready report; `metrics` (new when not given) is where they are kept, shared with a
    worker in the same process; `metrics_token` may read /metrics besides admins;
    `trusted_proxies` are the peers whose X-Forwarded-For names the client."""
    return Litestar(
        route_handlers=[routes_auth.router, routes_users.router, routes_providers.router, routes_jobs.router,
                        routes_assets.router, routes_accounts.router, routes_admin.router,
                        routes_webhooks.router, routes_webhook_endpoints.router,
                        routes_webhook_endpoints.secret_router, routes_webhook_endpoints.job_router,
                        routes_ops.router,
                        routes_api_keys.router, routes_api_keys.admin_router, routes_jobs_more.router,
                        routes_billing.router, routes_billing.admin_router, routes_openai.router,
                        routes_models.router, routes_models.admin_router,
                        routes_console.console_page, routes_console.session_router, routes_console.static_router],
        dependencies={"principal": PRINCIPAL},
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=JSON_BODY_LIMIT,
        before_send=[count_response, AllowEveryMethod()],
        before_request=strict_json_body,
        lifespan=[lifespan] if lifespan is not None else [],
        openapi_config=openapi_config(),
        state=State({"container": container, "metrics": metrics or Metrics(), "metrics_token": metrics_token,
                     "trusted_proxies": list(trusted_proxies),
                     "readiness_checks": list(readiness_checks), "guarded_providers": list(guarded_providers)}),
        middleware=[request_id_middleware, metrics_middleware],
        logging_config=None,  # entrypoints.logs owns logging
        debug=debug,
    )


class AllowEveryMethod:
    """`before_send`: an OPTIONS answer's Allow header names every method of its path.

    Litestar 2 names only those of the first handler registered on a path
    (litestar-org/litestar#4169, fixed in v3): `OPTIONS /v1/jobs` said `OPTIONS, POST`."""

    def __init__(self) -> None:
        self._allow: dict[str, bytes] | None = None

    async def __call__(self, message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
            return
        if self._allow is None:
            self._allow = {route.path_format: ", ".join(sorted(route.methods)).encode()
                           for route in scope["app"].routes if isinstance(route, HTTPRoute)}
        allow = self._allow.get(str(scope.get("path_template", "")))
        if allow is not None:
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
            message["headers"] = [*headers, (b"allow", allow)]
