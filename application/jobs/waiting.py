"""Why a pending job has not started, and whether a provider has accounts to run jobs on."""

from __future__ import annotations

import logging

from application.actor import Actor
from domain.dispatch import Waiting, has_usable_account, room_under_limit, why_waiting
from domain.jobs import Job, JobStatus
from domain.ports import Clock, UnitOfWorkFactory

log = logging.getLogger("pixrelay.jobs")


class ExplainWait:
    """For a pending job: what holds it back, by the rules dispatch follows.

    - scheduled (until its run time), its parent still running, its user at their
      concurrent-job limit, no account that could ever run it, every account busy, every
      account cooling down (until the first cooldown ends), the provider's circuit open
      (until it is tried again); nothing when it starts at the next claim.
    - A job that cannot start for want of accounts is logged (`job.cannot_start`).
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, job: Job) -> Waiting | None:
        if job.status is not JobStatus.PENDING:
            return None
        async with self._uow() as uow:
            parent = await uow.jobs.get(job.parent_job_id) if job.parent_job_id else None
            user = await uow.users.get(job.user_id)
            accounts = await uow.accounts.candidates(job.provider_id, job.user_id)
        room = 0 if user is None else room_under_limit(user.quota.max_concurrent_jobs, user.running_jobs)
        waiting = why_waiting(job, parent, room, accounts, self._clock.now())
        if waiting is not None and waiting.reason.startswith(("no_account", "accounts_")):
            log.warning("job.cannot_start", extra={"job_id": job.id, "provider_id": job.provider_id,
                                                   "reason": str(waiting.reason), "until": waiting.until})
        return waiting


class UsableProviders:
    """The providers that have at least one account able to run the caller's jobs (shared,
    or the caller's own; not disabled, not exhausted)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, provider_ids: list[str]) -> set[str]:
        async with self._uow() as uow:
            return {p for p in provider_ids if has_usable_account(await uow.accounts.candidates(p, actor.user_id))}
