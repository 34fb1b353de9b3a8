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

    - Only failed logins count towards the limits (429 RATE_LIMITED with Retry-After); an
      attempt over a limit is refused before the password is checked.
    - A client the user logged in from before (within 90 days) is known: there, only that
      email's failures from that client count (10 per 15 minutes), so nobody elsewhere can
      lock the user out of it.
    - Any other client also stops at 50 failures per 15 minutes whatever the emails
      (spraying), and an email stops taking attempts from clients it never used after 100
      failures in a day (guessing from many addresses).
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
        now = self._clock.now()
        async with self._uow() as uow:
            found = await uow.users.get_by_email(email)
            known = found is not None and await uow.sessions.seen_from(
                found.id, client_ip, now - self._policy.known_client)
        counted, limited = await self._count_attempt(client_ip, email, known)
        if limited is not None:
            return Failure(limited)
        # the password is checked outside the transaction: argon2 is slow on purpose
        if not await self._password_matches(found, password) or found is None or not found.is_active:
            return Failure(unauthenticated(BAD_CREDENTIALS))  # the attempt stays counted
        await self._take_back(counted)
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

    async def _count_attempt(self, client_ip: str, email: str, known: bool
                             ) -> tuple[list[str], DomainError | None]:
        """Count the attempt under every limit that applies, before the password is checked
        (so concurrent guesses cannot all slip under a limit); a success takes it back."""
        policy = self._policy
        limits = [(f"login:pair:{client_ip}:{email[:320]}", policy.login_failures_per_email_client,
                   policy.login_window_seconds)]
        if not known:
            limits += [(f"login:client:{client_ip}", policy.login_attempts_per_client, policy.login_window_seconds),
                       (f"login:email:{email[:320]}", policy.login_attempts_per_email,
                        policy.login_email_window_seconds)]
        counted: list[str] = []
        for key, limit, window in limits:
            decision = await self._limiter.hit(key, limit, window)
            if not decision.allowed:
                await self._take_back(counted)  # a refused attempt is no failure
                return [], DomainError(ErrorCode.RATE_LIMITED, "too many failed logins; try again later",
                                       retry_after=decision.retry_after)
            counted.append(key)
        return counted, None

    async def _take_back(self, keys: list[str]) -> None:
        for key in keys:
            await self._limiter.undo(key)

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
