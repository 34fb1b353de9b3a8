"""The atomic steps of the request path (domain/ports.py AtomicSteps) written over any unit
of work, with the domain's own functions: the in-memory adapter's implementation, and the
reference the SQL statements are checked against."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec

from domain.accounts import ProviderAccount
from domain.assets import Asset
from domain.clock import utc_day
from domain.credentials import Credential, grants
from domain.jobs import Job, JobStatus
from domain.pagination import Cursor, Page
from domain.ports import (
    AssetFilter,
    Authorized,
    CreateOutcome,
    CreateStatus,
    JobDraft,
    JobFilter,
    Relations,
    ShownJob,
    Standing,
    UnitOfWork,
    WaitInputs,
)
from domain.quotas import within
from domain.users import User


async def granted_user(uow: UnitOfWork, credential: Credential, now: datetime) -> User | None:
    """The credential's user when the credential grants access at `now`, else None."""
    user = await uow.users.get(credential.user_id)
    session = await uow.sessions.get(credential.session_id) if credential.session_id is not None else None
    api_key = await uow.api_keys.get(credential.key_id) if credential.key_id is not None else None
    return user if grants(credential, user, session, now, api_key) else None


async def create_job(uow: UnitOfWork, credential: Credential, draft: JobDraft, now: datetime) -> CreateOutcome:
    """Runs inside an open unit of work and commits it when the job is created."""
    user = await granted_user(uow, credential, now)
    if user is None:
        return CreateOutcome(status=CreateStatus.UNAUTHENTICATED)
    key = draft.job.idempotency_key
    if key is not None:
        earlier = await uow.jobs.find_by_idempotency_key(user.id, key)
        if earlier is not None:
            return CreateOutcome(status=CreateStatus.REPLAYED, job=earlier)
    day, limit = utc_day(now), user.quota.max_jobs_per_day
    # The credit balance is locked before the day's usage row, in the order completing
    # a job locks them: the other order deadlocks a submit against a completion.
    if not await uow.ledger.apply(draft.hold_tx):
        if not within(limit, (await uow.usage.get(user.id, day)).jobs_created):
            return CreateOutcome(status=CreateStatus.DAILY_LIMIT, daily_limit=limit)
        return CreateOutcome(status=CreateStatus.INSUFFICIENT_CREDITS,
                             available=(await uow.ledger.balance(user.id)).available)
    if not await uow.usage.try_count_job(user.id, day, limit):
        await uow.rollback()
        return CreateOutcome(status=CreateStatus.DAILY_LIMIT, daily_limit=limit)
    await uow.ledger.add_hold(draft.hold)
    if not await uow.jobs.add(draft.job):
        await uow.rollback()
        return CreateOutcome(status=CreateStatus.KEY_IN_FLIGHT)
    await uow.audit.add(draft.audit)
    await uow.commit()
    return CreateOutcome(status=CreateStatus.CREATED, job=draft.job)


async def read_job(uow: UnitOfWork, credential: Credential, job_id: str, now: datetime) -> Authorized[Job]:
    if await granted_user(uow, credential, now) is None:
        return Authorized(False)
    job = await uow.jobs.get(job_id)
    return Authorized(True, job if job is not None and job.user_id == credential.user_id else None)


async def read_shown_job(uow: UnitOfWork, credential: Credential, job_id: str,
                         now: datetime) -> Authorized[ShownJob]:
    user = await granted_user(uow, credential, now)
    if user is None:
        return Authorized(False)
    job = await uow.jobs.get(job_id)
    if job is None or job.user_id != user.id:
        return Authorized(True, None)
    if job.status is not JobStatus.PENDING:
        return Authorized(True, ShownJob(job=job))
    parent = await uow.jobs.get(job.parent_job_id) if job.parent_job_id is not None else None
    accounts = [msgspec.structs.replace(a, secret="") for a in await uow.accounts.candidates(job.provider_id, user.id)]
    return Authorized(True, ShownJob(job=job, wait=WaitInputs(
        parent=parent if parent is not None and parent.user_id == user.id else None,
        max_concurrent_jobs=user.quota.max_concurrent_jobs, running_jobs=user.running_jobs, accounts=accounts)))


async def read_asset(uow: UnitOfWork, credential: Credential, asset_id: str, now: datetime) -> Authorized[Asset]:
    if await granted_user(uow, credential, now) is None:
        return Authorized(False)
    asset = await uow.assets.get(asset_id)
    if asset is None or asset.owner_id != credential.user_id or asset.is_deleted:
        return Authorized(True, None)
    return Authorized(True, asset)


async def read_route_accounts(uow: UnitOfWork, provider_ids: Sequence[str], user_id: str) -> list[ProviderAccount]:
    return [msgspec.structs.replace(account, secret="") for account in await uow.accounts.find()
            if account.provider_id in provider_ids and account.owner_user_id in (None, user_id)]


async def read_standing(uow: UnitOfWork, credential: Credential, now: datetime) -> Authorized[Standing]:
    user = await granted_user(uow, credential, now)
    if user is None:
        return Authorized(False)
    return Authorized(True, Standing(user=user, today=await uow.usage.get(user.id, utc_day(now)),
                                     balance=await uow.ledger.balance(user.id)))


async def page_jobs(uow: UnitOfWork, credential: Credential, where: JobFilter, after: Cursor | None, limit: int,
                    now: datetime) -> Authorized[Page[Job]]:
    if await granted_user(uow, credential, now) is None:
        return Authorized(False)
    return Authorized(True, await uow.jobs.page(msgspec.structs.replace(where, user_id=credential.user_id),
                                                after, limit))


async def page_assets(uow: UnitOfWork, credential: Credential, where: AssetFilter, after: Cursor | None,
                      limit: int, now: datetime) -> Authorized[Page[Asset]]:
    if await granted_user(uow, credential, now) is None:
        return Authorized(False)
    return Authorized(True, await uow.assets.page(msgspec.structs.replace(where, owner_id=credential.user_id),
                                                  after, limit))


async def read_relations(uow: UnitOfWork, credential: Credential, asset_ids: Sequence[str],
                         parent_job_id: str | None, idempotency_key: str | None,
                         now: datetime) -> Authorized[Relations]:
    if await granted_user(uow, credential, now) is None:
        return Authorized(False)
    owner = credential.user_id
    assets = [a for a in await uow.assets.many(asset_ids) if a.owner_id == owner] if asset_ids else []
    parent = await uow.jobs.get(parent_job_id) if parent_job_id is not None else None
    earlier = await uow.jobs.find_by_idempotency_key(owner, idempotency_key) if idempotency_key else None
    return Authorized(True, Relations(assets=assets, parent=parent if parent and parent.user_id == owner else None,
                                      earlier=earlier))
