"""Cancel a job."""

from __future__ import annotations

import contextlib

from returns.result import Failure, Result, Success

from application.actor import Actor
from application.audit import AuditTrail
from application.events import AfterCommit
from application.jobs.settlement import fail_dependents, free_account_slot, release_credits
from domain.errors import DomainError, conflict, not_found
from domain.events import JobCancelled
from domain.jobs import Job, JobStatus, cancel
from domain.ports import Clock, EventBus, IdGenerator, ProviderRegistry, UnitOfWork, UnitOfWorkFactory

SAVE_TRIES = 5


class CancelJob:
    """Cancel one of the caller's jobs.

    - Pending jobs are cancelled at once; processing ones too, and the provider is asked to
      cancel its side (best effort) once the cancellation is recorded.
    - The credit hold is released, the account slot and the user's run slot given back.
    - Jobs waiting on this one fail with PARENT_FAILED.
    - A finished job cannot be cancelled (409 INVALID_TRANSITION); another user's job is 404.
    """

    def __init__(self, uow: UnitOfWorkFactory, providers: ProviderRegistry, clock: Clock,
                 ids: IdGenerator, audit: AuditTrail, events: EventBus) -> None:
        self._uow = uow
        self._providers = providers
        self._clock = clock
        self._ids = ids
        self._audit = audit
        self._events = events

    async def __call__(self, actor: Actor, job_id: str) -> Result[Job, DomainError]:
        after_commit = AfterCommit()
        for _ in range(SAVE_TRIES):
            async with self._uow() as uow:
                outcome = await self._cancel(uow, actor, job_id, after_commit)
                if outcome is None:
                    continue  # a worker moved the job meanwhile: read it again
                if isinstance(outcome, Success):
                    await uow.commit()
            if isinstance(outcome, Success):
                before, after = outcome.unwrap()
                await after_commit.flush(self._events)
                await self._cancel_remote(before)
                return Success(after)
            return Failure(outcome.failure())
        return Failure(conflict("the job is changing too fast to cancel; try again"))

    async def _cancel(self, uow: UnitOfWork, actor: Actor, job_id: str,
                      after_commit: AfterCommit) -> Result[tuple[Job, Job], DomainError] | None:
        now = self._clock.now()
        job = await uow.jobs.get(job_id)
        if job is None or job.user_id != actor.user_id or job.is_deleted:
            return Failure(not_found("job"))
        cancelled = cancel(job, now)
        if isinstance(cancelled, Failure):
            return Failure(cancelled.failure())
        if not await uow.jobs.save(cancelled.unwrap(), job.version):
            return None
        await release_credits(uow, job, self._ids, now)
        if job.status is JobStatus.PROCESSING:
            await free_account_slot(uow, job, refund=job.cost_estimate)
            await uow.users.release_run_slot(job.user_id)
        await fail_dependents(uow, cancelled.unwrap(), self._ids, now, after_commit)
        await self._audit.record(uow, actor.user_id, "job.cancel", "job", job.id, was=str(job.status))
        after_commit.add(JobCancelled(job_id=job.id, user_id=job.user_id, at=now))
        return Success((job, cancelled.unwrap()))

    async def _cancel_remote(self, job: Job) -> None:
        if job.provider_job_id is None or job.account_id is None:
            return
        client = self._providers.get(job.provider_id)
        async with self._uow() as uow:
            account = await uow.accounts.get(job.account_id)
        if client is not None and account is not None:
            with contextlib.suppress(OSError, TimeoutError):  # best effort: cancelled on our side anyway
                await client.cancel(account.secret, job.provider_job_id)
