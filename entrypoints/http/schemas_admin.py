"""Bodies of the audit-log and statistics routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec

from application.admin.stats import AccountStats, ProviderReport, StatsReport
from domain.accounts import AccountStatus
from domain.audit import AuditEntry
from entrypoints.http.schemas_common import utc, utc_or_none


class AuditEntryOut(msgspec.Struct, kw_only=True):
    id: str
    at: datetime
    actor_id: str | None  # null: the system (workers, bootstrap)
    action: str
    resource_type: str
    resource_id: str
    details: dict[str, Any]


class AuditList(msgspec.Struct, kw_only=True):
    items: list[AuditEntryOut]
    next_cursor: str | None = None


def audit_out(entry: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(id=entry.id, at=utc(entry.at), actor_id=entry.actor_id, action=entry.action,
                         resource_type=entry.resource_type, resource_id=entry.resource_id,
                         details=dict(entry.details))


class AccountStatsOut(msgspec.Struct, kw_only=True):
    account_id: str
    label: str
    owner_user_id: str | None
    status: AccountStatus
    cooldown_until: datetime | None
    success_count: int
    failure_count: int
    success_rate: float | None  # null before the first attempt
    avg_generation_seconds: float | None


class DailyJobsOut(msgspec.Struct, kw_only=True):
    day: date
    status: str
    count: int


class ProviderStatsOut(msgspec.Struct, kw_only=True):
    provider_id: str
    jobs_by_status: dict[str, int]
    accounts: list[AccountStatsOut]
    daily: list[DailyJobsOut]


class StatsOut(msgspec.Struct, kw_only=True):
    since: datetime
    providers: list[ProviderStatsOut]


def _account(stats: AccountStats) -> AccountStatsOut:
    return AccountStatsOut(account_id=stats.account_id, label=stats.label, owner_user_id=stats.owner_user_id,
                           status=stats.status, cooldown_until=utc_or_none(stats.cooldown_until),
                           success_count=stats.success_count, failure_count=stats.failure_count,
                           success_rate=stats.success_rate, avg_generation_seconds=stats.avg_generation_seconds)


def _provider(report: ProviderReport) -> ProviderStatsOut:
    return ProviderStatsOut(
        provider_id=report.provider_id, jobs_by_status=dict(report.jobs_by_status),
        accounts=[_account(a) for a in report.accounts],
        daily=[DailyJobsOut(day=d.day, status=d.status, count=d.count) for d in report.daily],
    )


def stats_out(report: StatsReport) -> StatsOut:
    return StatsOut(since=utc(report.since), providers=[_provider(p) for p in report.providers])
