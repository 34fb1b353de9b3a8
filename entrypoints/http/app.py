"""The Litestar application of SPEC §5, on top of the use cases in the container."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import punq
from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from entrypoints.http import (
    routes_accounts,
    routes_admin,
    routes_assets,
    routes_auth,
    routes_jobs,
    routes_ops,
    routes_providers,
    routes_users,
    routes_webhooks,
)
from entrypoints.http.deps import PRINCIPAL
from entrypoints.http.errors import EXCEPTION_HANDLERS
from entrypoints.http.metrics import ProviderHealth, RequestCounter
from entrypoints.http.request_id import request_id_middleware
from entrypoints.http.routes_ops import ReadinessCheck

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
        render_plugins=[ScalarRenderPlugin(), ProblemsOnlyJson()],
        description="One HTTP API for generative media providers: jobs, assets with lineage, "
                    "quotas, credits, provider account pools. Errors are RFC 9457 problems "
                    "(application/problem+json) with a stable `code`.",
        components=Components(security_schemes={"bearer": SecurityScheme(
            type="http", scheme="bearer", bearer_format="JWT",
            description="The access token from POST /v1/auth/login")}),
    )


def create_app(container: punq.Container, *, lifespan: Lifespan | None = None, debug: bool = False,
               readiness_checks: Sequence[ReadinessCheck] = (),
               guarded_providers: Sequence[ProviderHealth] = ()) -> Litestar:
    """The API over `container`, kept in `app.state.container` (a lifespan may replace it).

    `readiness_checks` add to the built-in ones (database, blob store, providers);
    `guarded_providers` are the circuit-breaking provider clients whose state /metrics and
    /health/ready report."""
    counter = RequestCounter()
    return Litestar(
        route_handlers=[routes_auth.router, routes_users.router, routes_providers.router, routes_jobs.router,
                        routes_assets.router, routes_accounts.router, routes_admin.router,
                        routes_webhooks.router, routes_ops.router],
        dependencies={"principal": PRINCIPAL},
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=JSON_BODY_LIMIT,
        before_send=[counter],
        lifespan=[lifespan] if lifespan is not None else [],
        openapi_config=openapi_config(),
        state=State({"container": container, "request_counter": counter,
                     "readiness_checks": list(readiness_checks), "guarded_providers": list(guarded_providers)}),
        middleware=[request_id_middleware],
        logging_config=None,  # entrypoints.logs owns logging
        debug=debug,
    )


class ProblemsOnlyJson(JsonRenderPlugin):
    """/schema/openapi.json without the 400 Litestar documents for every route with
    parameters: this API answers malformed requests with a 422 problem (each route lists
    its own). Done when the schema is served, so building the app stays cheap."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        for item in openapi_schema.get("paths", {}).values():
            for operation in item.values():
                if isinstance(operation, dict):
                    operation.get("responses", {}).pop("400", None)
        return super().render(request, openapi_schema)
