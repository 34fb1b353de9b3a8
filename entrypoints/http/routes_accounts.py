"""A user's own provider accounts, used for their jobs only (and before the shared pool)."""

from __future__ import annotations

from litestar import Router, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from application.accounts.private import AddPrivateAccount, DeletePrivateAccount, ListPrivateAccounts
from application.auth.authenticate import Principal
from entrypoints.http.deps import BEARER_SECURITY, doc, require_user, uses
from entrypoints.http.errors import ok, problems
from entrypoints.http.schemas_accounts import AccountIn, AccountList, AccountOut, account_out


@post("/", operation_id="addPrivateAccount", status_code=201, summary="Add a private account", description=doc(AddPrivateAccount),
      dependencies=uses(add_account=AddPrivateAccount), responses=problems(401, 422, 429))
async def add(data: JSONBody[AccountIn], principal: NamedDependency[Principal],
              add_account: NamedDependency[AddPrivateAccount]) -> AccountOut:
    view = ok(await add_account(principal, provider_id=data.provider_id, label=data.label, secret=data.secret,
                                credits=data.credits, max_concurrent_jobs=data.max_concurrent_jobs,
                                priority=data.priority))
    return account_out(view)


@get("/", operation_id="listPrivateAccounts", summary="My private accounts", description=doc(ListPrivateAccounts),
     dependencies=uses(list_accounts=ListPrivateAccounts), responses=problems(401))
async def mine(principal: NamedDependency[Principal],
               list_accounts: NamedDependency[ListPrivateAccounts]) -> AccountList:
    return AccountList(items=[account_out(a) for a in ok(await list_accounts(principal))])


@delete("/{account_id:str}", operation_id="deletePrivateAccount", status_code=204, summary="Remove a private account",
        description=doc(DeletePrivateAccount), dependencies=uses(delete_account=DeletePrivateAccount),
        responses=problems(401, 404, 409))
async def remove(account_id: FromPath[str], principal: NamedDependency[Principal],
                 delete_account: NamedDependency[DeletePrivateAccount]) -> None:
    ok(await delete_account(principal, account_id))


router = Router(path="/v1/accounts", tags=["accounts"], guards=[require_user], security=BEARER_SECURITY,
                route_handlers=[add, mine, remove])
