"""In-memory jobs and provider submissions, with the same claim rules as the SQL adapters."""

from __future__ import annotations

import heapq
from collections import Counter
from datetime import date, datetime

import msgspec

from adapters.memory.paging import paginate
from adapters.memory.store import MemoryState
from domain.clock import utc_day
from domain.jobs import Job, JobStatus, take_lease
from domain.pagination import Cursor, Page
from domain.ports import JobFilter
from domain.providers import ProviderSubmission
from domain.quotas import can_start_another


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
            )

        chosen = (j for j in self._state.jobs.values() if matches(j))
        return paginate(chosen, lambda j: (j.created_at, j.id), after, limit)

    async def save(self, job: Job, expected_version: int) -> bool:
        stored = self._state.jobs.get(job.id)
        if stored is None or stored.version != expected_version:
            return False
        self._state.jobs[job.id] = msgspec.structs.replace(job, version=expected_version + 1)
        return True

    def _parent_done(self, job: Job) -> bool:
        if job.parent_job_id is None:
            return True
        parent = self._state.jobs.get(job.parent_job_id)
        return parent is not None and parent.status is JobStatus.COMPLETED

    def _take_run_slot(self, user_id: str) -> bool:
        user = self._state.users.get(user_id)
        if user is None or not can_start_another(user.quota, user.running_jobs):
            return False
        self._state.users[user_id] = msgspec.structs.replace(user, running_jobs=user.running_jobs + 1)
        return True

    async def claim_due(self, now: datetime, lease_token: str, lease_until: datetime,
                        limit: int) -> list[Job]:
        # is_due, spelled out per status over the open jobs: this runs on every claim.
        pending = [j for j in self._state.lookup("jobs", "open", JobStatus.PENDING) if j.run_after <= now]
        expired = [j for j in self._state.lookup("jobs", "open", JobStatus.PROCESSING)
                   if j.lease_expires_at is None or j.lease_expires_at <= now]
        # Best first without sorting them all: most due jobs wait for an account, and a
        # claim takes a handful.
        due = [((j.priority, j.created_at, j.id), j) for j in pending + expired
               if j.parent_job_id is None or self._parent_done(j)]
        heapq.heapify(due)
        claimed: list[Job] = []
        while due and len(claimed) < limit:
            _, job = heapq.heappop(due)
            if job.status is JobStatus.PENDING and not self._take_run_slot(job.user_id):
                continue
            leased = take_lease(job, lease_token, lease_until, now).unwrap()
            leased = msgspec.structs.replace(leased, version=job.version + 1)
            self._state.jobs[job.id] = leased
            claimed.append(leased)
        return claimed

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
