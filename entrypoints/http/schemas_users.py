"""Bodies of the auth, profile and user-administration routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from application.auth.login import LoginResult
from application.auth.sessions import SessionInfo
from application.users.admin import MAX_GRANT, MAX_MEMO
from application.users.me import Profile
from domain.ledger import CreditBalance
from domain.quotas import QuotaPatch, QuotaPolicy
from domain.users import MAX_PASSWORD, MIN_PASSWORD, Role
from domain.users import WHITESPACE as S
from entrypoints.http.schemas_common import In, utc

Email = Annotated[str, Meta(max_length=320, examples=["ada@example.com"])]
Password = Annotated[str, Meta(max_length=1024, examples=["correct horse battery"])]
# What sign-up accepts (domain.users), stated so that the schema says it; `(?!\n)$` is the
# end of the text for Python's `$` too. The address is trimmed and lower-cased when stored.
NewEmail = Annotated[str, Meta(max_length=254, pattern=rf"^[{S}]*[^@{S}]{{1,64}}@[^@{S}]+\.[^@{S}]+[{S}]*$",
                               examples=["ada@example.com"])]
NewUsername = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.-]{3,32}(?!\n)$", examples=["ada"])]
NewPassword = Annotated[str, Meta(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD,
                                  examples=["correct horse battery"])]
Limit = Annotated[int, Meta(ge=0, le=2**53)]  # JSON-safe, and within a BIGINT


class RegisterIn(In, frozen=True):
    email: NewEmail
    username: NewUsername
    password: NewPassword


class LoginIn(In, frozen=True):
    email: Email
    password: Password


class PasswordChangeIn(In, frozen=True):
    current_password: Password
    new_password: NewPassword


class RefreshIn(In, frozen=True):
    refresh_token: Annotated[str, Meta(max_length=1024)]


class TokensOut(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    session_id: str


def tokens_out(result: LoginResult) -> TokensOut:
    return TokensOut(access_token=result.access_token, refresh_token=result.refresh_token,
                     token_type=result.token_type, expires_in=result.expires_in, session_id=result.session_id)


class SessionOut(msgspec.Struct, kw_only=True):
    id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    client_ip: str | None
    current: bool  # the session of the token that asked


class SessionList(msgspec.Struct, kw_only=True):
    items: list[SessionOut]
    next_cursor: str | None = None


def session_out(info: SessionInfo, current_session_id: str) -> SessionOut:
    return SessionOut(id=info.id, created_at=utc(info.created_at), last_used_at=utc(info.last_used_at),
                      expires_at=utc(info.expires_at), user_agent=info.user_agent, client_ip=info.client_ip,
                      current=info.id == current_session_id)


class RevokedOut(msgspec.Struct, kw_only=True):
    revoked: int


class QuotaOut(msgspec.Struct, kw_only=True):
    """Null is unlimited."""

    max_jobs_per_day: int | None
    max_concurrent_jobs: int | None
    max_storage_bytes: int | None
    max_private_accounts: int | None


def quota_out(policy: QuotaPolicy) -> QuotaOut:
    return QuotaOut(max_jobs_per_day=policy.max_jobs_per_day, max_concurrent_jobs=policy.max_concurrent_jobs,
                    max_storage_bytes=policy.max_storage_bytes, max_private_accounts=policy.max_private_accounts)


class UsageOut(msgspec.Struct, kw_only=True):
    day: date
    jobs_created: int
    jobs_completed: int
    assets_created: int
    credits_spent: int
    bytes_stored: int
    storage_bytes: int
    running_jobs: int


class UserOut(msgspec.Struct, kw_only=True):
    id: str
    email: str
    username: str
    role: Role
    is_active: bool
    quota: QuotaOut
    usage: UsageOut
    credits: int  # spendable; credits held for unfinished jobs are in credits_held
    credits_held: int
    created_at: datetime


class UserList(msgspec.Struct, kw_only=True):
    items: list[UserOut]
    next_cursor: str | None = None


def user_out(profile: Profile) -> UserOut:
    u = profile.usage
    usage = UsageOut(day=u.day, jobs_created=u.jobs_created, jobs_completed=u.jobs_completed,
                     assets_created=u.assets_created, credits_spent=u.credits_spent,
                     bytes_stored=u.bytes_stored, storage_bytes=u.storage_bytes, running_jobs=u.running_jobs)
    return UserOut(id=profile.id, email=profile.email, username=profile.username, role=profile.role,
                   is_active=profile.is_active, quota=quota_out(profile.quota), usage=usage,
                   credits=profile.credits, credits_held=profile.credits_held,
                   created_at=utc(profile.created_at))


class QuotaPatchIn(In, frozen=True):
    """Omitted fields keep their value; null means unlimited."""

    max_jobs_per_day: Limit | UnsetType | None = UNSET
    max_concurrent_jobs: Limit | UnsetType | None = UNSET
    max_storage_bytes: Limit | UnsetType | None = UNSET
    max_private_accounts: Limit | UnsetType | None = UNSET

    def to_domain(self) -> QuotaPatch:
        return QuotaPatch(max_jobs_per_day=self.max_jobs_per_day, max_concurrent_jobs=self.max_concurrent_jobs,
                          max_storage_bytes=self.max_storage_bytes,
                          max_private_accounts=self.max_private_accounts)


class UserPatchIn(In, frozen=True):
    quota: QuotaPatchIn | UnsetType = UNSET
    role: Role | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET


class GrantIn(In, frozen=True):
    amount: Annotated[int, Meta(ge=1, le=MAX_GRANT, examples=[500])]
    memo: Annotated[str, Meta(max_length=MAX_MEMO)] | None = None


class BalanceOut(msgspec.Struct, kw_only=True):
    user_id: str
    credits: int
    credits_held: int


def balance_out(balance: CreditBalance) -> BalanceOut:
    return BalanceOut(user_id=balance.user_id, credits=balance.available, credits_held=balance.held)

