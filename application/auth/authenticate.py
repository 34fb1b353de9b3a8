"""Turn a bearer access token into the caller's identity."""

from __future__ import annotations

from datetime import datetime

import msgspec
from returns.result import Failure, Result, Success

from application.policy import AuthPolicy
from domain.api_keys import Scope
from domain.credentials import Credential
from domain.errors import DomainError, unauthenticated
from domain.ports import CachedSession, Clock, SessionCache, TokenIssuer, UnitOfWorkFactory
from domain.users import AccessClaims, Role


class Principal(msgspec.Struct, frozen=True):
    """Who is calling: the user, the session their token belongs to, and their role now.

    A caller by API key has no session (`session_id` is empty): `api_key_id` names the key
    and `scopes` what it may do; a session may do everything its role allows (`scopes` None).
    """

    user_id: str
    session_id: str
    role: Role
    api_key_id: str | None = None
    scopes: frozenset[Scope] | None = None
    key_secret_hash: str | None = None
    """Set when the key is checked in the route's own step (known_keys.py ReadApiKey)."""
    key_scope: Scope | None = None
    """The scope that step requires of the key (None: any key)."""

    @property
    def is_admin(self) -> bool:
        """An admin, acting with the admin's powers (a key needs the `admin` scope too)."""
        return self.role is Role.ADMIN and self.allows(Scope.ADMIN)

    def allows(self, scope: Scope) -> bool:
        return self.scopes is None or scope in self.scopes

    @property
    def credential(self) -> Credential:
        """What the route's own step checks. An API key read at the edge (no database) is
        checked there whole (live, its hash, the route's scope, its owner active); one that
        AuthenticateKey already read is checked by the step as its owner being active."""
        if self.api_key_id is not None and self.key_secret_hash is not None:
            return Credential.of_api_key(self.user_id, self.api_key_id, self.key_secret_hash, self.key_scope)
        if self.api_key_id is not None:
            return Credential.of_user(self.user_id)
        return Credential.of_session(self.user_id, self.session_id)


class Authenticate:
    """Check a bearer access token.

    - The token must be a valid, unexpired HS256 token of this service.
    - Its session must be live: logging out or revoking a session stops its access tokens
      at once, on every replica.
    - The user must still exist and be active; the role is the user's current one, so a
      role change applies without logging in again.
    - A live session of an active user may be served from the session cache for
      `session_cache_seconds`; the database stays the truth. The rule that keeps this
      exact: every use case that ends a session or changes what it grants (log-out,
      revoking one or all sessions, refresh-token reuse, deactivating a user or changing
      their role) forgets the cached sessions right after its commit.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, tokens: TokenIssuer, cache: SessionCache,
                 policy: AuthPolicy) -> None:
        self._uow = uow
        self._clock = clock
        self._tokens = tokens
        self._cache = cache
        self._cache_seconds = policy.session_cache_seconds

    async def __call__(self, token: str) -> Result[Principal, DomainError]:
        now = self._clock.now()
        verified = self._tokens.verify(token, now)
        if isinstance(verified, Failure):
            return Failure(verified.failure())
        claims = verified.unwrap()
        if self._cache_seconds > 0:
            cached = await self._cache.get(claims.session_id)
            if cached is not None and cached.user_id == claims.user_id and now < cached.expires_at:
                return Success(Principal(cached.user_id, claims.session_id, cached.role))
        return await self._from_database(claims, now)

    async def _from_database(self, claims: AccessClaims, now: datetime) -> Result[Principal, DomainError]:
        async with self._uow() as uow:
            session = await uow.sessions.get(claims.session_id)
            user = await uow.users.get(claims.user_id)
        if (session is None or not session.is_live(now) or session.user_id != claims.user_id
                or user is None or not user.is_active):
            return Failure(unauthenticated())
        if self._cache_seconds > 0:
            await self._cache.put(session.id, CachedSession(
                user_id=user.id, role=user.role, expires_at=session.expires_at), self._cache_seconds)
        return Success(Principal(user.id, session.id, user.role))


class ReadAccessToken:
    """Check a bearer access token's signature and lifetime only: no database, no cache.

    - The Principal is what the token claims. A route may accept it only when the use case
      it runs checks the principal's credential (its session live, its user active) inside
      the same atomic step as its work (domain/credentials.py): then authentication costs no
      round trip of its own, and a revocation still applies at once on every replica.
    - The role is the one the token was issued with: such routes do not depend on it.
    """

    def __init__(self, clock: Clock, tokens: TokenIssuer) -> None:
        self._clock = clock
        self._tokens = tokens

    def __call__(self, token: str) -> Result[Principal, DomainError]:
        verified = self._tokens.verify(token, self._clock.now())
        if isinstance(verified, Failure):
            return Failure(verified.failure())
        claims = verified.unwrap()
        return Success(Principal(claims.user_id, claims.session_id, claims.role))
