"""What each provider offers: operations, param schemas, prices."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get

from entrypoints.http.deps import BEARER_SECURITY, ports_of, require_user
from entrypoints.http.errors import problems
from entrypoints.http.schemas_jobs import ProviderList, provider_out


@get("/", operation_id="listProviders", summary="Providers", responses=problems(401), description=(
    "The providers this gateway offers, each with its operations, the JSON schema of each "
    "operation's params and its price in credits."))
async def providers(request: Request[Any, Any, Any]) -> ProviderList:
    return ProviderList(items=[provider_out(p) for p in ports_of(request).providers.all()])


router = Router(path="/v1/providers", tags=["providers"], guards=[require_user], security=BEARER_SECURITY,
                route_handlers=[providers])
