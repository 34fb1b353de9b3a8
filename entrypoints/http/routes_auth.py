"""Sign-up, log-in, token refresh, log-out and the caller's sessions."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from application.auth.authenticate import Principal
from application.auth.login import LogIn
from application.auth.password import ChangePassword
from application.auth.refresh import RefreshSession
from application.auth.register import RegisterUser
from application.auth.sessions import ListSessions, LogOut, RevokeAllSessions, RevokeSession
from application.users.me import GetProfile
from entrypoints.http.client_address import client_of
from entrypoints.http.deps import BEARER_SECURITY, doc, require_user, uses
from entrypoints.http.errors import ok, problems
from entrypoints.http.schemas_users import (
    LoginIn,
    PasswordChangeIn,
    RefreshIn,
    RegisterIn,
    RevokedOut,
    SessionList,
    TokensOut,
    UserOut,
    session_out,
    tokens_out,
    user_out,
)


@post("/register", operation_id="registerUser", status_code=201, summary="Sign up", description=doc(RegisterUser),
      dependencies=uses(register_user=RegisterUser, get_profile=GetProfile), responses=problems(409, 422))
async def register(data: JSONBody[RegisterIn], register_user: NamedDependency[RegisterUser],
                   get_profile: NamedDependency[GetProfile]) -> UserOut:
    user = ok(await register_user(data.email, data.username, data.password))
    return user_out(ok(await get_profile(user.id)))


@post("/login", operation_id="logIn", status_code=200, summary="Log in", description=doc(LogIn), dependencies=uses(log_in=LogIn),
      responses=problems(401, 422, 429))
async def login(request: Request[Any, Any, Any], data: JSONBody[LoginIn], log_in: NamedDependency[LogIn]) -> TokensOut:
    result = await log_in(data.email, data.password, client_of(request), request.headers.get("user-agent"))
    return tokens_out(ok(result))


@post("/refresh", operation_id="refreshSession", status_code=200, summary="Refresh the token pair", description=doc(RefreshSession),
      dependencies=uses(refresh_session=RefreshSession), responses=problems(401, 422))
async def refresh(data: JSONBody[RefreshIn], refresh_session: NamedDependency[RefreshSession]) -> TokensOut:
    return tokens_out(ok(await refresh_session(data.refresh_token)))


@post("/logout", operation_id="logOut", status_code=204, summary="Log out", description=doc(LogOut), guards=[require_user],
      dependencies=uses(log_out=LogOut), security=BEARER_SECURITY, responses=problems(401))
async def logout(principal: NamedDependency[Principal], log_out: NamedDependency[LogOut]) -> None:
    ok(await log_out(principal.session_id))


@get("/sessions", operation_id="listSessions", summary="My sessions", description=doc(ListSessions), guards=[require_user],
     dependencies=uses(list_sessions=ListSessions), security=BEARER_SECURITY, responses=problems(401))
async def sessions(principal: NamedDependency[Principal],
                   list_sessions: NamedDependency[ListSessions]) -> SessionList:
    found = ok(await list_sessions(principal.user_id))
    return SessionList(items=[session_out(s, principal.session_id) for s in found])


@delete("/sessions/{session_id:str}", operation_id="revokeSession", status_code=204, summary="End one of my sessions",
        description=doc(RevokeSession), guards=[require_user], dependencies=uses(revoke_session=RevokeSession),
        security=BEARER_SECURITY, responses=problems(401, 404))
async def revoke_session(session_id: FromPath[str], principal: NamedDependency[Principal],
                         revoke_session: NamedDependency[RevokeSession]) -> None:
    ok(await revoke_session(principal.user_id, session_id))


@post("/sessions/revoke-all", operation_id="revokeAllSessions", status_code=200, summary="End all my sessions", description=doc(RevokeAllSessions),
      guards=[require_user], dependencies=uses(revoke_all=RevokeAllSessions), security=BEARER_SECURITY,
      responses=problems(401))
async def revoke_all(principal: NamedDependency[Principal],
                     revoke_all: NamedDependency[RevokeAllSessions]) -> RevokedOut:
    return RevokedOut(revoked=ok(await revoke_all(principal.user_id)))


@post("/password", status_code=204, summary="Change my password", operation_id="changePassword",
      description=doc(ChangePassword) + "\n\nNeeds a signed-in session: an API key cannot change it (403).",
      guards=[require_user], dependencies=uses(change_password=ChangePassword), security=BEARER_SECURITY,
      responses=problems(401, 403, 422, 429))
async def change_password(data: JSONBody[PasswordChangeIn], principal: NamedDependency[Principal],
                          change_password: NamedDependency[ChangePassword]) -> None:
    ok(await change_password(principal.user_id, principal.session_id, data.current_password, data.new_password))


router = Router(path="/v1/auth", tags=["auth"], route_handlers=[
    register, login, refresh, logout, sessions, revoke_session, revoke_all, change_password])
