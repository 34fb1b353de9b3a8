"""What every way out of a job shares: credits settled once, slots given back, dependents told."""

from __future__ import annotations

from datetime import datetime

from returns.result import Failure, Success

from application.events import AfterCommit
from domain.events import JobFailed
from domain.jobs import Job, JobStatus, parent_failed
from domain.ledger import capture, release
from domain.ports import IdGenerator, UnitOfWork


async def release_credits(uow: UnitOfWork, job: Job, ids: IdGenerator, now: datetime) -> None:
    """Give the whole hold back (failure, cancellation). A settled hold is left alone."""
    hold = await uow.ledger.get_hold(job.hold_id) if job.hold_id else None
    if hold is None:
        return
    released = release(hold, ids.new_id(), now)
    if isinstance(released, Success):
        settled, tx = released.unwrap()
        if await uow.ledger.settle_hold(settled):
            await uow.ledger.apply(tx)


async def capture_credits(uow: UnitOfWork, job: Job, actual: int, ids: IdGenerator, now: datetime) -> int:
    """Charge the actual cost (at most the hold) and release the rest; the amount charged."""
    hold = await uow.ledger.get_hold(job.hold_id) if job.hold_id else None
    if hold is None:
        return 0
    captured = capture(hold, actual, (ids.new_id(), ids.new_id()), now)
    if isinstance(captured, Failure):
        return 0
    settled, txs = captured.unwrap()
    if not await uow.ledger.settle_hold(settled):
        return 0
    for tx in txs:
        await uow.ledger.apply(tx)
    return settled.captured


async def free_account_slot(uow: UnitOfWork, job: Job, refund: int) -> None:
    """The job's account gets its slot back (and `refund` of the credits reserved on it)."""
    if job.account_id is not None:
        await uow.accounts.free_slot(job.account_id, refund)


async def fail_dependents(uow: UnitOfWork, parent: Job, ids: IdGenerator, now: datetime,
                          after_commit: AfterCommit) -> None:
    """Jobs waiting on a parent that will never complete fail with PARENT_FAILED, transitively.
    They are pending (a child never starts before its parent completes)."""
    queue = [parent]
    while queue:
        current = queue.pop()
        for child in await uow.jobs.dependents(current.id):
            if child.status is not JobStatus.PENDING:
                continue
            failed = parent_failed(child, current.status, now)
            if isinstance(failed, Success) and await uow.jobs.save(failed.unwrap(), child.version):
                ended = failed.unwrap()
                await release_credits(uow, ended, ids, now)
                after_commit.add(JobFailed(job_id=ended.id, user_id=ended.user_id, at=now,
                                     error_code=ended.error_code or "", error_message=ended.error_message or ""))
                queue.append(ended)
