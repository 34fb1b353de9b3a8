"""Drive claimed jobs until each waits or ends: what a worker does on every tick."""

from __future__ import annotations

from returns.result import Failure

from application.pipeline.advance import AdvanceJob, Step
from application.pipeline.claim import ClaimJobs
from domain.jobs import Job

MAX_STEPS = 8  # reserve, submit, poll, finish, with room for re-attach


class RunJob:
    """Advance one leased job until it waits on something or is over."""

    def __init__(self, advance: AdvanceJob) -> None:
        self._advance = advance

    async def __call__(self, job: Job) -> Step | None:
        if job.lease_token is None:
            return None
        for _ in range(MAX_STEPS):
            result = await self._advance(job.id, job.lease_token)
            if isinstance(result, Failure):
                return None  # lease lost: somebody else owns the job now
            if result.unwrap() is not Step.CONTINUE:
                return result.unwrap()
        return Step.WAITING


class DrainOnce:
    """Claim one batch of due jobs and run each of them; how many were claimed."""

    def __init__(self, claim: ClaimJobs, run: RunJob) -> None:
        self._claim = claim
        self._run = run

    async def __call__(self, limit: int | None = None) -> int:
        claimed = await self._claim(limit)
        for job in claimed:
            await self._run(job)
        return len(claimed)
