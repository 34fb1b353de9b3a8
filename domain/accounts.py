"""Provider accounts: health rules (cooldown, disable, exhaust) and the selection policy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

import msgspec
from returns.result import Failure, Result, Success

from domain.errors import DomainError, ErrorCode, validation


class AccountStatus(StrEnum):
    ACTIVE = "active"
    COOLING_DOWN = "cooling_down"
    EXHAUSTED = "exhausted"
    DISABLED = "disabled"


class FailureKind(StrEnum):
    """How a provider failure counts against the account and the job."""

    TRANSIENT = "transient"  # 5xx, timeouts, malformed bodies: cooldown, retry elsewhere
    RATE_LIMITED = "rate_limited"  # 429: cooldown honouring Retry-After, retry elsewhere
    AUTH = "auth"  # key rejected: account disabled, retry elsewhere
    CREDITS = "credits"  # provider says out of credits: account exhausted, retry elsewhere
    INVALID = "invalid"  # the request itself is wrong: final for the job, account fine
    MODERATED = "moderated"  # content rejected: final for the job, account fine
    UNAVAILABLE = "unavailable"  # not tried at all (circuit open): nobody's fault, the job waits


ACCOUNT_FAULTS = frozenset({FailureKind.AUTH, FailureKind.CREDITS})
JOB_FINAL = frozenset({FailureKind.INVALID, FailureKind.MODERATED})


class ProviderAccount(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    provider_id: str
    label: str
    secret: str
    created_at: datetime
    owner_user_id: str | None = None
    credits: int = 0
    max_concurrent_jobs: int = 1
    current_jobs: int = 0
    priority: int = 0
    status: AccountStatus = AccountStatus.ACTIVE
    cooldown_until: datetime | None = None
    consecutive_failures: int = 0
    success_count: int = 0
    failure_count: int = 0
    last_used_at: datetime | None = None
    avg_generation_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.credits < 0:
            raise ValueError("account credits cannot go below zero")
        if self.max_concurrent_jobs < 1:
            raise ValueError("max_concurrent_jobs must be at least 1")
        if not 0 <= self.current_jobs <= self.max_concurrent_jobs:
            raise ValueError("current_jobs must be within 0..max_concurrent_jobs")

    @property
    def is_shared(self) -> bool:
        return self.owner_user_id is None


class CooldownRule(msgspec.Struct, frozen=True):
    """Transient failures cool an account down: base * 2^(n-1), capped (30 s .. 30 min)."""

    base_seconds: float = 30.0
    cap_seconds: float = 1800.0

    def duration(self, consecutive_failures: int) -> timedelta:
        exponent = max(0, consecutive_failures - 1)
        return timedelta(seconds=min(self.cap_seconds, self.base_seconds * 2**min(exponent, 32)))


class SelectionRequest(msgspec.Struct, frozen=True, kw_only=True):
    provider_id: str
    user_id: str
    cost: int
    now: datetime
    excluded_account_ids: frozenset[str] = frozenset()


def is_available(account: ProviderAccount, now: datetime) -> bool:
    if account.status is AccountStatus.ACTIVE:
        return True
    return (
        account.status is AccountStatus.COOLING_DOWN
        and account.cooldown_until is not None
        and account.cooldown_until <= now
    )


def is_eligible(account: ProviderAccount, request: SelectionRequest) -> bool:
    return (
        account.provider_id == request.provider_id
        and (account.owner_user_id is None or account.owner_user_id == request.user_id)
        and is_available(account, request.now)
        and account.credits >= request.cost
        and account.current_jobs < account.max_concurrent_jobs
        and account.id not in request.excluded_account_ids
    )


def no_available_account(provider_id: str) -> DomainError:
    return DomainError(
        ErrorCode.NO_AVAILABLE_ACCOUNT, f"no account of provider {provider_id} is free right now"
    )


class SelectionPolicy(Protocol):
    def rank(
        self, accounts: Sequence[ProviderAccount], request: SelectionRequest
    ) -> list[ProviderAccount]:
        """Eligible accounts, best first. Empty when none is eligible."""
        ...


class PreferPrivateThenPriority:
    """The user's private accounts first, then priority (high first), least recently used,
    most credits; ties broken by id so the order is total and deterministic."""

    def rank(
        self, accounts: Sequence[ProviderAccount], request: SelectionRequest
    ) -> list[ProviderAccount]:
        eligible = [a for a in accounts if is_eligible(a, request)]
        never = datetime.min.replace(tzinfo=request.now.tzinfo)
        return sorted(
            eligible,
            key=lambda a: (
                a.owner_user_id != request.user_id,
                -a.priority,
                a.last_used_at or never,
                -a.credits,
                a.id,
            ),
        )


def select(
    policy: SelectionPolicy, accounts: Sequence[ProviderAccount], request: SelectionRequest
) -> Result[ProviderAccount, DomainError]:
    ranked = policy.rank(accounts, request)
    if not ranked:
        return Failure(no_available_account(request.provider_id))
    return Success(ranked[0])


def reserve(account: ProviderAccount, cost: int, now: datetime) -> Result[ProviderAccount, DomainError]:
    """Take one concurrency slot and the estimated cost from the account's credits."""
    if cost < 0:
        return Failure(validation("cost cannot be negative"))
    if account.current_jobs >= account.max_concurrent_jobs or account.credits < cost:
        return Failure(no_available_account(account.provider_id))
    return Success(
        msgspec.structs.replace(
            account,
            current_jobs=account.current_jobs + 1,
            credits=account.credits - cost,
            last_used_at=now,
        )
    )


def free_slot(account: ProviderAccount, refund: int) -> ProviderAccount:
    """Give a job's concurrency slot back, with the credits its reservation took and did not
    use (never more slots than were taken). Not a credit hold: see `domain.ledger.release`."""
    return msgspec.structs.replace(
        account,
        current_jobs=max(0, account.current_jobs - 1),
        credits=account.credits + max(0, refund),
    )


def record_success(account: ProviderAccount, generation_seconds: float) -> ProviderAccount:
    previous = account.avg_generation_seconds
    count = account.success_count
    average = (
        generation_seconds if previous is None else (previous * count + generation_seconds) / (count + 1)
    )
    status = AccountStatus.ACTIVE if account.status is AccountStatus.COOLING_DOWN else account.status
    return msgspec.structs.replace(
        account,
        success_count=count + 1,
        consecutive_failures=0,
        avg_generation_seconds=average,
        status=status,
        cooldown_until=None if status is AccountStatus.ACTIVE else account.cooldown_until,
    )


def record_failure(
    account: ProviderAccount,
    kind: FailureKind,
    now: datetime,
    rule: CooldownRule,
    retry_after_seconds: int | None = None,
) -> ProviderAccount:
    """Account faults disable or exhaust it; transient ones cool it down with backoff.
    Failures that are the job's fault (invalid input, moderation) leave the account alone."""
    if kind in JOB_FINAL or kind is FailureKind.UNAVAILABLE:
        return account
    failures = account.failure_count + 1
    if kind is FailureKind.AUTH:
        return msgspec.structs.replace(account, status=AccountStatus.DISABLED, failure_count=failures)
    if kind is FailureKind.CREDITS:
        return msgspec.structs.replace(account, status=AccountStatus.EXHAUSTED, failure_count=failures)
    consecutive = account.consecutive_failures + 1
    cooldown = rule.duration(consecutive)
    if retry_after_seconds is not None:
        cooldown = max(cooldown, timedelta(seconds=retry_after_seconds))
    status = account.status if account.status in (AccountStatus.DISABLED, AccountStatus.EXHAUSTED) else AccountStatus.COOLING_DOWN
    return msgspec.structs.replace(
        account,
        status=status,
        cooldown_until=now + cooldown,
        consecutive_failures=consecutive,
        failure_count=failures,
    )
