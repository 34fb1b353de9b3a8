"""How providers and their accounts are doing."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import msgspec
from returns.result import Failure, Result, Success

from application.actor import Actor
from domain.accounts import AccountStatus, ProviderAccount
from domain.errors import DomainError, forbidden
from domain.jobs import JobStatus
from domain.ports import Clock, ProviderRegistry, UnitOfWorkFactory

HISTORY = timedelta(days=30)


class AccountStats(msgspec.Struct, frozen=True, kw_only=True):
    account_id: str
    label: str
    owner_user_id: str | None
    status: AccountStatus
    cooldown_until: datetime | None
    success_count: int
    failure_count: int
    success_rate: float | None  # None before the first attempt
    avg_generation_seconds: float | None


class DailyJobs(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    status: str
    count: int


class ProviderReport(msgspec.Struct, frozen=True, kw_only=True):
    provider_id: str
    jobs_by_status: dict[str, int]
    accounts: list[AccountStats]
    daily: list[DailyJobs]


class StatsReport(msgspec.Struct, frozen=True, kw_only=True):
    since: datetime
    providers: list[ProviderReport]


def account_stats(account: ProviderAccount) -> AccountStats:
    attempts = account.success_count + account.failure_count
    return AccountStats(
        account_id=account.id, label=account.label, owner_user_id=account.owner_user_id,
        status=account.status, cooldown_until=account.cooldown_until,
        success_count=account.success_count, failure_count=account.failure_count,
        success_rate=account.success_count / attempts if attempts else None,
        avg_generation_seconds=account.avg_generation_seconds,
    )


class ProviderStats:
    """Per provider: jobs by status, each account's health (success rate, average generation
    time, status, cooldown) and jobs per day and status over the last 30 days.

    - Admin only (FORBIDDEN otherwise).
    - Every offered provider appears, and any other that still has accounts or recent jobs;
      every job status is present (0 when none).
    """

    def __init__(self, uow: UnitOfWorkFactory, providers: ProviderRegistry, clock: Clock) -> None:
        self._uow = uow
        self._providers = providers
        self._clock = clock

    async def __call__(self, actor: Actor) -> Result[StatsReport, DomainError]:
        if not actor.is_admin:
            return Failure(forbidden())
        since = self._clock.now() - HISTORY
        async with self._uow() as uow:
            accounts = await uow.accounts.find()
            daily = await uow.jobs.daily_counts(since)
            provider_ids = sorted({p.id for p in self._providers.all()}
                                  | {a.provider_id for a in accounts} | {row[0] for row in daily})
            by_status = {p: await uow.jobs.count_by_status(p) for p in provider_ids}
        reports = [
            ProviderReport(
                provider_id=p,
                jobs_by_status={str(s): by_status[p].get(str(s), 0) for s in JobStatus},
                accounts=[account_stats(a) for a in accounts if a.provider_id == p],
                daily=[DailyJobs(day=d, status=s, count=n) for (pid, d, s, n) in daily if pid == p],
            )
            for p in provider_ids
        ]
        return Success(StatsReport(since=since, providers=reports))
