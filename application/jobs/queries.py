"""Read a caller's jobs."""

from __future__ import annotations

from datetime import datetime

from returns.result import Failure, Result, Success

from application.actor import Actor, credential_of, refused
from domain.errors import DomainError, not_found, validation
from domain.jobs import Job, JobStatus
from domain.pagination import Page, clamp_limit, decode_cursor
from domain.ports import Clock, JobFilter, UnitOfWorkFactory


class GetJob:
    """One job of the caller's. Another user's job is NOT_FOUND.

    - The caller's credential is checked in the same read (one step, one round trip).
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, actor: Actor, job_id: str) -> Result[Job, DomainError]:
        credential = credential_of(actor)
        found = await self._uow.read_job(credential, job_id, self._clock.now())
        if not found.granted:
            return Failure(refused(credential))
        if found.value is None or found.value.is_deleted:
            return Failure(not_found("job"))
        return Success(found.value)


class ListJobs:
    """The caller's jobs, newest first, with cursor pagination.

    - Filters: status, provider_id, operation_type, workspace_id; `name` (a prefix of the
      job's name), `created_after` (inclusive) and `created_before` (exclusive).
    - Deleted jobs are not listed.
    - `limit` is clamped to 1..100; a malformed cursor is a VALIDATION_ERROR.
    - The caller's credential is checked in the same read (one step, one round trip).
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, actor: Actor, *, status: str | None = None, provider_id: str | None = None,
                       operation_type: str | None = None, workspace_id: str | None = None,
                       cursor: str | None = None, limit: int | None = None, name: str | None = None,
                       created_after: datetime | None = None,
                       created_before: datetime | None = None) -> Result[Page[Job], DomainError]:
        after = decode_cursor(cursor)
        if isinstance(after, ValueError):
            return Failure(validation(str(after), "cursor"))
        if status is not None and status not in JobStatus.__members__.values():
            return Failure(validation(f"unknown status {status}", "status"))
        where = JobFilter(user_id=actor.user_id, status=JobStatus(status) if status else None,
                          provider_id=provider_id, operation_type=operation_type, workspace_id=workspace_id,
                          name_prefix=name, created_after=created_after, created_before=created_before)
        credential = credential_of(actor)
        page = await self._uow.page_jobs(credential, where, after, clamp_limit(limit), self._clock.now())
        if not page.granted or page.value is None:
            return Failure(refused(credential))
        return Success(page.value)
