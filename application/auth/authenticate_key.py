"""Turn a bearer API key into the caller's identity."""

from __future__ import annotations

from returns.result import Failure, Result, Success

from application.auth.authenticate import Principal
from application.auth.known_keys import KnownKeys
from application.policy import AuthPolicy
from domain.api_keys import LAST_USED_RESOLUTION, accepts, effective_scopes, split_key
from domain.errors import DomainError, ErrorCode, unauthenticated
from domain.ports import Clock, RateLimiter, UnitOfWorkFactory


class AuthenticateKey:
    """Check a bearer API key (`pxr_<key id>_<secret>`).

    - One read by primary key finds the key and its owner; the secret's SHA-256 is compared
      in constant time. No cache: revoking a key, or deactivating its owner, stops it at
      once on every replica.
    - A revoked or expired key, a deactivated owner, an unknown id or a wrong secret are
      all the same 401 UNAUTHENTICATED.
    - Wrong keys are counted per client address: past `api_key_failures_per_client` in the
      window they are answered 429 RATE_LIMITED with Retry-After. Valid keys are never
      counted, and the login limits do not apply to them.
    - `last_used_at` is written at most once a minute per key, not on every request.
    - The key grants its scopes while its owner still has them (`admin` only for admins).
    - A key it accepts is remembered by this process (KnownKeys: owner, hash, scopes), so
      routes that check the key in their own step need no read of their own.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, limiter: RateLimiter, policy: AuthPolicy,
                 known: KnownKeys) -> None:
        self._known = known
        self._uow = uow
        self._clock = clock
        self._limiter = limiter
        self._policy = policy

    async def __call__(self, key: str, client: str) -> Result[Principal, DomainError]:
        now = self._clock.now()
        parts = split_key(key)
        if parts is None:
            return await self._refuse(client)
        key_id, secret = parts
        async with self._uow() as uow:
            found = await uow.api_keys.with_owner(key_id)
            if found is None or not accepts(found[0], found[1], secret, now):
                return await self._refuse(client)
            api_key, owner = found
            if api_key.needs_touch(now):
                await uow.api_keys.touch(api_key.id, now, now - LAST_USED_RESOLUTION)
                await uow.commit()
        scopes = effective_scopes(api_key, owner.role)
        self._known.learn(api_key.id, api_key.user_id, api_key.secret_hash, frozenset(api_key.scopes))
        return Success(Principal(api_key.user_id, "", owner.role, api_key_id=api_key.id, scopes=scopes))

    async def _refuse(self, client: str) -> Result[Principal, DomainError]:
        policy = self._policy
        decision = await self._limiter.hit(f"apikey:client:{client}", policy.api_key_failures_per_client,
                                           policy.api_key_failure_window_seconds)
        if not decision.allowed:
            return Failure(DomainError(ErrorCode.RATE_LIMITED, "too many invalid API keys; try again later",
                                       retry_after=decision.retry_after))
        return Failure(unauthenticated())
