"""Make, list and revoke API keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec
from returns.result import Failure, Result, Success

from application.accounts.admin import LABEL_PATTERN, LABEL_RE
from application.actor import Actor
from application.audit import AuditTrail
from domain.api_keys import (
    MAX_KEYS_PER_USER,
    ApiKey,
    check_expiry,
    check_scopes,
    compose_key,
    display_prefix,
    hash_key_secret,
)
from domain.errors import DomainError, conflict, forbidden, not_found, validation
from domain.ports import Clock, IdGenerator, RandomSource, UnitOfWorkFactory

SECRET_BYTES = 32
MAX_NAME = 100
NAME_PATTERN = LABEL_PATTERN  # like an account's label: not blank, no control or invisible characters


def check_name(name: str) -> Result[str, DomainError]:
    if len(name) <= MAX_NAME and LABEL_RE.match(name):
        return Success(name.strip())
    return Failure(validation(f"name must be 1-{MAX_NAME} visible characters", "name"))


class NewKey(msgspec.Struct, frozen=True, kw_only=True):
    """A key just made: `secret_key` is the whole key, shown this once."""

    key: ApiKey
    secret_key: str


class KeyRequest(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    scopes: Sequence[str] | None = None
    expires_at: datetime | None = None


class _KeyMaker:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, random: RandomSource,
                 audit: AuditTrail) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._random = random
        self._audit = audit

    async def _make(self, actor_id: str, owner_id: str, request: KeyRequest,
                    minted: bool) -> Result[NewKey, DomainError]:
        now = self._clock.now()
        name = check_name(request.name)
        if isinstance(name, Failure):
            return Failure(name.failure())
        expires_at = check_expiry(request.expires_at, now)
        if isinstance(expires_at, Failure):
            return Failure(expires_at.failure())
        key_id, secret = self._ids.new_id(), self._random.token(SECRET_BYTES)
        async with self._uow() as uow:
            owner = await uow.users.get(owner_id)
            if owner is None:
                return Failure(not_found("user"))
            scopes = check_scopes(request.scopes, owner.role)
            if isinstance(scopes, Failure):
                return Failure(scopes.failure())
            if await uow.api_keys.count_live(owner_id) >= MAX_KEYS_PER_USER:
                return Failure(conflict(f"a user has at most {MAX_KEYS_PER_USER} keys; revoke one first"))
            key = ApiKey(id=key_id, user_id=owner_id, name=name.unwrap(), secret_hash=hash_key_secret(secret),
                         prefix=display_prefix(key_id, secret), scopes=scopes.unwrap(), created_at=now,
                         expires_at=expires_at.unwrap(), created_by=actor_id if minted else None)
            await uow.api_keys.add(key)
            await self._audit.record(uow, actor_id, "api_key.create", "api_key", key.id, user_id=owner_id,
                                     scopes=list(key.scopes))
            await uow.commit()
        return Success(NewKey(key=key, secret_key=compose_key(key_id, secret)))


class CreateApiKey(_KeyMaker):
    """Make an API key for oneself.

    - The key (`pxr_...`) is in this answer only; just its SHA-256 is kept.
    - `scopes` default to all the caller may give: `jobs:read`, `jobs:write`, `assets:read`,
      `assets:write`, `accounts:read`, `accounts:write`, and `admin` for admins only: an
      unknown scope is 422 VALIDATION_ERROR, `admin` asked by a non-admin 403 FORBIDDEN.
    - `name`: 1-100 characters, not blank, no control or invisible ones; kept trimmed.
    - `expires_at`, when given, must be in the future; without it the key lasts until revoked.
    - At most 100 unrevoked keys per user (409 CONFLICT).
    """

    async def __call__(self, user_id: str, request: KeyRequest) -> Result[NewKey, DomainError]:
        return await self._make(user_id, user_id, request, minted=False)


class MintApiKey(_KeyMaker):
    """Make an API key for any user (admins only), so a backend can hold one key per end
    user while that user's quotas and credits keep applying.

    - Non-admins get 403 FORBIDDEN; an unknown user is 404 NOT_FOUND.
    - The scopes are bounded by the owner's role, not the admin's: `admin` only for admins.
    - Otherwise as for one's own keys; the key stops with its owner's deactivation.
    """

    async def __call__(self, actor: Actor, user_id: str, request: KeyRequest) -> Result[NewKey, DomainError]:
        if not actor.is_admin:
            return Failure(forbidden())
        return await self._make(actor.user_id, user_id, request, minted=True)


class ListApiKeys:
    """The caller's keys that are not revoked, newest first: never their secrets. Expired
    keys stay listed until revoked; `last_used_at` is exact to a minute."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, user_id: str) -> Result[list[ApiKey], DomainError]:
        async with self._uow() as uow:
            return Success(await uow.api_keys.live_for(user_id))


class RevokeApiKey:
    """Revoke one of the caller's keys: it stops working at once, on every replica.

    - Another user's key, a revoked one or none at all is 404 NOT_FOUND.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, audit: AuditTrail) -> None:
        self._uow = uow
        self._clock = clock
        self._audit = audit

    async def __call__(self, user_id: str, key_id: str) -> Result[None, DomainError]:
        async with self._uow() as uow:
            key = await uow.api_keys.get(key_id)
            if key is None or key.user_id != user_id or not await uow.api_keys.revoke(key_id, self._clock.now()):
                return Failure(not_found("API key"))
            await self._audit.record(uow, user_id, "api_key.revoke", "api_key", key_id)
            await uow.commit()
        return Success(None)
