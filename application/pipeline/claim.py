"""Workers take due jobs under a lease; a pending job starts only with an account."""

from __future__ import annotations

from application.events import AfterCommit
from application.policy import PipelinePolicy
from domain.accounts import SelectionPolicy
from domain.events import AccountSelected, JobStarted
from domain.jobs import Job
from domain.ports import Clock, EventBus, RandomSource, UnitOfWorkFactory


class ClaimJobs:
    """Lease a batch of due jobs for one worker, in one atomic step.

    - Pending jobs whose time has come and whose parent (if any) completed, best priority
      (0) first, then oldest, each only together with an account reserved for it (the
      selection policy's best free account) and one of its user's run slots.
    - A job that finds no free account waits, and no lower-priority job takes an account it
      is waiting for; jobs for other accounts or providers go ahead. A user at their
      concurrent-job limit waits without holding anyone back.
    - Processing jobs whose lease ran out: a crashed worker's jobs, and due polls.
    - Many workers never take the same job: each claim carries a fresh lease token.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, random: RandomSource,
                 policy: PipelinePolicy, selection: SelectionPolicy, events: EventBus) -> None:
        self._uow = uow
        self._clock = clock
        self._random = random
        self._policy = policy
        self._selection = selection
        self._events = events

    async def __call__(self, limit: int | None = None) -> list[Job]:
        now = self._clock.now()
        token = self._random.token(16)
        claimed = await self._uow.claim(now, token, now + self._policy.lease, limit or self._policy.claim_batch,
                                        self._selection)
        after_commit = AfterCommit()
        for job in claimed.jobs:
            if job.id in claimed.started and job.account_id is not None:
                after_commit.add(JobStarted(job_id=job.id, user_id=job.user_id, at=now, attempt=job.attempts))
                after_commit.add(AccountSelected(job_id=job.id, user_id=job.user_id, at=now,
                                           account_id=job.account_id, attempt=job.attempts))
        await after_commit.flush(self._events)
        return claimed.jobs
