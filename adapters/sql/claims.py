"""The claim's decision, the same on every SQL adapter: over the rows a claim read and locked
(the due running jobs, the pending candidates, their accounts and their users' room), the
leases `domain.jobs.take_lease` and `domain.dispatch.plan_dispatch` give, and the values the
claim's writes carry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from domain.accounts import ProviderAccount, SelectionPolicy
from domain.dispatch import ClaimedJobs, Placement, plan_dispatch, queue_order, start_on
from domain.jobs import Job, take_lease


class Locked(msgspec.Struct, frozen=True):
    """What a claim read (and on Postgres locked): its inputs."""

    expired: list[Job]
    pending: list[Job]
    pool: list[ProviderAccount]
    slots: dict[str, int | None]


class Claims(msgspec.Struct, frozen=True):
    """The jobs leased (each with the version it was read at) and the placements among them."""

    leased: list[tuple[Job, int]]
    placed: list[Placement]

    def answer(self) -> ClaimedJobs:
        claimed = [msgspec.structs.replace(job, version=version + 1) for job, version in self.leased]
        return ClaimedJobs(jobs=sorted(claimed, key=queue_order), started=frozenset(p.job.id for p in self.placed))


def plan_claims(locked: Locked, now: datetime, lease_token: str, lease_until: datetime, limit: int,
                selection: SelectionPolicy) -> Claims:
    """The domain decides, over what the statement locked: leases for the due running jobs,
    and for the pending jobs `plan_dispatch` places on an account."""
    room = limit - len(locked.expired)
    placed: list[Placement] = []
    if locked.pending:
        slots = dict.fromkeys(sorted({j.user_id for j in locked.pending}), 0) | locked.slots
        placed = plan_dispatch(locked.pending, locked.pool, slots, selection, now, room)
    leased = [(take_lease(job, lease_token, lease_until, now).unwrap(), job.version) for job in locked.expired]
    leased += [(start_on(p, lease_token, lease_until, now), p.job.version) for p in placed]
    return Claims(leased=leased, placed=placed)


def lease_values(job: Job, expected_version: int) -> dict[str, Any]:
    return {"b_id": job.id, "b_version": expected_version, "status": str(job.status),
            "lease_token": job.lease_token, "lease_expires_at": job.lease_expires_at,
            "next_poll_at": job.next_poll_at, "claimed_at": job.claimed_at, "phase": str(job.phase),
            "account_id": job.account_id, "attempts": job.attempts, "updated_at": job.updated_at}
