"""What each provider offers: operations, param schemas, prices."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.di import NamedDependency

from application.auth.authenticate import Principal
from application.jobs.waiting import UsableProviders
from entrypoints.http.deps import BEARER_SECURITY, ports_of, require_user, uses
from entrypoints.http.errors import problems
from entrypoints.http.schemas_jobs import ProviderList, provider_out


@get("/", operation_id="listProviders", summary="Providers", responses=problems(401), dependencies=uses(usable=UsableProviders),
     description=(
         "The providers this gateway offers, each with its operations, the JSON schema of each "
         "operation's params, its price in credits, and whether it has an account able to run "
         "the caller's jobs (`has_usable_accounts`: shared, or the caller's own; not disabled or "
         "exhausted). Jobs for a provider without one wait with `waiting_reason` `no_account`."))
async def providers(request: Request[Any, Any, Any], principal: NamedDependency[Principal],
                    usable: NamedDependency[UsableProviders]) -> ProviderList:
    offered = ports_of(request).providers.all()
    with_accounts = await usable(principal, [p.id for p in offered])
    return ProviderList(items=[provider_out(p, p.id in with_accounts) for p in offered])


router = Router(path="/v1/providers", tags=["providers"], guards=[require_user], security=BEARER_SECURITY,
                route_handlers=[providers])
