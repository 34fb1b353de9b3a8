"""Log out, and see or end one's own sessions."""

from __future__ import annotations

from datetime import datetime

import msgspec
from returns.result import Failure, Result, Success

from application.audit import AuditTrail
from domain.errors import DomainError, not_found
from domain.ports import Clock, SessionCache, UnitOfWorkFactory
from domain.users import Session, revoke


class SessionInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A session as its owner sees it (never the refresh hash)."""

    id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    client_ip: str | None

    @classmethod
    def of(cls, session: Session) -> SessionInfo:
        return cls(id=session.id, created_at=session.created_at, last_used_at=session.last_used_at,
                   expires_at=session.expires_at, user_agent=session.user_agent, client_ip=session.client_ip)


class RevokeSession:
    """End one of the caller's sessions.

    - Its access and refresh tokens stop working at once (its cached copy is forgotten).
    - A session of another user, or none at all, is 404 NOT_FOUND.
    - Ending a session that has already ended changes nothing and succeeds.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, audit: AuditTrail, cache: SessionCache) -> None:
        self._uow = uow
        self._clock = clock
        self._audit = audit
        self._cache = cache

    async def __call__(self, user_id: str, session_id: str) -> Result[None, DomainError]:
        async with self._uow() as uow:
            session = await uow.sessions.get(session_id)
            if session is None or session.user_id != user_id:
                return Failure(not_found("session"))
            if session.revoked_at is None:
                await uow.sessions.update(revoke(session, self._clock.now()))
                await self._audit.record(uow, user_id, "session.revoke", "session", session.id)
                await uow.commit()
            await self._cache.forget([session.id])
        return Success(None)


class LogOut:
    """End the session the caller's access token belongs to, at once (its cached copy too)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, audit: AuditTrail, cache: SessionCache) -> None:
        self._uow = uow
        self._clock = clock
        self._audit = audit
        self._cache = cache

    async def __call__(self, session_id: str) -> Result[None, DomainError]:
        async with self._uow() as uow:
            session = await uow.sessions.get(session_id)
            if session is None:
                return Failure(not_found("session"))
            if session.revoked_at is None:
                await uow.sessions.update(revoke(session, self._clock.now()))
                await self._audit.record(uow, session.user_id, "session.logout", "session", session.id)
                await uow.commit()
            await self._cache.forget([session.id])
        return Success(None)


class ListSessions:
    """The caller's live sessions, newest first."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, user_id: str) -> Result[list[SessionInfo], DomainError]:
        async with self._uow() as uow:
            sessions = await uow.sessions.list_live(user_id, self._clock.now())
        return Success([SessionInfo.of(s) for s in sessions])


class RevokeAllSessions:
    """End every session of the caller, the current one included; answers how many ended.
    Their cached copies are forgotten."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, audit: AuditTrail, cache: SessionCache) -> None:
        self._uow = uow
        self._clock = clock
        self._audit = audit
        self._cache = cache

    async def __call__(self, user_id: str) -> Result[int, DomainError]:
        async with self._uow() as uow:
            revoked = await uow.sessions.revoke_all(user_id, self._clock.now())
            if revoked:
                await self._audit.record(uow, user_id, "session.revoke_all", "user", user_id,
                                         revoked=revoked)
                await uow.commit()
            await self._cache.forget_user(user_id)
        return Success(revoked)
