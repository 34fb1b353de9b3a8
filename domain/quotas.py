"""Quota policies, daily usage and the lazy 00:00 UTC reset (a new day is a new, empty row)."""

from __future__ import annotations

from datetime import date, datetime

import msgspec
from returns.result import Failure, Result, Success

from domain.clock import seconds_until_next_utc_day, utc_day
from domain.errors import DomainError, quota_exceeded, validation

GIB = 1024**3


class QuotaPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """A limit of None means unlimited."""

    max_jobs_per_day: int | None = 100
    max_concurrent_jobs: int | None = 4
    max_storage_bytes: int | None = 5 * GIB
    max_private_accounts: int | None = 3

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} cannot be negative")


USER_DEFAULT = QuotaPolicy()
ADMIN_DEFAULT = QuotaPolicy(
    max_jobs_per_day=None, max_concurrent_jobs=None, max_storage_bytes=None, max_private_accounts=None
)


class QuotaPatch(msgspec.Struct, frozen=True, kw_only=True):
    """A partial policy: fields left UNSET keep their value; None sets unlimited."""

    max_jobs_per_day: int | msgspec.UnsetType | None = msgspec.UNSET
    max_concurrent_jobs: int | msgspec.UnsetType | None = msgspec.UNSET
    max_storage_bytes: int | msgspec.UnsetType | None = msgspec.UNSET
    max_private_accounts: int | msgspec.UnsetType | None = msgspec.UNSET


def apply_patch(policy: QuotaPolicy, patch: QuotaPatch) -> Result[QuotaPolicy, DomainError]:
    changes = {
        name: getattr(patch, name)
        for name in patch.__struct_fields__
        if getattr(patch, name) is not msgspec.UNSET
    }
    for name, value in changes.items():
        if value is not None and (not isinstance(value, int) or value < 0):
            return Failure(validation(f"{name} must be a non-negative integer or null", name))
    return Success(msgspec.structs.replace(policy, **changes))


class DailyUsage(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    day: date
    jobs_created: int = 0
    jobs_completed: int = 0
    assets_created: int = 0
    credits_spent: int = 0
    bytes_stored: int = 0


def empty_usage(user_id: str, now: datetime) -> DailyUsage:
    return DailyUsage(user_id=user_id, day=utc_day(now))


def within(limit: int | None, used: int, adding: int = 1) -> bool:
    return limit is None or used + adding <= limit


def check_daily_jobs(policy: QuotaPolicy, usage: DailyUsage, now: datetime) -> Result[None, DomainError]:
    """Usage from another day counts as zero: that is the whole lazy reset."""
    used = usage.jobs_created if usage.day == utc_day(now) else 0
    if within(policy.max_jobs_per_day, used):
        return Success(None)
    return Failure(
        quota_exceeded(
            f"daily job limit of {policy.max_jobs_per_day} reached; it resets at 00:00 UTC",
            retry_after=seconds_until_next_utc_day(now),
        )
    )


def check_storage(policy: QuotaPolicy, stored_bytes: int, adding: int) -> Result[None, DomainError]:
    if within(policy.max_storage_bytes, stored_bytes, adding):
        return Success(None)
    return Failure(quota_exceeded(f"storage limit of {policy.max_storage_bytes} bytes reached"))


def check_private_accounts(policy: QuotaPolicy, owned: int) -> Result[None, DomainError]:
    if within(policy.max_private_accounts, owned):
        return Success(None)
    return Failure(quota_exceeded(f"limit of {policy.max_private_accounts} private accounts reached"))


def can_start_another(policy: QuotaPolicy, running: int) -> bool:
    return within(policy.max_concurrent_jobs, running)
