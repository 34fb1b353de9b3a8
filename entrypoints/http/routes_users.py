"""The caller's own profile."""

from __future__ import annotations

from litestar import Router, get
from litestar.di import NamedDependency

from application.auth.authenticate import Principal
from application.users.me import GetProfile
from entrypoints.http.deps import BEARER_SECURITY, CHECKED_IN_STEP, doc, require_user, uses_after_caller
from entrypoints.http.errors import ok, problems
from entrypoints.http.schemas_users import UserOut, user_out


@get("/me", operation_id="getProfile", summary="My profile", description=doc(GetProfile), dependencies=uses_after_caller(get_profile=GetProfile),
     opt=CHECKED_IN_STEP,
     responses=problems(401))
async def me(principal: NamedDependency[Principal], get_profile: NamedDependency[GetProfile]) -> UserOut:
    return user_out(ok(await get_profile(principal.user_id, principal.credential)))


router = Router(path="/v1/users", tags=["users"], guards=[require_user], security=BEARER_SECURITY,
                route_handlers=[me])
