"""Users, roles, sessions and the rules for their fields."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from enum import StrEnum

import msgspec
from returns.result import Failure, Result, Success

from domain.errors import DomainError, validation
from domain.quotas import ADMIN_DEFAULT, USER_DEFAULT, QuotaPolicy


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


# What Python's `\s` and str.isspace() call whitespace, spelled out for API schema patterns:
# other regex engines (ECMA 262) read `\s` differently (no U+0085, no U+001C..U+001F).
WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
MIN_PASSWORD, MAX_PASSWORD = 8, 256


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    email: str
    username: str
    password_hash: str
    created_at: datetime
    role: Role = Role.USER
    is_active: bool = True
    quota: QuotaPolicy = USER_DEFAULT
    storage_bytes: int = 0
    running_jobs: int = 0

    def __post_init__(self) -> None:
        if self.email != normalize_email(self.email):
            raise ValueError("email must be stored normalized")
        if self.storage_bytes < 0 or self.running_jobs < 0:
            raise ValueError("usage counters cannot be negative")

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def default_quota(role: Role) -> QuotaPolicy:
    return ADMIN_DEFAULT if role is Role.ADMIN else USER_DEFAULT


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str) -> Result[str, DomainError]:
    normalized = normalize_email(email)
    if len(normalized) > 254 or not EMAIL_RE.fullmatch(normalized):
        return Failure(validation("email is not a valid address", "email"))
    return Success(normalized)


def check_username(username: str) -> Result[str, DomainError]:
    if not USERNAME_RE.fullmatch(username):  # `$` alone would let "alice\n" in
        return Failure(
            validation("username must be 3-32 letters, digits, '_', '.' or '-'", "username")
        )
    return Success(username)


def check_password(password: str) -> Result[str, DomainError]:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return Failure(
            validation(f"password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters", "password")
        )
    return Success(password)


class Session(msgspec.Struct, frozen=True, kw_only=True):
    """A login. Its refresh token is `<session id>.<secret>`; only the secret's hash is kept,
    and only the newest one: presenting an older secret is reuse and revokes the session."""

    id: str
    user_id: str
    refresh_hash: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime
    revoked_at: datetime | None = None
    generation: int = 0
    user_agent: str | None = None
    client_ip: str | None = None

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


def hash_secret(secret: str) -> str:
    """Refresh secrets are long random strings, so a fast hash is enough (no password)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def split_refresh_token(token: str) -> tuple[str, str] | None:
    session_id, dot, secret = token.partition(".")
    if not dot or not session_id or len(secret) < 16:
        return None
    return session_id, secret


def rotate(session: Session, new_secret: str, now: datetime) -> Session:
    return msgspec.structs.replace(
        session, refresh_hash=hash_secret(new_secret), generation=session.generation + 1, last_used_at=now
    )


def revoke(session: Session, now: datetime) -> Session:
    return session if session.revoked_at else msgspec.structs.replace(session, revoked_at=now)


class AccessClaims(msgspec.Struct, frozen=True):
    """What a verified access token says."""

    user_id: str
    session_id: str
    role: Role
    expires_at: datetime
