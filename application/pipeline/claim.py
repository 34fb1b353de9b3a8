"""Workers take due jobs under a lease."""

from __future__ import annotations

from application.policy import PipelinePolicy
from domain.jobs import Job
from domain.ports import Clock, RandomSource, UnitOfWorkFactory


class ClaimJobs:
    """Lease a batch of due jobs for one worker.

    - Pending jobs whose time has come and whose parent (if any) completed, best priority
      (0) first, then oldest; a user at their concurrent-job limit waits.
    - Processing jobs whose lease ran out: a crashed worker's jobs, and due polls.
    - Many workers never take the same job: each claim carries a fresh lease token.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, random: RandomSource,
                 policy: PipelinePolicy) -> None:
        self._uow = uow
        self._clock = clock
        self._random = random
        self._policy = policy

    async def __call__(self, limit: int | None = None) -> list[Job]:
        now = self._clock.now()
        token = self._random.token(16)
        async with self._uow() as uow:
            claimed = await uow.jobs.claim_due(now, token, now + self._policy.lease,
                                               limit or self._policy.claim_batch)
            await uow.commit()
        return claimed
