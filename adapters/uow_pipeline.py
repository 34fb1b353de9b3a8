"""The worker's hot steps (domain/ports.py PipelineSteps) written over any unit of work: the
in-memory adapter's implementation, and the reference the SQL statements (adapters/sql/
pipeline_pg.py, adapters/sql/pipeline_sqlite.py) are checked against."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec

from domain.accounts import SelectionPolicy, record_success
from domain.dispatch import ClaimedJobs
from domain.jobs import HeldJob, HeldState, Job, JobStatus, release_held, still_held
from domain.ledger import HoldStatus
from domain.ports import CompleteStatus, Completion, Leased, UnitOfWork
from domain.providers import ProviderSubmission


async def claim(uow: UnitOfWork, now: datetime, lease_token: str, lease_until: datetime, limit: int,
                selection: SelectionPolicy) -> ClaimedJobs:
    claimed = await uow.jobs.claim_and_reserve(now, lease_token, lease_until, limit, selection)
    await uow.commit()
    return claimed


async def read_leased(uow: UnitOfWork, job_id: str, lease_token: str) -> Leased | None:
    job = await uow.jobs.get(job_id)
    if job is None or job.status is not JobStatus.PROCESSING or job.lease_token != lease_token:
        return None
    parent = await uow.jobs.get(job.parent_job_id) if job.parent_job_id else None
    return Leased(job, await uow.accounts.get(job.account_id) if job.account_id else None,
                  await uow.ledger.get_hold(job.hold_id) if job.hold_id else None,
                  await uow.submissions.get(job.submission_id) if job.submission_id else None,
                  None if job.parent_job_id is None else parent.result_asset_ids if parent else ())


async def _holds(uow: UnitOfWork, job: Job, expected_version: int, lease_token: str | None = None) -> bool:
    """The stored job is still the one this worker leased: its version and lease token."""
    current = await uow.jobs.get(job.id)
    lease = job.lease_token if lease_token is None else lease_token
    return current is not None and current.version == expected_version and current.lease_token == lease


async def record_submission(uow: UnitOfWork, job: Job, expected_version: int,
                            submission: ProviderSubmission) -> bool:
    if not await _holds(uow, job, expected_version):
        return False
    await uow.submissions.add(submission)
    if not await uow.jobs.save(job, expected_version):
        return False
    await uow.commit()
    return True


async def attach(uow: UnitOfWork, job: Job, expected_version: int, provider_job_id: str) -> bool:
    if not await _holds(uow, job, expected_version):
        return False
    if not await uow.jobs.save(job, expected_version):
        return False
    submission = await uow.submissions.get(job.submission_id or "")
    if submission is not None:
        await uow.submissions.update(msgspec.structs.replace(submission, provider_job_id=provider_job_id))
    await uow.commit()
    return True


async def _stale(uow: UnitOfWork, completion: Completion) -> bool:
    """The plan's assumptions fail: its hold is no longer open, or some new asset's bytes
    are already the owner's (two outputs with the same bytes included)."""
    if completion.hold is not None:
        hold = await uow.ledger.get_hold(completion.hold.id)
        if hold is None or hold.status is not HoldStatus.OPEN:
            return True
    if len({a.sha256 for a in completion.assets}) < len(completion.assets):
        return True
    return any([await uow.assets.find_by_sha(a.owner_id, a.sha256) is not None for a in completion.assets])


async def complete_job(uow: UnitOfWork, completion: Completion) -> CompleteStatus:
    job = completion.job
    if not await _holds(uow, job, completion.expected_version, completion.lease_token):
        return CompleteStatus.LEASE_LOST
    if await _stale(uow, completion):
        return CompleteStatus.STALE
    if not await uow.jobs.save(job, completion.expected_version):
        return CompleteStatus.LEASE_LOST
    for asset in completion.assets:
        await uow.assets.add(asset)
    await uow.lineage.add(completion.edges)
    if completion.hold is not None:
        await uow.ledger.settle_hold(completion.hold)
        for tx in completion.hold_txs:
            if not await uow.ledger.apply(tx):
                await uow.rollback()
                return CompleteStatus.STALE
    if completion.account_id is not None:
        await uow.accounts.free_slot(completion.account_id, 0)
        account = await uow.accounts.get(completion.account_id)
        if account is not None:
            await uow.accounts.save_health(record_success(account, completion.generation_seconds))
    submission = await uow.submissions.get(completion.submission_id) if completion.submission_id else None
    if submission is not None:
        await uow.submissions.update(msgspec.structs.replace(
            submission, raw_status=completion.raw_status, completed_at=job.completed_at))
    await uow.users.release_run_slot(job.user_id)
    await uow.users.try_add_storage(job.user_id, completion.stored_bytes, None)
    await uow.usage.add(job.user_id, completion.day, completion.usage)
    await uow.audit.add(completion.audit)
    await uow.commit()
    return CompleteStatus.DONE


async def renew_leases(uow: UnitOfWork, held: Sequence[HeldJob], lease_until: datetime,
                       renew_before: datetime) -> dict[str, HeldState]:
    renewed = {}
    for hold in held:
        job = await uow.jobs.renew_lease(hold, lease_until, renew_before)
        if job is not None:
            renewed[job.id] = HeldState(job.next_poll_at, job.lease_expires_at)
    await uow.commit()
    return renewed


async def release_leases(uow: UnitOfWork, held: Sequence[HeldJob], now: datetime) -> int:
    released = 0
    for hold in held:
        job = await uow.jobs.get(hold.id)
        if job is not None and still_held(job, hold) and await uow.jobs.save(release_held(job, hold, now), job.version):
            released += 1
    await uow.commit()
    return released
