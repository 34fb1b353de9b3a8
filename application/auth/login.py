"""Log in with email and password."""

from __future__ import annotations

import msgspec
from returns.result import Failure, Result, Success

from application.audit import AuditTrail
from application.policy import AuthPolicy
from domain.errors import DomainError, ErrorCode, unauthenticated
from domain.ports import (
    Clock,
    IdGenerator,
    PasswordHasher,
    RandomSource,
    RateLimiter,
    TokenIssuer,
    UnitOfWorkFactory,
)
from domain.users import MAX_PASSWORD, Session, User, hash_secret, normalize_email

BAD_CREDENTIALS = "email or password is wrong"


class LoginResult(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    session_id: str


def refresh_token(session_id: str, secret: str) -> str:
    return f"{session_id}.{secret}"


class LogIn:
    """Start a session with email and password.

    - Attempts are rate-limited per client address and per email (429 RATE_LIMITED with
      Retry-After).
    - An unknown email, a wrong password and a deactivated account all give the same
      401 UNAUTHENTICATED, after the same password-hashing work.
    - Returns a short-lived bearer access token and a refresh token; only a hash of the
      refresh token's secret is stored.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, random: RandomSource,
                 hasher: PasswordHasher, tokens: TokenIssuer, limiter: RateLimiter, audit: AuditTrail,
                 policy: AuthPolicy) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._random = random
        self._hasher = hasher
        self._tokens = tokens
        self._limiter = limiter
        self._audit = audit
        self._policy = policy
        self._decoy_hash: str | None = None

    async def __call__(self, email: str, password: str, client_ip: str,
                       user_agent: str | None = None) -> Result[LoginResult, DomainError]:
        email = normalize_email(email)
        limited = await self._rate_limit(client_ip, email)
        if limited is not None:
            return Failure(limited)
        async with self._uow() as uow:
            found = await uow.users.get_by_email(email)
        # the password is checked outside the transaction: argon2 is slow on purpose
        if not await self._password_matches(found, password) or found is None or not found.is_active:
            return Failure(unauthenticated(BAD_CREDENTIALS))
        now = self._clock.now()
        secret = self._random.token()
        session = Session(
            id=self._ids.new_id(), user_id=found.id, refresh_hash=hash_secret(secret), created_at=now,
            expires_at=now + self._policy.refresh_ttl, last_used_at=now,
            user_agent=user_agent[:500] if user_agent else None, client_ip=client_ip,
        )
        async with self._uow() as uow:
            user = await uow.users.get(found.id)
            if user is None or not user.is_active:
                return Failure(unauthenticated(BAD_CREDENTIALS))
            await uow.sessions.add(session)
            await self._audit.record(uow, user.id, "session.create", "session", session.id,
                                     client_ip=client_ip)
            await uow.commit()
        access, expires_in = self._tokens.issue(user.id, session.id, user.role, now)
        return Success(LoginResult(access_token=access, refresh_token=refresh_token(session.id, secret),
                                   expires_in=expires_in, session_id=session.id))

    async def _rate_limit(self, client_ip: str, email: str) -> DomainError | None:
        policy = self._policy
        for key, limit in ((f"login:client:{client_ip}", policy.login_attempts_per_client),
                           (f"login:email:{email[:320]}", policy.login_attempts_per_email)):
            decision = await self._limiter.hit(key, limit, policy.login_window_seconds)
            if not decision.allowed:
                return DomainError(ErrorCode.RATE_LIMITED, "too many login attempts; try again later",
                                   retry_after=decision.retry_after)
        return None

    async def _password_matches(self, user: User | None, password: str) -> bool:
        if len(password) > MAX_PASSWORD:
            return False
        if user is None:
            # hash anyway, so an unknown email takes as long as a wrong password
            await self._hasher.verify(await self._decoy(), password)
            return False
        return await self._hasher.verify(user.password_hash, password)

    async def _decoy(self) -> str:
        if self._decoy_hash is None:
            self._decoy_hash = await self._hasher.hash(self._random.token())
        return self._decoy_hash
