"""Claim and reserve in one transaction: the SQL form of `domain.dispatch.plan_dispatch`.

Dispatchers take turns (Postgres: a transaction-scoped advisory lock; SQLite: BEGIN
IMMEDIATE already makes every transaction the only writer), so a job a dispatcher skipped
as locked is never overtaken by a lower-priority job another dispatcher took meanwhile.
Inside the turn, locks are taken in the order every other writer uses (jobs, then
accounts, then users), so no cycle can form: candidate jobs with FOR NO KEY UPDATE SKIP
LOCKED (a job being cancelled or saved right now waits for the next claim), then the
accounts of their providers, then their users, FOR NO KEY UPDATE. NO KEY: the lock an
UPDATE takes anyway, which leaves alone the key-share locks that inserting a row with a
foreign key takes on the row it references (a new job on its user and parent, an asset or
a ledger row on its user); FOR UPDATE would wait on those, and a transaction holding one
while waiting for an account this claim holds would close a cycle.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Select, and_, bindparam, exists, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.prepared import Prepared
from adapters.sql.rows import convert
from adapters.sql.tables import accounts, jobs, users
from domain.accounts import AccountStatus, ProviderAccount, SelectionPolicy
from domain.dispatch import ClaimedJobs, Placement, plan_dispatch, queue_order, room_under_limit, start_on
from domain.jobs import Job, JobStatus, take_lease

PENDING, PROCESSING, COMPLETED = str(JobStatus.PENDING), str(JobStatus.PROCESSING), str(JobStatus.COMPLETED)
DISPATCH_LOCK = 0x70697872  # "pixr": one key, held by the dispatcher whose turn it is

_now = bindparam("now", type_=jobs.c.run_after.type)
_limit = bindparam("limit", type_=jobs.c.priority.type)
QUEUE = (jobs.c.priority, jobs.c.created_at, jobs.c.id)


def _expired() -> Select[Any]:
    """Running jobs due again: the lease ran out (a crashed worker) and the poll is due."""
    return (
        select(jobs)
        .where(jobs.c.status == PROCESSING,
               or_(jobs.c.lease_expires_at.is_(None), jobs.c.lease_expires_at <= _now),
               or_(jobs.c.next_poll_at.is_(None), jobs.c.next_poll_at <= _now))
        .order_by(*QUEUE).limit(_limit)
        .with_for_update(skip_locked=True, key_share=True)
    )


def _pending() -> Select[Any]:
    """Due pending jobs that could start now: parent done, some account of theirs has a
    free slot, and within their user's free run slots. At most `limit` per provider, so a
    provider whose accounts are busy never fills the batch and hides another's jobs."""
    parent = jobs.alias("parent")
    pending_due = and_(jobs.c.status == PENDING, jobs.c.run_after <= _now)
    usable = or_(accounts.c.status == str(AccountStatus.ACTIVE),
                 and_(accounts.c.status == str(AccountStatus.COOLING_DOWN), accounts.c.cooldown_until <= _now))
    free_account = exists().where(
        accounts.c.provider_id == jobs.c.provider_id,
        or_(accounts.c.owner_user_id.is_(None), accounts.c.owner_user_id == jobs.c.user_id),
        accounts.c.current_jobs < accounts.c.max_concurrent_jobs,
        accounts.c.credits >= jobs.c.cost_estimate, usable,
    )
    startable = (
        select(jobs.c.id, jobs.c.provider_id, jobs.c.priority, jobs.c.created_at,
               (users.c.max_concurrent_jobs - users.c.running_jobs).label("free"),
               func.row_number().over(partition_by=jobs.c.user_id, order_by=QUEUE).label("user_place"))
        .select_from(jobs.join(users, users.c.id == jobs.c.user_id)
                     .outerjoin(parent, parent.c.id == jobs.c.parent_job_id))
        .where(pending_due, or_(jobs.c.parent_job_id.is_(None), parent.c.status == COMPLETED), free_account)
        .subquery()
    )
    within_slots = (
        select(startable.c.id, func.row_number().over(
            partition_by=startable.c.provider_id,
            order_by=(startable.c.priority, startable.c.created_at, startable.c.id)).label("provider_place"))
        .where(or_(startable.c.free.is_(None), startable.c.user_place <= startable.c.free))
        .subquery()
    )
    chosen = select(within_slots.c.id).where(within_slots.c.provider_place <= _limit)
    # pending_due again: Postgres re-checks a row that changed while it waited for the
    # lock against these conditions, not against the subquery's snapshot.
    return (select(jobs).where(jobs.c.id.in_(chosen), pending_due)
            .order_by(*QUEUE).with_for_update(skip_locked=True, key_share=True))


EXPIRED, PENDING_CANDIDATES = _expired(), _pending()
LOCK_ACCOUNTS = (select(accounts).where(accounts.c.provider_id.in_(bindparam("providers", expanding=True)))
                 .order_by(accounts.c.id).with_for_update(key_share=True))
LOCK_USERS = (select(users.c.id, users.c.max_concurrent_jobs, users.c.running_jobs)
              .where(users.c.id.in_(bindparam("user_ids", expanding=True)))
              .order_by(users.c.id).with_for_update(key_share=True))
LEASE_JOB = (
    update(jobs).where(jobs.c.id == bindparam("b_id"), jobs.c.version == bindparam("b_version"))
    .values(status=bindparam("status"), lease_token=bindparam("lease_token"),
            lease_expires_at=bindparam("lease_expires_at"), next_poll_at=bindparam("next_poll_at"),
            claimed_at=bindparam("claimed_at"), phase=bindparam("phase"), account_id=bindparam("account_id"),
            attempts=bindparam("attempts"), updated_at=bindparam("updated_at"), version=jobs.c.version + 1)
)
RESERVE_ACCOUNT = (
    update(accounts)
    .where(accounts.c.id == bindparam("b_id"), accounts.c.current_jobs < accounts.c.max_concurrent_jobs,
           accounts.c.credits >= bindparam("cost"))
    .values(current_jobs=accounts.c.current_jobs + 1, credits=accounts.c.credits - bindparam("cost"),
            last_used_at=bindparam("used_at"))
)
TAKE_RUN_SLOT = update(users).where(users.c.id == bindparam("b_id")).values(running_jobs=users.c.running_jobs + 1)


def _lease_values(job: Job, expected_version: int) -> dict[str, Any]:
    return {"b_id": job.id, "b_version": expected_version, "status": str(job.status),
            "lease_token": job.lease_token, "lease_expires_at": job.lease_expires_at,
            "next_poll_at": job.next_poll_at, "claimed_at": job.claimed_at, "phase": str(job.phase),
            "account_id": job.account_id, "attempts": job.attempts, "updated_at": job.updated_at}


async def claim_and_reserve(conn: AsyncConnection, now: datetime, lease_token: str, lease_until: datetime,
                            limit: int, selection: SelectionPolicy) -> ClaimedJobs:
    if limit <= 0:
        return ClaimedJobs(jobs=[])
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DISPATCH_LOCK})
    expired = [convert(row, Job) for row in await conn.execute(EXPIRED, {"now": now, "limit": limit})]
    room = limit - len(expired)
    pending = [] if room <= 0 else [
        convert(row, Job) for row in await conn.execute(PENDING_CANDIDATES, {"now": now, "limit": room})]
    placed: list[Placement] = []
    if pending:
        providers, user_ids = sorted({j.provider_id for j in pending}), sorted({j.user_id for j in pending})
        slots: dict[str, int | None] = dict.fromkeys(user_ids, 0)
        if conn.dialect.name == "postgresql":
            pool, rooms = await _lock_accounts_and_users_pg(conn, providers, user_ids)
            slots.update(rooms)
        else:
            pool = [convert(row, ProviderAccount) for row in await conn.execute(
                LOCK_ACCOUNTS, {"providers": providers})]
            for row in await conn.execute(LOCK_USERS, {"user_ids": user_ids}):
                slots[row.id] = room_under_limit(row.max_concurrent_jobs, row.running_jobs)
        placed = plan_dispatch(pending, pool, slots, selection, now, room)
    leased = [(take_lease(job, lease_token, lease_until, now).unwrap(), job.version) for job in expired]
    leased += [(start_on(p, lease_token, lease_until, now), p.job.version) for p in placed]
    if not leased:
        return ClaimedJobs(jobs=[])
    if conn.dialect.name == "postgresql":
        await _write_claims_pg(conn, leased, placed, now)
    else:
        await conn.execute(LEASE_JOB, [_lease_values(job, version) for job, version in leased])
        if placed:
            await conn.execute(RESERVE_ACCOUNT, [{"b_id": p.account.id, "cost": p.job.cost_estimate, "used_at": now}
                                                 for p in placed])
            await conn.execute(TAKE_RUN_SLOT, [{"b_id": p.job.user_id} for p in placed])
    claimed = [msgspec.structs.replace(job, version=version + 1) for job, version in leased]
    return ClaimedJobs(jobs=sorted(claimed, key=queue_order), started=frozenset(p.job.id for p in placed))


_LEASED_COLUMNS = ("status text, lease_token text, lease_expires_at timestamptz, next_poll_at timestamptz, "
                   "claimed_at timestamptz, phase text, account_id text, attempts int, updated_at timestamptz")
WRITE_CLAIMS = Prepared.numbered(f"""
WITH v AS (
    SELECT * FROM json_to_recordset(%(jobs)s::json) AS v(b_id text, b_version int, {_LEASED_COLUMNS})
),
leased AS (
    UPDATE jobs j SET status = v.status, lease_token = v.lease_token, lease_expires_at = v.lease_expires_at,
        next_poll_at = v.next_poll_at, claimed_at = v.claimed_at, phase = v.phase, account_id = v.account_id,
        attempts = v.attempts, updated_at = v.updated_at, version = j.version + 1
    FROM v WHERE j.id = v.b_id AND j.version = v.b_version
    RETURNING j.id
),
reserved AS (
    UPDATE {accounts.name} a SET current_jobs = a.current_jobs + r.jobs, credits = a.credits - r.cost,
        last_used_at = %(now)s::timestamptz
    FROM json_to_recordset(%(reserve)s::json) AS r(account_id text, jobs int, cost bigint)
    WHERE a.id = r.account_id AND a.current_jobs + r.jobs <= a.max_concurrent_jobs AND a.credits >= r.cost
      AND (SELECT count(*) FROM leased) >= 0
    RETURNING a.id
),
slots AS (
    UPDATE users u SET running_jobs = u.running_jobs + s.jobs
    FROM json_to_recordset(%(slots)s::json) AS s(user_id text, jobs int)
    WHERE u.id = s.user_id AND (SELECT count(*) FROM reserved) >= 0
)
SELECT count(*) FROM leased
""")


async def _write_claims_pg(conn: AsyncConnection, leased: list[tuple[Job, int]], placed: list[Placement],
                           now: datetime) -> None:
    """The leases, the accounts' reservations and the users' run slots: one statement (one
    round trip) instead of three, rows in the order the claim locked them (jobs, accounts,
    users). Placements on one account or user are added up (plan_dispatch placed them within
    its room under the locks this transaction holds)."""
    reserve: dict[str, list[int]] = {}
    slots: dict[str, int] = {}
    for p in placed:
        jobs_and_cost = reserve.setdefault(p.account.id, [0, 0])
        jobs_and_cost[0] += 1
        jobs_and_cost[1] += p.job.cost_estimate
        slots[p.job.user_id] = slots.get(p.job.user_id, 0) + 1
    values = {
        "jobs": msgspec.json.encode([_lease_values(job, version) for job, version in leased]).decode(),
        "reserve": msgspec.json.encode([{"account_id": a, "jobs": n, "cost": c}
                                        for a, (n, c) in sorted(reserve.items())]).decode(),
        "slots": msgspec.json.encode([{"user_id": u, "jobs": n} for u, n in sorted(slots.items())]).decode(),
        "now": now,
    }
    await conn.exec_driver_sql(WRITE_CLAIMS.sql, WRITE_CLAIMS.args(values))


LOCK_ACCOUNTS_AND_USERS = Prepared.numbered(f"""
WITH pool AS (
    SELECT * FROM {accounts.name} WHERE provider_id = ANY(%(providers)s::text[])
    ORDER BY id FOR NO KEY UPDATE
),
slots AS (
    SELECT id, max_concurrent_jobs, running_jobs FROM users
    WHERE id = ANY(%(user_ids)s::text[]) AND (SELECT count(*) FROM pool) >= 0
    ORDER BY id FOR NO KEY UPDATE
)
SELECT (SELECT json_agg(pool)::text FROM pool) AS pool, (SELECT json_agg(slots)::text FROM slots) AS slots
""")


class _Slots(msgspec.Struct):
    id: str
    max_concurrent_jobs: int | None
    running_jobs: int


async def _lock_accounts_and_users_pg(conn: AsyncConnection, providers: list[str], user_ids: list[str]
                                      ) -> tuple[list[ProviderAccount], dict[str, int | None]]:
    """The candidates' accounts, then their users, locked in that order (the users' locks wait
    for the accounts' scan): one statement instead of two."""
    values = {"providers": providers, "user_ids": user_ids}
    [row] = (await conn.exec_driver_sql(LOCK_ACCOUNTS_AND_USERS.sql, LOCK_ACCOUNTS_AND_USERS.args(values))).all()
    pool = msgspec.json.decode(row.pool, type=list[ProviderAccount]) if row.pool else []
    users_ = msgspec.json.decode(row.slots, type=list[_Slots]) if row.slots else []
    return pool, {u.id: room_under_limit(u.max_concurrent_jobs, u.running_jobs) for u in users_}
