"""Jobs: the state machine, its transition table and the retry policy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import msgspec
from returns.result import Failure, Result, Success

from domain.errors import DomainError, ErrorCode, invalid_transition, validation
from domain.routing import Choice, JobRoute


class JobStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OperationType(StrEnum):
    TEXT_TO_IMAGE = "text_to_image"
    IMAGE_TO_IMAGE = "image_to_image"
    TEXT_TO_VIDEO = "text_to_video"
    IMAGE_TO_VIDEO = "image_to_video"
    VIDEO_EXTEND = "video_extend"
    VIDEO_TRANSITION = "video_transition"
    UPSCALE = "upscale"


class JobPhase(StrEnum):
    """Where a job is in the pipeline: what the next worker to hold it does."""

    QUEUED = "queued"  # pending: dispatch reserves an account and starts it
    SUBMIT = "submit"  # an account is reserved: stage the inputs, record the submission, send it
    REATTACH = "reattach"  # recorded but unanswered (a crash, a timeout): find it at the provider
    POLL = "poll"  # the provider has it: ask how it is going until it ends
    FINISHED = "finished"  # completed, failed or cancelled


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})

# Pending -> failed happens when a parent job fails; processing -> pending is a retry
# or a hand-back (no account free, user at their concurrency limit).
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.PROCESSING, JobStatus.CANCELLED, JobStatus.FAILED}),
    JobStatus.PROCESSING: frozenset(
        {JobStatus.PENDING, JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}
    ),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}

MIN_PRIORITY, MAX_PRIORITY = 0, 10
DEFAULT_PRIORITY = 5
DEFAULT_MAX_ATTEMPTS = 3


class Job(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    user_id: str
    provider_id: str
    operation_type: OperationType
    params: dict[str, Any]
    created_at: datetime
    run_after: datetime
    input_asset_ids: tuple[str, ...] = ()
    workspace_id: str | None = None
    name: str | None = None
    priority: int = DEFAULT_PRIORITY
    scheduled_at: datetime | None = None
    parent_job_id: str | None = None
    status: JobStatus = JobStatus.PENDING
    attempts: int = 0
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    error_code: str | None = None
    error_message: str | None = None
    account_id: str | None = None
    excluded_account_ids: tuple[str, ...] = ()
    submission_id: str | None = None
    provider_job_id: str | None = None
    result_asset_ids: tuple[str, ...] = ()
    cost_estimate: int = 0
    hold_id: str | None = None
    idempotency_key: str | None = None
    request_fingerprint: str | None = None
    lease_token: str | None = None
    lease_expires_at: datetime | None = None
    started_at: datetime | None = None  # when the provider accepted it
    claimed_at: datetime | None = None  # when a worker first started it (an account reserved)
    phase: JobPhase = JobPhase.QUEUED
    next_poll_at: datetime | None = None  # a job waiting on its provider is due again then
    completed_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0
    webhook_url: str | None = None  # Replicate's shape: this job's events go here too
    webhook_events: tuple[str, ...] | None = None  # None: every terminal event
    retried_from: str | None = None
    """The failed or cancelled job this one re-runs (POST /v1/jobs/{id}/retry)."""
    deleted_at: datetime | None = None
    """Deleted by its owner: gone from listings; its ledger, audit and assets stay."""
    model: str | None = None
    """The catalog model it runs on (domain/models.py); None on jobs made before models."""
    route: JobRoute | None = None
    """A routed job's candidates, failures and reason (domain/routing.py); None: not routed."""

    @property
    def routed_to(self) -> str | None:
        """Where a routed job runs (its model id); None for a job that names its provider."""
        return (self.model or self.provider_id) if self.route is not None else None

    def __post_init__(self) -> None:
        if not MIN_PRIORITY <= self.priority <= MAX_PRIORITY:
            raise ValueError(f"priority must be within {MIN_PRIORITY}..{MAX_PRIORITY}")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.attempts < 0 or self.cost_estimate < 0:
            raise ValueError("attempts and cost_estimate cannot be negative")

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


def check_priority(priority: int) -> Result[int, DomainError]:
    """A job's priority: 0 runs first, 10 last (an account's priority is the other way
    round: see `application.accounts.admin.check_account_priority`)."""
    if MIN_PRIORITY <= priority <= MAX_PRIORITY:
        return Success(priority)
    return Failure(validation(f"priority must be within {MIN_PRIORITY}..{MAX_PRIORITY}", "priority"))


def can_transition(current: JobStatus, target: JobStatus) -> bool:
    return target in TRANSITIONS[current]


def _move(job: Job, target: JobStatus, now: datetime, **changes: Any) -> Result[Job, DomainError]:
    if not can_transition(job.status, target):
        return Failure(invalid_transition("job", job.status, target))
    return Success(msgspec.structs.replace(job, status=target, updated_at=now, **changes))


def claim(job: Job, lease_token: str, lease_until: datetime, now: datetime) -> Result[Job, DomainError]:
    """A worker takes a due pending job: it becomes processing under the worker's lease."""
    return _move(
        job,
        JobStatus.PROCESSING,
        now,
        lease_token=lease_token,
        lease_expires_at=lease_until,
        next_poll_at=None,
        claimed_at=job.claimed_at or now,
        phase=JobPhase.SUBMIT,
    )


def start(job: Job, account_id: str, lease_token: str, lease_until: datetime,
          now: datetime) -> Result[Job, DomainError]:
    """Dispatch: a due pending job starts on an account reserved for it, its attempt counted."""
    return claim(job, lease_token, lease_until, now).map(
        lambda claimed: msgspec.structs.replace(claimed, account_id=account_id, attempts=job.attempts + 1))


def is_due(job: Job, now: datetime) -> bool:
    """Pending and past its run time, or processing with a lease that has run out."""
    if job.status is JobStatus.PENDING:
        return job.run_after <= now
    if job.status is JobStatus.PROCESSING:
        lease_over = job.lease_expires_at is None or job.lease_expires_at <= now
        return lease_over and (job.next_poll_at is None or job.next_poll_at <= now)
    return False


def requeue(job: Job, run_after: datetime, now: datetime, *, refund_attempt: bool = False
            ) -> Result[Job, DomainError]:
    """Back to pending without spending an attempt (the provider could not be tried)."""
    attempts = max(0, job.attempts - 1) if refund_attempt else job.attempts
    return _move(
        job, JobStatus.PENDING, now, run_after=run_after, attempts=attempts, lease_token=None,
        lease_expires_at=None, account_id=None, submission_id=None, provider_job_id=None,
        phase=JobPhase.QUEUED, next_poll_at=None,
    )


def record_submission(job: Job, submission_id: str, now: datetime) -> Job:
    """The submission is on record before it is sent: from here a resumed job re-attaches."""
    return msgspec.structs.replace(job, submission_id=submission_id, phase=JobPhase.REATTACH, updated_at=now)


def attach(job: Job, provider_job_id: str, now: datetime) -> Job:
    """The provider accepted the job (or was found to have it): poll it from now on."""
    return msgspec.structs.replace(job, provider_job_id=provider_job_id, phase=JobPhase.POLL,
                                   started_at=job.started_at or now, updated_at=now)


def complete(job: Job, result_asset_ids: tuple[str, ...], now: datetime) -> Result[Job, DomainError]:
    return _move(
        job, JobStatus.COMPLETED, now, result_asset_ids=result_asset_ids, completed_at=now,
        lease_token=None, lease_expires_at=None, error_code=None, error_message=None,
        phase=JobPhase.FINISHED, next_poll_at=None,
    )


def fail(job: Job, code: str, message: str, now: datetime) -> Result[Job, DomainError]:
    return _move(
        job, JobStatus.FAILED, now, error_code=code, error_message=message,
        completed_at=now, lease_token=None, lease_expires_at=None, phase=JobPhase.FINISHED,
        next_poll_at=None,
    )


def cancel(job: Job, now: datetime) -> Result[Job, DomainError]:
    return _move(
        job, JobStatus.CANCELLED, now, completed_at=now, lease_token=None,
        lease_expires_at=None, error_code="CANCELLED", error_message="cancelled by request",
        phase=JobPhase.FINISHED, next_poll_at=None,
    )


class RetryPolicy(msgspec.Struct, frozen=True):
    """Exponential backoff with full jitter, capped: delay = U(0, min(cap, base * 2^(n-1)))."""

    base_seconds: float = 2.0
    cap_seconds: float = 300.0

    def __post_init__(self) -> None:
        if self.base_seconds <= 0 or self.cap_seconds < self.base_seconds:
            raise ValueError("retry policy needs 0 < base_seconds <= cap_seconds")

    def delay(self, attempt: int, random: Callable[[], float]) -> timedelta:
        exponent = min(max(0, attempt - 1), 64)  # bounded: 2**1024 no longer fits a float
        ceiling = min(self.cap_seconds, self.base_seconds * 2**exponent)
        return timedelta(seconds=ceiling * random())


def retry_or_fail(
    job: Job,
    *,
    code: str,
    message: str,
    policy: RetryPolicy,
    random: Callable[[], float],
    now: datetime,
    exclude_account: bool,
) -> Result[Job, DomainError]:
    """A retryable failure while processing: back to pending with backoff, or failed at the end.

    The account that failed is excluded for this job when `exclude_account` is set, so a
    retry never lands on the same top-priority account again.
    """
    if job.status is not JobStatus.PROCESSING:
        return Failure(invalid_transition("job", job.status, JobStatus.PENDING))
    if job.attempts >= job.max_attempts:
        return fail(job, code, message, now)
    excluded = job.excluded_account_ids
    if exclude_account and job.account_id and job.account_id not in excluded:
        excluded = (*excluded, job.account_id)
    return _move(
        job, JobStatus.PENDING, now,
        run_after=now + policy.delay(job.attempts, random),
        excluded_account_ids=excluded, error_code=code, error_message=message,
        lease_token=None, lease_expires_at=None, account_id=None,
        submission_id=None, provider_job_id=None, phase=JobPhase.QUEUED, next_poll_at=None,
    )


def parent_failed(job: Job, parent_status: JobStatus, now: datetime) -> Result[Job, DomainError]:
    return fail(
        job, ErrorCode.PARENT_FAILED, f"parent job ended {parent_status} so this job cannot run", now
    )


def take_lease(job: Job, lease_token: str, lease_until: datetime, now: datetime) -> Result[Job, DomainError]:
    """What a claim does to a due job: pending ones start; processing ones whose lease ran
    out (a crashed worker, or a due poll) change hands without changing state."""
    if job.status is JobStatus.PENDING:
        return claim(job, lease_token, lease_until, now)
    if job.status is JobStatus.PROCESSING:
        return Success(msgspec.structs.replace(job, lease_token=lease_token, lease_expires_at=lease_until,
                                               next_poll_at=None, updated_at=now))
    return Failure(invalid_transition("job", job.status, JobStatus.PROCESSING))


def wait_for_provider(job: Job, next_poll_at: datetime, now: datetime) -> Job:
    """Give up the lease until the next poll; any worker may take the job then."""
    return msgspec.structs.replace(job, lease_token=None, lease_expires_at=None, next_poll_at=next_poll_at,
                                   updated_at=now)


class HeldJob(msgspec.Struct, frozen=True, kw_only=True):
    """A job its worker keeps leased between polls, as the worker knows it: the lease's token
    and the job's version (a renewal changes neither), the stored `next_poll_at` as last seen
    (a different one is a webhook's poke), and when the worker means to poll it next."""

    id: str
    lease_token: str
    version: int
    seen_poll_at: datetime | None
    due_at: datetime


def held(job: Job, due_at: datetime) -> HeldJob:
    assert job.lease_token is not None, "only a leased job can be held"
    return HeldJob(id=job.id, lease_token=job.lease_token, version=job.version, seen_poll_at=job.next_poll_at,
                   due_at=due_at)


def still_held(job: Job, hold: HeldJob) -> bool:
    """The stored job is the one its holder keeps: processing, at that version, that token."""
    return (job.status is JobStatus.PROCESSING and job.lease_token == hold.lease_token
            and job.version == hold.version)


class HeldState(msgspec.Struct, frozen=True):
    """What a renewal answers for a job still held: its stored next poll and lease end."""

    next_poll_at: datetime | None
    lease_expires_at: datetime | None


def renew_lease(job: Job, lease_until: datetime, renew_before: datetime) -> Job:
    """Lease bookkeeping only: the version stays, so the holder's copy stays valid. Only a
    lease ending before `renew_before` is extended: lease_expires_at is indexed, so a row
    rewritten on every cycle would cost every index of jobs an entry each time."""
    if job.lease_expires_at is not None and job.lease_expires_at >= renew_before:
        return job
    return msgspec.structs.replace(job, lease_expires_at=lease_until)


def poked(job: Job, hold: HeldJob) -> bool:
    """A webhook made the job's poll due since its holder last looked."""
    return job.next_poll_at != hold.seen_poll_at


def release_held(job: Job, hold: HeldJob, now: datetime) -> Job:
    """Given back (the worker stops): any worker may poll it when its holder would have,
    or at once if a webhook poked it meanwhile."""
    next_poll = job.next_poll_at if poked(job, hold) else hold.due_at
    return wait_for_provider(job, next_poll or now, now)


def poke(job: Job, now: datetime) -> Job | None:
    """A provider's webhook: a processing job's next poll is due now, whoever holds it."""
    if job.status is not JobStatus.PROCESSING:
        return None
    return msgspec.structs.replace(job, next_poll_at=now)


def reroute(job: Job, choice: Choice, route: JobRoute, params: dict[str, Any], now: datetime) -> Job:
    """A pending routed job moved to another candidate: its provider, model, price (within
    its hold) and params are the new candidate's, and it may start at once."""
    return msgspec.structs.replace(job, provider_id=choice.provider_id, model=choice.model_id,
                                   cost_estimate=choice.price, params=params, route=route,
                                   run_after=now, updated_at=now)
