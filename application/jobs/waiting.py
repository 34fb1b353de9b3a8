"""Why a pending job has not started, and whether a provider has accounts to run jobs on."""

from __future__ import annotations

import logging
from datetime import datetime

from returns.result import Failure, Result, Success

from application.actor import Actor, credential_of, refused
from domain.dispatch import Waiting, has_usable_account, room_under_limit, why_waiting
from domain.errors import DomainError, not_found
from domain.jobs import Job
from domain.ports import Clock, UnitOfWorkFactory, WaitInputs

log = logging.getLogger("pixrelay.jobs")


class ShowJob:
    """One job of the caller's, and for a pending job what holds it back, by the rules
    dispatch follows. Another user's job is NOT_FOUND.

    - The caller's credential is checked in the same read, which also reads what the wait
      depends on (one step, one round trip).
    - Scheduled (until its run time), its parent still running, its user at their
      concurrent-job limit, no account that could ever run it, every account busy, every
      account cooling down (until the first cooldown ends), the provider's circuit open
      (until it is tried again); nothing when it starts at the next claim.
    - A job that cannot start for want of accounts is logged (`job.cannot_start`).
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, actor: Actor, job_id: str) -> Result[tuple[Job, Waiting | None], DomainError]:
        credential = credential_of(actor)
        now = self._clock.now()
        found = await self._uow.read_shown_job(credential, job_id, now)
        if not found.granted:
            return Failure(refused(credential))
        if found.value is None or found.value.job.is_deleted:
            return Failure(not_found("job"))
        job, wait = found.value.job, found.value.wait
        return Success((job, None if wait is None else explain(job, wait, now)))


def explain(job: Job, wait: WaitInputs, now: datetime) -> Waiting | None:
    room = room_under_limit(wait.max_concurrent_jobs, wait.running_jobs)
    waiting = why_waiting(job, wait.parent, room, wait.accounts, now)
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
