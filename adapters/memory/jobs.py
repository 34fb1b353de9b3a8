"""In-memory jobs and provider submissions, with the same claim rules as the SQL adapters."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

import msgspec

from adapters.memory.paging import paginate
from adapters.memory.store import MemoryState
from domain.accounts import SelectionPolicy
from domain.clock import utc_day
from domain.dispatch import (
    ClaimedJobs,
    dispatch_window,
    has_free_account,
    plan_dispatch,
    queue_order,
    room_under_limit,
    start_on,
)
from domain.jobs import HeldJob, Job, JobStatus, is_due, poke, renew_lease, still_held, take_lease
from domain.pagination import Cursor, Page
from domain.ports import JobFilter
from domain.providers import ProviderSubmission


class InMemoryJobRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, job: Job) -> bool:
        if job.idempotency_key is not None and await self.find_by_idempotency_key(
            job.user_id, job.idempotency_key
        ):
            return False
        self._state.jobs[job.id] = job
        return True

    async def get(self, job_id: str) -> Job | None:
        return self._state.jobs.get(job_id)

    async def find_by_idempotency_key(self, user_id: str, key: str) -> Job | None:
        found: list[Job] = self._state.lookup("jobs", "idempotency", (user_id, key))
        return found[0] if found else None

    async def page(self, where: JobFilter, after: Cursor | None, limit: int) -> Page[Job]:
        def matches(job: Job) -> bool:
            return (
                (where.user_id is None or job.user_id == where.user_id)
                and (where.status is None or job.status == where.status)
                and (where.provider_id is None or job.provider_id == where.provider_id)
                and (where.operation_type is None or job.operation_type == where.operation_type)
                and (where.workspace_id is None or job.workspace_id == where.workspace_id)
                and (where.name_prefix is None
                     or (job.name is not None and job.name.startswith(where.name_prefix)))
                and (where.created_after is None or job.created_at >= where.created_after)
                and (where.created_before is None or job.created_at < where.created_before)
                and job.deleted_at is None
            )

        chosen = (j for j in self._state.jobs.values() if matches(j))
        return paginate(chosen, lambda j: (j.created_at, j.id), after, limit)

    async def save(self, job: Job, expected_version: int) -> bool:
        stored = self._state.jobs.get(job.id)
        if stored is None or stored.version != expected_version:
            return False
        self._state.jobs[job.id] = msgspec.structs.replace(job, version=expected_version + 1)
        return True

    async def renew_lease(self, hold: HeldJob, lease_until: datetime, renew_before: datetime) -> Job | None:
        stored = self._state.jobs.get(hold.id)
        if stored is None or not still_held(stored, hold):
            return None
        renewed = renew_lease(stored, lease_until, renew_before)
        if renewed is not stored:
            self._state.jobs[hold.id] = renewed
        return renewed

    async def poke(self, job_id: str, now: datetime) -> bool:
        stored = self._state.jobs.get(job_id)
        poked = None if stored is None else poke(stored, now)
        if poked is not None:
            self._state.jobs[job_id] = poked
        return poked is not None

    def _parent_done(self, job: Job) -> bool:
        if job.parent_job_id is None:
            return True
        parent = self._state.jobs.get(job.parent_job_id)
        return parent is not None and parent.status is JobStatus.COMPLETED

    async def claim_and_reserve(self, now: datetime, lease_token: str, lease_until: datetime,
                                limit: int, selection: SelectionPolicy) -> ClaimedJobs:
        """The domain's dispatch plan over the whole store (the unit of work holds its lock)."""
        # Only open jobs, through the store's index: this runs on every claim.
        open_jobs = (self._state.lookup("jobs", "open", JobStatus.PENDING)
                     + self._state.lookup("jobs", "open", JobStatus.PROCESSING))
        due = [j for j in open_jobs if is_due(j, now) and self._parent_done(j)]
        resumed = sorted((j for j in due if j.status is JobStatus.PROCESSING), key=queue_order)[:limit]
        accounts = list(self._state.accounts.values())
        startable = [j for j in due if j.status is JobStatus.PENDING and has_free_account(j, accounts, now)]
        slots = {j.user_id: self._room(j.user_id) for j in startable}
        room = limit - len(resumed)
        window = dispatch_window(startable, slots, room)
        placed = plan_dispatch(window, accounts, slots, selection, now, room)
        claimed: list[Job] = []
        for job in resumed:
            leased = take_lease(job, lease_token, lease_until, now).unwrap()
            claimed.append(self._store(leased, job.version))
        for placement in placed:
            self._state.accounts[placement.account.id] = placement.account
            user = self._state.users[placement.job.user_id]
            self._state.users[user.id] = msgspec.structs.replace(user, running_jobs=user.running_jobs + 1)
            claimed.append(self._store(start_on(placement, lease_token, lease_until, now), placement.job.version))
        return ClaimedJobs(jobs=sorted(claimed, key=queue_order),
                           started=frozenset(p.job.id for p in placed))

    def _room(self, user_id: str) -> int | None:
        user = self._state.users.get(user_id)
        return 0 if user is None else room_under_limit(user.quota.max_concurrent_jobs, user.running_jobs)

    def _store(self, job: Job, version: int) -> Job:
        stored = msgspec.structs.replace(job, version=version + 1)
        self._state.jobs[job.id] = stored
        return stored

    async def find_by_provider_job_id(self, provider_id: str, provider_job_id: str) -> Job | None:
        return next((j for j in self._state.jobs.values()
                     if j.provider_id == provider_id and j.provider_job_id == provider_job_id), None)

    async def dependents(self, parent_job_id: str) -> list[Job]:
        children: list[Job] = self._state.lookup("jobs", "open_children", parent_job_id)
        return children

    async def count_by_status(self, provider_id: str | None = None) -> dict[str, int]:
        counts = Counter(
            str(j.status) for j in self._state.jobs.values()
            if provider_id is None or j.provider_id == provider_id
        )
        return dict(counts)

    async def daily_counts(self, since: datetime) -> list[tuple[str, date, str, int]]:
        counts = Counter(
            (j.provider_id, utc_day(j.created_at), str(j.status))
            for j in self._state.jobs.values() if j.created_at >= since
        )
        return sorted((p, d, s, n) for (p, d, s), n in counts.items())


class InMemorySubmissionRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, submission: ProviderSubmission) -> None:
        self._state.submissions[submission.id] = submission

    async def get(self, submission_id: str) -> ProviderSubmission | None:
        return self._state.submissions.get(submission_id)

    async def update(self, submission: ProviderSubmission) -> None:
        self._state.submissions[submission.id] = submission

    async def for_job(self, job_id: str) -> list[ProviderSubmission]:
        found: list[ProviderSubmission] = self._state.lookup("submissions", "job", job_id)
        return sorted(found, key=lambda s: (s.attempt, s.submitted_at, s.id))
