"""Trade a refresh token for a new token pair."""

from __future__ import annotations

import hmac

from returns.result import Failure, Result, Success

from application.audit import AuditTrail
from application.auth.login import LoginResult, refresh_token
from domain.errors import DomainError, unauthenticated
from domain.ports import Clock, RandomSource, SessionCache, TokenIssuer, UnitOfWork, UnitOfWorkFactory
from domain.users import Session, hash_secret, revoke, rotate, split_refresh_token


class RefreshSession:
    """Rotate a session's refresh token and issue a new access token.

    - Each refresh token works once: the answer carries the next one.
    - Presenting an older refresh token of a live session is treated as theft: the whole
      session is revoked (its access tokens stop at once) and the call is 401 UNAUTHENTICATED.
    - A malformed, unknown, expired or revoked token, or a deactivated user, is 401.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, random: RandomSource, tokens: TokenIssuer,
                 audit: AuditTrail, cache: SessionCache) -> None:
        self._uow = uow
        self._clock = clock
        self._random = random
        self._tokens = tokens
        self._audit = audit
        self._cache = cache

    async def __call__(self, token: str) -> Result[LoginResult, DomainError]:
        parts = split_refresh_token(token)
        if parts is None:
            return Failure(unauthenticated())
        session_id, secret = parts
        now = self._clock.now()
        async with self._uow() as uow:
            session = await uow.sessions.get(session_id)
            if session is None or not session.is_live(now):
                return Failure(unauthenticated())
            if not hmac.compare_digest(session.refresh_hash, hash_secret(secret)):
                await self._revoke_on_reuse(uow, session)
                await self._cache.forget([session.id])
                return Failure(unauthenticated("this refresh token was already used; the session is revoked"))
            user = await uow.users.get(session.user_id)
            if user is None or not user.is_active:
                return Failure(unauthenticated())
            new_secret = self._random.token()
            await uow.sessions.update(rotate(session, new_secret, now))
            await self._audit.record(uow, user.id, "session.refresh", "session", session.id,
                                     generation=session.generation + 1)
            await uow.commit()
        access, expires_in = self._tokens.issue(user.id, session.id, user.role, now)
        return Success(LoginResult(access_token=access, refresh_token=refresh_token(session.id, new_secret),
                                   expires_in=expires_in, session_id=session.id))

    async def _revoke_on_reuse(self, uow: UnitOfWork, session: Session) -> None:
        await uow.sessions.update(revoke(session, self._clock.now()))
        # no actor: whoever presented the token is not known to be the user
        await self._audit.record(uow, None, "session.revoke_on_reuse", "session", session.id,
                                 user_id=session.user_id, generation=session.generation)
        await uow.commit()
