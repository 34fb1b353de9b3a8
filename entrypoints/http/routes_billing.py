"""Usage day by day and the credits ledger: one's own, and any user's for admins. JSON, or
CSV with `Accept: text/csv`."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, cast

from litestar import Request, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from application.actor import Actor
from application.auth.authenticate import Principal
from application.billing.history import GetLedger, GetUsage
from domain.errors import validation
from domain.pagination import MAX_PAGE
from entrypoints.http.deps import BEARER_SECURITY, doc, require_admin, require_user, uses
from entrypoints.http.errors import ProblemException, ok, problems
from entrypoints.http.schemas_billing import (
    LEDGER_FIELDS,
    USAGE_FIELDS,
    LedgerList,
    UsageList,
    as_csv,
    ledger_entry_out,
    usage_day_out,
)

CSV = "text/csv"
JSON = "application/json"
MAX_EXPORT_PAGES = 1000  # 100 000 movements in one CSV export
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
CSV_NOTE = "\n\nSend `Accept: text/csv` for the same rows as CSV (the ledger: every movement, not one page)."
From = Annotated[date | None, QueryParameter(name="from", description="first UTC day (YYYY-MM-DD), included")]
To = Annotated[date | None, QueryParameter(name="to", description="last UTC day (YYYY-MM-DD), included")]


def wants_csv(request: Request[Any, Any, Any]) -> bool:
    return request.accept.best_match([JSON, CSV], default=JSON) == CSV


def check_days(request: Request[Any, Any, Any]) -> None:
    for name in ("from", "to"):
        raw = request.query_params.get(name)
        if raw is not None and not DAY.fullmatch(raw):
            raise ProblemException(validation(f"{name} must be a day as YYYY-MM-DD", name))


async def _usage(request: Request[Any, Any, Any], get_usage: GetUsage, actor: Actor, user_id: str,
                 first: date | None, last: date | None) -> Response[UsageList]:
    check_days(request)
    rows = ok(await get_usage(actor, user_id, first, last))
    if wants_csv(request):
        return cast(Response[UsageList], Response(as_csv(USAGE_FIELDS, map(usage_day_out, rows)), media_type=CSV))
    return Response(UsageList(items=[usage_day_out(u) for u in rows]))


async def _ledger(request: Request[Any, Any, Any], get_ledger: GetLedger, actor: Actor, user_id: str,
                  cursor: str | None, limit: int | None) -> Response[LedgerList]:
    if not wants_csv(request):
        page = ok(await get_ledger(actor, user_id, cursor, limit))
        return Response(LedgerList(items=[ledger_entry_out(e) for e in page.items], next_cursor=page.next_cursor))
    entries = []
    for _ in range(MAX_EXPORT_PAGES):
        page = ok(await get_ledger(actor, user_id, cursor, MAX_PAGE))
        entries += [ledger_entry_out(e) for e in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    return cast(Response[LedgerList], Response(as_csv(LEDGER_FIELDS, entries), media_type=CSV))


@get("/me/usage", summary="My usage by day", operation_id="getMyUsage", description=doc(GetUsage) + CSV_NOTE,
     dependencies=uses(get_usage=GetUsage), responses=problems(401, 403, 422))
async def my_usage(request: Request[Any, Any, Any], principal: NamedDependency[Principal],
                   get_usage: NamedDependency[GetUsage], first: From = None, last: To = None) -> Response[UsageList]:
    return await _usage(request, get_usage, principal, principal.user_id, first, last)


@get("/me/ledger", summary="My credit movements", operation_id="listMyLedger", description=doc(GetLedger) + CSV_NOTE,
     dependencies=uses(get_ledger=GetLedger), responses=problems(401, 403, 422))
async def my_ledger(request: Request[Any, Any, Any], principal: NamedDependency[Principal],
                    get_ledger: NamedDependency[GetLedger], cursor: FromQuery[str | None] = None,
                    limit: FromQuery[int | None] = None) -> Response[LedgerList]:
    return await _ledger(request, get_ledger, principal, principal.user_id, cursor, limit)


@get("/users/{user_id:str}/usage", summary="A user's usage by day", operation_id="getUserUsage",
     description=doc(GetUsage) + CSV_NOTE, dependencies=uses(get_usage=GetUsage), responses=problems(401, 403, 404, 422))
async def user_usage(request: Request[Any, Any, Any], user_id: FromPath[str], principal: NamedDependency[Principal],
                     get_usage: NamedDependency[GetUsage], first: From = None, last: To = None) -> Response[UsageList]:
    return await _usage(request, get_usage, principal, user_id, first, last)


@get("/users/{user_id:str}/ledger", summary="A user's credit movements", operation_id="listUserLedger",
     description=doc(GetLedger) + CSV_NOTE, dependencies=uses(get_ledger=GetLedger),
     responses=problems(401, 403, 404, 422))
async def user_ledger(request: Request[Any, Any, Any], user_id: FromPath[str], principal: NamedDependency[Principal],
                      get_ledger: NamedDependency[GetLedger], cursor: FromQuery[str | None] = None,
                      limit: FromQuery[int | None] = None) -> Response[LedgerList]:
    return await _ledger(request, get_ledger, principal, user_id, cursor, limit)


router = Router(path="/v1/users", tags=["users"], guards=[require_user], security=BEARER_SECURITY,
                route_handlers=[my_usage, my_ledger])
admin_router = Router(path="/v1/admin", tags=["admin"], guards=[require_admin], security=BEARER_SECURITY,
                      route_handlers=[user_usage, user_ledger])
