"""Between polls: the job keeps its account and gives up its lease until the next poll."""

from __future__ import annotations

from returns.result import Failure, Result, Success

from application.pipeline.failures import Step, lease_lost
from application.policy import PipelinePolicy
from domain.errors import DomainError
from domain.jobs import Job, wait_for_provider
from domain.ports import Clock, UnitOfWorkFactory


class WaitForProvider:
    """Any worker may take the job again once `next_poll_at` comes (the poll interval)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, policy: PipelinePolicy) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy

    async def __call__(self, job: Job) -> Result[Step, DomainError]:
        now = self._clock.now()
        async with self._uow() as uow:
            if not await uow.jobs.save(wait_for_provider(job, now + self._policy.poll_interval, now), job.version):
                return Failure(lease_lost(job.id))
            await uow.commit()
        return Success(Step.WAITING)
