"""Polls held by a worker lease: the jobs waiting on their provider that this worker keeps."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import msgspec

from application.policy import PipelinePolicy
from domain.jobs import HeldJob, Job, held, poked
from domain.ports import Clock, Leased, UnitOfWorkFactory

log = logging.getLogger("pixrelay.worker")

CAPACITY = 10_000  # jobs held at once; past it a waiting job is written and given up as before


class HeldPolls:
    """Jobs waiting on their provider that this worker keeps leased, in memory, each with
    when it polls them next.

    - Off until the worker opens it: without a holder (DrainOnce, one-off runs) a waiting job
      gives up its lease and its next poll is written, as before.
    - A poll that finds the job unchanged writes nothing: the job comes back here, due one
      poll interval later, with its lease, account, hold and submission as read before.
    - Once per cycle (`PipelinePolicy.lease_renewal`) ONE step renews the leases of the
      jobs waiting here (those a third or more through their lease; no version bump, so the
      copies here stay valid for the next write) and reads them all back.
      A job not renewed was cancelled, taken or changed: it is let go. A job whose stored
      `next_poll_at` changed since it was last seen was poked by a provider webhook: it is
      due now.
    - The worker stops: every job waiting here is given back in one step, due when this
      worker would have polled it (or at once if poked).
    - A crashed worker writes nothing more: its leases run out and the claim takes its jobs
      back, due at once.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, policy: PipelinePolicy) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy
        self._open = False
        self._waiting: dict[str, tuple[Leased, HeldJob]] = {}
        self._out: dict[str, Leased] = {}  # due, handed to a poll
        self._renewed_at: datetime | None = None

    def open(self) -> None:
        self._open = True

    def now(self) -> datetime:
        return self._clock.now()

    @property
    def cycle(self) -> timedelta:
        """The renewal's period: well inside the lease, however short that is set."""
        return min(self._policy.lease_renewal, self._policy.lease / 3)

    def __len__(self) -> int:
        return len(self._waiting) + len(self._out)

    def holds(self, job_id: str) -> bool:
        """Waiting here for its next poll."""
        return job_id in self._waiting

    def keep(self, leased: Leased) -> bool:
        """Hold a job its poll found still waiting; False when there is no holder (or it is
        full), and the caller writes the wait instead."""
        if not self._open or leased.job.lease_token is None or len(self) >= CAPACITY:
            return False
        self._waiting[leased.job.id] = (leased, held(leased.job, self._clock.now() + self._policy.poll_interval))
        return True

    def due(self, limit: int) -> list[Job]:
        """Up to `limit` jobs whose poll is due, soonest first, handed out for polling."""
        now = self._clock.now()
        ready = sorted((hold.due_at, job_id) for job_id, (_, hold) in self._waiting.items() if hold.due_at <= now)
        jobs = []
        for _, job_id in ready[:max(0, limit)]:
            leased, _ = self._waiting.pop(job_id)
            self._out[job_id] = leased
            jobs.append(leased.job)
        return jobs

    def take(self, job_id: str, lease_token: str) -> Leased | None:
        """The job handed out by `due`, as held (no read needed)."""
        leased = self._out.pop(job_id, None)
        return leased if leased is not None and leased.job.lease_token == lease_token else None

    def next_wake(self) -> datetime | None:
        """When the holder has something to do next: a poll due, or the next renewal."""
        if not self._waiting:
            return None
        first_due = min(hold.due_at for _, hold in self._waiting.values())
        return first_due if self._renewed_at is None else min(first_due, self._renewed_at + self.cycle)

    async def renew(self) -> None:
        """Once per cycle: one round trip for all the jobs held."""
        now = self._clock.now()
        if not self._waiting or (self._renewed_at is not None and now < self._renewed_at + self.cycle):
            return
        self._renewed_at = now
        holds = [hold for _, hold in self._waiting.values()]
        # A lease is extended once a third of it has gone, not on every cycle.
        renewed = await self._uow.renew_leases(holds, now + self._policy.lease, now + self._policy.lease * 2 / 3)
        for hold in holds:
            entry = self._waiting.get(hold.id)
            if entry is None or entry[1] is not hold:
                continue
            if hold.id not in renewed:
                del self._waiting[hold.id]
                log.info("worker.job_let_go", extra={"job_id": hold.id})
                continue
            state = renewed[hold.id]
            leased = entry[0]
            job = msgspec.structs.replace(leased.job, lease_expires_at=state.lease_expires_at,
                                          next_poll_at=state.next_poll_at)
            due_at = min(hold.due_at, now) if poked(job, hold) else hold.due_at
            self._waiting[hold.id] = (msgspec.structs.replace(leased, job=job),
                                      msgspec.structs.replace(hold, seen_poll_at=state.next_poll_at, due_at=due_at))

    async def release(self) -> int:
        """Give every job held back, in one step; the holder stays closed from then on."""
        self._open = False
        holds = [hold for _, hold in self._waiting.values()]
        self._waiting.clear()
        return await self._uow.release_leases(holds, self._clock.now()) if holds else 0
