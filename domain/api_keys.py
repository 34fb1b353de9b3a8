"""API keys: long-lived credentials for servers, shown once, kept only as a hash.

A key reads `pxr_<key id>_<secret>`: the fixed prefix lets secret scanners spot a leaked one,
and the id lets the check find the row by primary key and compare the secret's hash (a
fast hash is right for a 256-bit random secret; passwords need argon2, keys do not).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

import msgspec
from returns.result import Failure, Result, Success

from domain.errors import DomainError, forbidden, validation
from domain.users import Role

KEY_PREFIX = "pxr_"
MAX_KEYS_PER_USER = 100
# How stale `last_used_at` may get: it is written at most once per this interval per key,
# so authenticating by key adds no write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
KEY_RE = re.compile(r"^pxr_([A-Za-z0-9-]{1,64})_([A-Za-z0-9_-]{20,128})$")


class Scope(StrEnum):
    JOBS_READ = "jobs:read"
    JOBS_WRITE = "jobs:write"
    ASSETS_READ = "assets:read"
    ASSETS_WRITE = "assets:write"
    ACCOUNTS_READ = "accounts:read"
    ACCOUNTS_WRITE = "accounts:write"
    ADMIN = "admin"


USER_SCOPES: frozenset[Scope] = frozenset(Scope) - {Scope.ADMIN}
ADMIN_SCOPES: frozenset[Scope] = frozenset(Scope)


def scopes_of(role: Role) -> frozenset[Scope]:
    """Every scope a user of `role` may give a key."""
    return ADMIN_SCOPES if role is Role.ADMIN else USER_SCOPES


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    user_id: str
    name: str
    secret_hash: str
    prefix: str
    """The start of the key, safe to show (`pxr_<id>_` and the secret's first 4 characters)."""
    scopes: tuple[Scope, ...]
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    created_by: str | None = None
    """The admin who minted it for its owner; None when the owner made it."""

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def needs_touch(self, now: datetime) -> bool:
        return self.last_used_at is None or now - self.last_used_at >= LAST_USED_RESOLUTION


class KeyOwner(msgspec.Struct, frozen=True, kw_only=True):
    """What checking a key needs about its owner, read in the same statement as the key."""

    role: Role
    is_active: bool


def compose_key(key_id: str, secret: str) -> str:
    return f"{KEY_PREFIX}{key_id}_{secret}"


def display_prefix(key_id: str, secret: str) -> str:
    return f"{KEY_PREFIX}{key_id}_{secret[:4]}"


def split_key(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    found = KEY_RE.fullmatch(key)
    return None if found is None else (found.group(1), found.group(2))


def looks_like_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def hash_key_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(key: ApiKey, secret: str) -> bool:
    return hmac.compare_digest(key.secret_hash, hash_key_secret(secret))


def check_scopes(requested: Iterable[str] | None, role: Role) -> Result[tuple[Scope, ...], DomainError]:
    """The scopes a new key gets: all of the owner's by default; `admin` only for admins
    (403 FORBIDDEN for others)."""
    allowed = scopes_of(role)
    if requested is None:
        return Success(tuple(sorted(allowed)))
    chosen: set[Scope] = set()
    for name in requested:
        try:
            scope = Scope(name)
        except ValueError:
            return Failure(validation(f"unknown scope {name!r}; known: {', '.join(sorted(Scope))}", "scopes"))
        if scope not in allowed:
            return Failure(forbidden(f"scope {name!r} is for admins' keys only"))
        chosen.add(scope)
    if not chosen:
        return Failure(validation("a key needs at least one scope", "scopes"))
    return Success(tuple(sorted(chosen)))


def check_expiry(expires_at: datetime | None, now: datetime) -> Result[datetime | None, DomainError]:
    if expires_at is not None and expires_at.tzinfo is None:
        return Failure(validation("expires_at needs a time zone", "expires_at"))
    if expires_at is not None and expires_at <= now:
        return Failure(validation("expires_at must be in the future", "expires_at"))
    return Success(expires_at)


def effective_scopes(key: ApiKey, owner_role: Role) -> frozenset[Scope]:
    """A key grants its scopes only while its owner still has them (a demoted admin's key
    loses `admin` at once)."""
    return frozenset(key.scopes) & scopes_of(owner_role)


def accepts(key: ApiKey, owner: KeyOwner, secret: str, now: datetime) -> bool:
    """The whole check of a presented key, once its row and owner are read: the secret
    matches, the key is neither revoked nor expired, and its owner is active."""
    return secret_matches(key, secret) and key.is_live(now) and owner.is_active
