"""Change one's password."""

from __future__ import annotations

import msgspec
from returns.result import Failure, Result, Success

from application.audit import AuditTrail
from application.policy import AuthPolicy
from domain.errors import DomainError, ErrorCode, forbidden, not_found
from domain.ports import Clock, PasswordHasher, RateLimiter, SessionCache, UnitOfWorkFactory
from domain.users import MAX_PASSWORD, check_password, revoke


class ChangePassword:
    """Change the caller's password, knowing the current one.

    - A wrong current password is 403 FORBIDDEN; wrong attempts count against the same
      per-user limit as logging in (429 RATE_LIMITED with Retry-After past it).
    - The new password: 8-256 characters, stored only as an argon2id hash.
    - Every other session of the user ends at once (their access and refresh tokens stop
      on every replica); the session that asked stays signed in. API keys are not sessions
      and keep working: revoke them apart.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, hasher: PasswordHasher, limiter: RateLimiter,
                 audit: AuditTrail, cache: SessionCache, policy: AuthPolicy) -> None:
        self._uow = uow
        self._clock = clock
        self._hasher = hasher
        self._limiter = limiter
        self._audit = audit
        self._cache = cache
        self._policy = policy

    async def __call__(self, user_id: str, session_id: str, current_password: str,
                       new_password: str) -> Result[None, DomainError]:
        checked = check_password(new_password)
        if isinstance(checked, Failure):
            return Failure(msgspec.structs.replace(checked.failure(), field="new_password"))
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
        if user is None or not user.is_active:
            return Failure(not_found("user"))
        # argon2 is slow on purpose: checked outside any transaction
        if len(current_password) > MAX_PASSWORD or not await self._hasher.verify(user.password_hash, current_password):
            decision = await self._limiter.hit(f"password:user:{user_id}", self._policy.login_failures_per_email_client,
                                               self._policy.login_window_seconds)
            if not decision.allowed:
                return Failure(DomainError(ErrorCode.RATE_LIMITED, "too many wrong passwords; try again later",
                                           retry_after=decision.retry_after))
            return Failure(forbidden("the current password is wrong"))
        new_hash = await self._hasher.hash(new_password)
        now = self._clock.now()
        async with self._uow() as uow:
            stored = await uow.users.get(user_id)
            if stored is None or stored.password_hash != user.password_hash:
                # changed meanwhile by another request: the current password was not this one
                return Failure(forbidden("the current password is wrong"))
            await uow.users.update(msgspec.structs.replace(stored, password_hash=new_hash))
            ended = [s for s in await uow.sessions.list_live(user_id, now) if s.id != session_id]
            for session in ended:
                await uow.sessions.update(revoke(session, now))
            await self._audit.record(uow, user_id, "user.password_change", "user", user_id,
                                     sessions_ended=len(ended))
            await uow.commit()
        await self._cache.forget([s.id for s in ended])
        return Success(None)
