"""Re-run a failed or cancelled job; delete a finished one."""

from __future__ import annotations

import msgspec
from returns.result import Failure, Result, Success

from application.actor import Actor
from application.audit import AuditTrail
from application.jobs.create import Created, CreateJob, JobRequest
from domain.errors import DomainError, ErrorCode, conflict, not_found
from domain.jobs import Job, JobStatus
from domain.ports import Clock, UnitOfWorkFactory

RETRYABLE = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})
SAVE_TRIES = 5


def request_of(job: Job) -> JobRequest:
    """What was asked for `job`, to ask again (now: a schedule is not repeated)."""
    return JobRequest(provider_id=job.provider_id, model=job.model, operation_type=str(job.operation_type),
                      params=dict(job.params),
                      input_asset_ids=list(job.input_asset_ids), priority=job.priority,
                      parent_job_id=job.parent_job_id, workspace_id=job.workspace_id, name=job.name)


class RetryJob:
    """Submit a failed or cancelled job of the caller's again, as a new job.

    - The new job has the same provider, model, operation, params, inputs, priority, parent,
      workspace and name, runs now, and names the old one in `retried_from`.
    - It is a new job in every other way: the daily limit, the credit hold and the checks
      of its inputs and parent apply as on submission (429, 402, 404, 409).
    - Pending, processing and completed jobs cannot be retried (409 INVALID_TRANSITION);
      another user's job, or a deleted one, is 404.
    - An Idempotency-Key gives the same new job back when the retry is sent again.
    """

    def __init__(self, uow: UnitOfWorkFactory, create_job: CreateJob) -> None:
        self._uow = uow
        self._create_job = create_job

    async def __call__(self, actor: Actor, job_id: str,
                       idempotency_key: str | None = None) -> Result[Created, DomainError]:
        async with self._uow() as uow:
            job = await uow.jobs.get(job_id)
        if job is None or job.user_id != actor.user_id or job.is_deleted:
            return Failure(not_found("job"))
        if job.status not in RETRYABLE:
            return Failure(DomainError(ErrorCode.INVALID_TRANSITION,
                                       f"only failed or cancelled jobs can be retried; this one is {job.status}"))
        return await self._create_job(actor, request_of(job), idempotency_key, retried_from=job.id)


class DeleteJob:
    """Delete a finished job of the caller's.

    - Only completed, failed and cancelled jobs (409 INVALID_TRANSITION otherwise: cancel it
      first). Another user's job, or one already deleted, is 404.
    - The job leaves listings and reads (404 from then on); its credit movements, audit
      entries and result assets are kept.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, audit: AuditTrail) -> None:
        self._uow = uow
        self._clock = clock
        self._audit = audit

    async def __call__(self, actor: Actor, job_id: str) -> Result[None, DomainError]:
        for _ in range(SAVE_TRIES):
            async with self._uow() as uow:
                job = await uow.jobs.get(job_id)
                if job is None or job.user_id != actor.user_id or job.is_deleted:
                    return Failure(not_found("job"))
                if not job.is_terminal:
                    return Failure(DomainError(ErrorCode.INVALID_TRANSITION,
                                               f"only finished jobs can be deleted; this one is {job.status}"))
                now = self._clock.now()
                if not await uow.jobs.save(msgspec.structs.replace(job, deleted_at=now, updated_at=now), job.version):
                    continue  # changed meanwhile: read it again
                await self._audit.record(uow, actor.user_id, "job.delete", "job", job.id)
                await uow.commit()
                return Success(None)
        return Failure(conflict("the job is changing too fast to delete; try again"))
