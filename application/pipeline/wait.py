"""Between polls: the job keeps its account; its worker holds it (no write) or it gives up
its lease until the next poll."""

from __future__ import annotations

from returns.result import Failure, Result, Success

from application.pipeline.failures import Step, lease_lost
from application.pipeline.held import HeldPolls
from application.policy import PipelinePolicy
from domain.errors import DomainError
from domain.jobs import Job, wait_for_provider
from domain.ports import Clock, Leased, UnitOfWorkFactory


class WaitForProvider:
    """- A job whose poll found it waiting (`leased` given) stays with this worker when it
      holds polls (HeldPolls): nothing is written.
    - Otherwise the lease is given up and any worker may take the job again once
      `next_poll_at` comes (the poll interval)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, policy: PipelinePolicy, held: HeldPolls) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy
        self._held = held

    async def __call__(self, job: Job, leased: Leased | None = None) -> Result[Step, DomainError]:
        if leased is not None and leased.job == job and self._held.keep(leased):
            return Success(Step.WAITING)
        now = self._clock.now()
        async with self._uow() as uow:
            if not await uow.jobs.save(wait_for_provider(job, now + self._policy.poll_interval, now), job.version):
                return Failure(lease_lost(job.id))
            await uow.commit()
        return Success(Step.WAITING)
