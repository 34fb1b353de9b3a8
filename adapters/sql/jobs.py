"""Jobs and provider submissions in SQL, with the claim query workers share."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import Date, Row, cast, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.claim_pg import claim_on_connection
from adapters.sql.dialect import insert_or_ignore
from adapters.sql.paging import keyset_page
from adapters.sql.rows import convert
from adapters.sql.sqlite_dispatch import claim_and_reserve_sqlite
from adapters.sql.tables import jobs, submissions
from domain.accounts import SelectionPolicy
from domain.dispatch import ClaimedJobs
from domain.jobs import TERMINAL, HeldJob, Job, JobStatus, renew_lease, still_held
from domain.pagination import Cursor, Page
from domain.ports import JobFilter
from domain.providers import ProviderSubmission

PENDING, PROCESSING, COMPLETED = str(JobStatus.PENDING), str(JobStatus.PROCESSING), str(JobStatus.COMPLETED)


def job_row(job: Job) -> dict[str, Any]:
    return msgspec.to_builtins(job, builtin_types=(datetime,))  # type: ignore[no-any-return]


def to_job(row: Row[Any]) -> Job:
    return convert(row, Job)


class SqlJobRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, job: Job) -> bool:
        """False on a taken (user_id, idempotency_key): the unique index decides, so two
        racing requests with one key create one job."""
        stmt = insert_or_ignore(self._conn, jobs).values(job_row(job)).returning(jobs.c.id)
        return (await self._conn.execute(stmt)).first() is not None

    async def get(self, job_id: str) -> Job | None:
        row = (await self._conn.execute(select(jobs).where(jobs.c.id == job_id))).first()
        return None if row is None else to_job(row)

    async def find_by_provider_job_id(self, provider_id: str, provider_job_id: str) -> Job | None:
        query = select(jobs).where(jobs.c.provider_id == provider_id, jobs.c.provider_job_id == provider_job_id)
        row = (await self._conn.execute(query)).first()
        return None if row is None else to_job(row)

    async def find_by_idempotency_key(self, user_id: str, key: str) -> Job | None:
        query = select(jobs).where(jobs.c.user_id == user_id, jobs.c.idempotency_key == key)
        row = (await self._conn.execute(query)).first()
        return None if row is None else to_job(row)

    async def page(self, where: JobFilter, after: Cursor | None, limit: int) -> Page[Job]:
        query = select(jobs)
        for column, value in (
            (jobs.c.user_id, where.user_id), (jobs.c.status, where.status),
            (jobs.c.provider_id, where.provider_id), (jobs.c.operation_type, where.operation_type),
            (jobs.c.workspace_id, where.workspace_id),
        ):
            if value is not None:
                query = query.where(column == str(value))
        if where.name_prefix is not None:
            # exact and case-sensitive on both dialects (SQLite's LIKE ignores ASCII case)
            prefix = where.name_prefix
            query = query.where(func.substr(jobs.c.name, 1, len(prefix)) == prefix)
        if where.created_after is not None:
            query = query.where(jobs.c.created_at >= where.created_after)
        if where.created_before is not None:
            query = query.where(jobs.c.created_at < where.created_before)
        query = query.where(jobs.c.deleted_at.is_(None))
        return await keyset_page(self._conn, query, jobs.c.created_at, jobs.c.id, after, limit,
                                 to_job, lambda j: (j.created_at, j.id))

    async def save(self, job: Job, expected_version: int) -> bool:
        values = job_row(job)
        del values["id"]
        values["version"] = expected_version + 1
        result = await self._conn.execute(
            update(jobs).where(jobs.c.id == job.id, jobs.c.version == expected_version)
            .values(values).returning(jobs.c.id)
        )
        return result.first() is not None

    async def renew_lease(self, hold: HeldJob, lease_until: datetime, renew_before: datetime) -> Job | None:
        """`domain.jobs.renew_lease` where `still_held`: the version stays."""
        stored = await self.get(hold.id)
        if stored is None or not still_held(stored, hold):
            return None
        renewed = renew_lease(stored, lease_until, renew_before)
        if renewed is not stored:
            await self._conn.execute(
                update(jobs).where(jobs.c.id == hold.id, jobs.c.lease_token == hold.lease_token,
                                   jobs.c.version == hold.version)
                .values(lease_expires_at=renewed.lease_expires_at))
        return renewed

    async def poke(self, job_id: str, now: datetime) -> bool:
        """`domain.jobs.poke`: the version stays."""
        result = await self._conn.execute(
            update(jobs).where(jobs.c.id == job_id, jobs.c.status == PROCESSING)
            .values(next_poll_at=now).returning(jobs.c.id)
        )
        return result.first() is not None

    async def claim_and_reserve(self, now: datetime, lease_token: str, lease_until: datetime,
                                limit: int, selection: SelectionPolicy) -> ClaimedJobs:
        if self._conn.dialect.name == "sqlite":
            return await claim_and_reserve_sqlite(self._conn, now, lease_token, lease_until, limit, selection)
        if limit <= 0:
            return ClaimedJobs(jobs=[])
        return await claim_on_connection(self._conn, now, lease_token, lease_until, limit, selection)

    async def dependents(self, parent_job_id: str) -> list[Job]:
        rows = await self._conn.execute(
            select(jobs)
            .where(jobs.c.parent_job_id == parent_job_id, jobs.c.status.not_in([str(s) for s in TERMINAL]))
            .order_by(jobs.c.created_at, jobs.c.id)
        )
        return [to_job(row) for row in rows]

    async def count_by_status(self, provider_id: str | None = None) -> dict[str, int]:
        query = select(jobs.c.status, func.count()).group_by(jobs.c.status)
        if provider_id is not None:
            query = query.where(jobs.c.provider_id == provider_id)
        return {status: count for status, count in await self._conn.execute(query)}

    async def daily_counts(self, since: datetime) -> list[tuple[str, date, str, int]]:
        if self._conn.dialect.name == "postgresql":
            # A literal, not a bind: GROUP BY must repeat the very same expression.
            day: Any = cast(func.timezone(literal_column("'UTC'"), jobs.c.created_at), Date)
        else:
            day = func.date(jobs.c.created_at)  # stored as naive UTC text
        query = (
            select(jobs.c.provider_id, day.label("day"), jobs.c.status, func.count())
            .where(jobs.c.created_at >= since)
            .group_by(jobs.c.provider_id, day, jobs.c.status)
        )
        rows = await self._conn.execute(query)
        return sorted(
            (provider, value if isinstance(value, date) else date.fromisoformat(value), status, count)
            for provider, value, status, count in rows
        )


def to_submission(row: Row[Any]) -> ProviderSubmission:
    return convert(row, ProviderSubmission)


class SqlSubmissionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, submission: ProviderSubmission) -> None:
        await self._conn.execute(submissions.insert().values(msgspec.structs.asdict(submission)))

    async def get(self, submission_id: str) -> ProviderSubmission | None:
        row = (await self._conn.execute(
            select(submissions).where(submissions.c.id == submission_id))).first()
        return None if row is None else to_submission(row)

    async def update(self, submission: ProviderSubmission) -> None:
        values = msgspec.structs.asdict(submission)
        del values["id"]
        await self._conn.execute(
            update(submissions).where(submissions.c.id == submission.id).values(values))

    async def for_job(self, job_id: str) -> list[ProviderSubmission]:
        rows = await self._conn.execute(
            select(submissions).where(submissions.c.job_id == job_id)
            .order_by(submissions.c.attempt, submissions.c.submitted_at, submissions.c.id)
        )
        return [to_submission(row) for row in rows]
