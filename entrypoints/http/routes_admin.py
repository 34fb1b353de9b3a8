"""Administration: the shared account pool, users, the audit log and statistics (admins only)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from litestar import Request, Router, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from application.accounts.admin import (
    AddAccountCredits,
    CreateAccount,
    DeleteAccount,
    GetAccount,
    ListAccounts,
    UpdateAccount,
)
from application.admin.audit_log import ListAudit
from application.admin.stats import ProviderStats
from application.auth.authenticate import Principal
from application.users.admin import GrantCredits, ListUsers, UpdateUser
from domain.audit import AuditFilter
from domain.errors import validation
from domain.users import Role
from entrypoints.http.deps import BEARER_SECURITY, doc, require_admin, uses
from entrypoints.http.errors import ProblemException, ok, problems
from entrypoints.http.schemas_accounts import (
    AccountCreditsIn,
    AccountIn,
    AccountList,
    AccountOut,
    AccountPatchIn,
    account_out,
)
from entrypoints.http.schemas_admin import AuditList, StatsOut, audit_out, stats_out
from entrypoints.http.schemas_common import fits_utc
from entrypoints.http.schemas_users import (
    BalanceOut,
    GrantIn,
    QuotaPatchIn,
    UserList,
    UserOut,
    UserPatchIn,
    balance_out,
    user_out,
)

# Litestar reads a date-time query leniently (`0.5` is a Unix time); the schema says RFC 3339.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")

# ---------------------------------------------------------------- accounts


@post("/accounts", operation_id="createPoolAccount", status_code=201, summary="Add a pool account", description=doc(CreateAccount),
      dependencies=uses(create_account=CreateAccount), responses=problems(401, 403, 422))
async def create_pool_account(data: JSONBody[AccountIn], principal: NamedDependency[Principal],
                              create_account: NamedDependency[CreateAccount]) -> AccountOut:
    view = ok(await create_account(principal, provider_id=data.provider_id, label=data.label, secret=data.secret,
                                   credits=data.credits, max_concurrent_jobs=data.max_concurrent_jobs,
                                   priority=data.priority))
    return account_out(view)


@get("/accounts", operation_id="listAccounts", summary="All accounts", description=doc(ListAccounts),
     dependencies=uses(list_accounts=ListAccounts), responses=problems(401, 403))
async def all_accounts(principal: NamedDependency[Principal], list_accounts: NamedDependency[ListAccounts],
                       provider_id: FromQuery[str | None] = None) -> AccountList:
    return AccountList(items=[account_out(a) for a in ok(await list_accounts(principal, provider_id))])


@get("/accounts/{account_id:str}", operation_id="getAccount", summary="One account", description=doc(GetAccount),
     dependencies=uses(get_account=GetAccount), responses=problems(401, 403, 404))
async def one_account(account_id: FromPath[str], principal: NamedDependency[Principal],
                      get_account: NamedDependency[GetAccount]) -> AccountOut:
    return account_out(ok(await get_account(principal, account_id)))


@patch("/accounts/{account_id:str}", operation_id="updateAccount", summary="Change an account", description=doc(UpdateAccount),
       dependencies=uses(update_account=UpdateAccount), responses=problems(401, 403, 404, 409, 422))
async def change_account(account_id: FromPath[str], data: JSONBody[AccountPatchIn], principal: NamedDependency[Principal],
                         update_account: NamedDependency[UpdateAccount]) -> AccountOut:
    return account_out(ok(await update_account(principal, account_id, data.to_domain())))


@delete("/accounts/{account_id:str}", operation_id="deleteAccount", status_code=204, summary="Remove an account",
        description=doc(DeleteAccount), dependencies=uses(delete_account=DeleteAccount),
        responses=problems(401, 403, 404, 409))
async def remove_account(account_id: FromPath[str], principal: NamedDependency[Principal],
                         delete_account: NamedDependency[DeleteAccount]) -> None:
    ok(await delete_account(principal, account_id))


@post("/accounts/{account_id:str}/credits", operation_id="adjustAccountCredits", status_code=200, summary="Add or remove account credits",
      description=doc(AddAccountCredits), dependencies=uses(add_credits=AddAccountCredits),
      responses=problems(401, 403, 404, 422))
async def account_credits(account_id: FromPath[str], data: JSONBody[AccountCreditsIn], principal: NamedDependency[Principal],
                          add_credits: NamedDependency[AddAccountCredits]) -> AccountOut:
    return account_out(ok(await add_credits(principal, account_id, data.amount)))


# ---------------------------------------------------------------- users


@get("/users", operation_id="listUsers", summary="All users", description=doc(ListUsers), dependencies=uses(list_users=ListUsers),
     responses=problems(401, 403, 422))
async def all_users(principal: NamedDependency[Principal], list_users: NamedDependency[ListUsers],
                    cursor: FromQuery[str | None] = None, limit: FromQuery[int | None] = None) -> UserList:
    page = ok(await list_users(principal, cursor, limit))
    return UserList(items=[user_out(p) for p in page.items], next_cursor=page.next_cursor)


@patch("/users/{user_id:str}", operation_id="updateUser", summary="Change a user", description=doc(UpdateUser),
       dependencies=uses(update_user=UpdateUser), responses=problems(401, 403, 404, 409, 422))
async def change_user(user_id: FromPath[str], data: JSONBody[UserPatchIn], principal: NamedDependency[Principal],
                      update_user: NamedDependency[UpdateUser]) -> UserOut:
    profile = ok(await update_user(
        principal, user_id,
        quota=data.quota.to_domain() if isinstance(data.quota, QuotaPatchIn) else None,
        role=str(data.role) if isinstance(data.role, Role) else None,
        is_active=data.is_active if isinstance(data.is_active, bool) else None))
    return user_out(profile)


@post("/users/{user_id:str}/credits", operation_id="grantCredits", status_code=200, summary="Grant credits", description=doc(GrantCredits),
      dependencies=uses(grant_credits=GrantCredits), responses=problems(401, 403, 404, 422))
async def grant(user_id: FromPath[str], data: JSONBody[GrantIn], principal: NamedDependency[Principal],
                grant_credits: NamedDependency[GrantCredits]) -> BalanceOut:
    return balance_out(ok(await grant_credits(principal, user_id, data.amount, data.memo)))


# ---------------------------------------------------------------- audit and stats


@get("/audit", operation_id="listAuditEntries", summary="Audit log", dependencies=uses(list_audit=ListAudit), responses=problems(401, 403, 422),
     description=doc(ListAudit) + "\n\nQuery: `actor` (user id), `action` (e.g. `job.create`), `resource` "
     "(type, e.g. `job`), `resource_id`, `since`/`until` (RFC 3339).")
async def audit(request: Request[Any, Any, Any], principal: NamedDependency[Principal],
                list_audit: NamedDependency[ListAudit],
                actor: FromQuery[str | None] = None, action: FromQuery[str | None] = None,
                resource: FromQuery[str | None] = None, resource_id: FromQuery[str | None] = None,
                since: FromQuery[datetime | None] = None, until: FromQuery[datetime | None] = None,
                cursor: FromQuery[str | None] = None, limit: FromQuery[int | None] = None) -> AuditList:
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and not RFC3339.fullmatch(request.query_params.get(name, "")):
            raise ProblemException(validation(f"{name} must be an RFC 3339 date-time with a time zone", name))
        if moment is not None and not fits_utc(moment):
            raise ProblemException(validation(f"{name} is out of range", name))
    where = AuditFilter(actor_id=actor, action=action, resource_type=resource, resource_id=resource_id,
                        since=since, until=until)
    page = ok(await list_audit(principal, where, cursor, limit))
    return AuditList(items=[audit_out(e) for e in page.items], next_cursor=page.next_cursor)


@get("/stats", operation_id="getProviderStats", summary="Provider and account statistics", description=doc(ProviderStats),
     dependencies=uses(provider_stats=ProviderStats), responses=problems(401, 403))
async def stats(principal: NamedDependency[Principal], provider_stats: NamedDependency[ProviderStats]) -> StatsOut:
    return stats_out(ok(await provider_stats(principal)))


router = Router(path="/v1/admin", tags=["admin"], guards=[require_admin], security=BEARER_SECURITY,
                route_handlers=[create_pool_account, all_accounts, one_account, change_account, remove_account,
                                account_credits, all_users, change_user, grant, audit, stats])
