"""Turn a bearer access token into the caller's identity."""

from __future__ import annotations

import msgspec
from returns.result import Failure, Result, Success

from domain.errors import DomainError, unauthenticated
from domain.ports import Clock, TokenIssuer, UnitOfWorkFactory
from domain.users import Role


class Principal(msgspec.Struct, frozen=True):
    """Who is calling: the user, the session their token belongs to, and their role now."""

    user_id: str
    session_id: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


class Authenticate:
    """Check a bearer access token.

    - The token must be a valid, unexpired HS256 token of this service.
    - Its session must be live: logging out or revoking a session stops its access tokens
      at once, on every replica.
    - The user must still exist and be active; the role is the user's current one, so a
      role change applies without logging in again.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, tokens: TokenIssuer) -> None:
        self._uow = uow
        self._clock = clock
        self._tokens = tokens

    async def __call__(self, token: str) -> Result[Principal, DomainError]:
        now = self._clock.now()
        verified = self._tokens.verify(token, now)
        if isinstance(verified, Failure):
            return Failure(verified.failure())
        claims = verified.unwrap()
        async with self._uow() as uow:
            session = await uow.sessions.get(claims.session_id)
            user = await uow.users.get(claims.user_id)
        if (session is None or not session.is_live(now) or session.user_id != claims.user_id
                or user is None or not user.is_active):
            return Failure(unauthenticated())
        return Success(Principal(user.id, session.id, user.role))
