"""The claim on Postgres in four round trips: the SQL form of `domain.dispatch.plan_dispatch`'s
inputs, read and locked by ONE statement.

1. `BEGIN; SELECT pg_advisory_xact_lock(...)`: one simple query (dispatchers take turns, see
   adapters/sql/dispatch.py for why).
2. `CLAIM_LOCKS`: the due running jobs (crashed workers' and due polls), then the pending
   jobs that could start (at most `limit` minus those per provider), then their providers'
   accounts, then their users, each locked in that order (jobs SKIP LOCKED, accounts and
   users FOR NO KEY UPDATE), answered as four JSON arrays. Each CTE names the one before it,
   so Postgres cannot lock an account before the jobs or a user before the accounts.
3. `WRITE_CLAIMS` (adapters/sql/dispatch.py): the leases, reservations and run slots.
4. `COMMIT`.

`claim_on_connection` runs 2 and 3 inside a transaction SQLAlchemy opened (the unit of
work's `jobs.claim_and_reserve`); `claim_in_four` runs all four on the pooled asyncpg
connection itself (the worker's `PipelineSteps.claim`). Both send the same statements.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql import autocommit
from adapters.sql.claims import Claims, Locked, lease_values, plan_claims
from adapters.sql.prepared import Prepared
from adapters.sql.tables import accounts
from domain.accounts import AccountStatus, ProviderAccount, SelectionPolicy
from domain.dispatch import ClaimedJobs, room_under_limit
from domain.jobs import Job, JobStatus

DISPATCH_LOCK = 0x70697872  # "pixr": one key, held by the dispatcher whose turn it is
TAKE_TURN = f"BEGIN; SELECT pg_advisory_xact_lock({DISPATCH_LOCK})"

_QUEUE = "priority, created_at, id"
_USABLE = (f"(a.status = '{AccountStatus.ACTIVE}' OR (a.status = '{AccountStatus.COOLING_DOWN}' "
           f"AND a.cooldown_until <= %(now)s::timestamptz))")

CLAIM_LOCKS = Prepared.numbered(f"""
WITH expired AS (
    SELECT * FROM jobs
    WHERE status = '{JobStatus.PROCESSING}'
      AND (lease_expires_at IS NULL OR lease_expires_at <= %(now)s::timestamptz)
      AND (next_poll_at IS NULL OR next_poll_at <= %(now)s::timestamptz)
    ORDER BY {_QUEUE} LIMIT %(limit)s::int
    FOR NO KEY UPDATE SKIP LOCKED
),
room AS (SELECT %(limit)s::int - count(*) AS n FROM expired),
startable AS (
    SELECT j.id, j.provider_id, j.priority, j.created_at, u.max_concurrent_jobs - u.running_jobs AS free,
        row_number() OVER (PARTITION BY j.user_id ORDER BY j.priority, j.created_at, j.id) AS user_place
    FROM jobs j JOIN users u ON u.id = j.user_id LEFT JOIN jobs parent ON parent.id = j.parent_job_id
    WHERE j.status = '{JobStatus.PENDING}' AND j.run_after <= %(now)s::timestamptz
      AND (j.parent_job_id IS NULL OR parent.status = '{JobStatus.COMPLETED}')
      AND EXISTS (
        SELECT 1 FROM {accounts.name} a
        WHERE a.provider_id = j.provider_id AND (a.owner_user_id IS NULL OR a.owner_user_id = j.user_id)
          AND a.current_jobs < a.max_concurrent_jobs AND a.credits >= j.cost_estimate AND {_USABLE})
),
chosen AS (
    SELECT id FROM (
        SELECT id, row_number() OVER (PARTITION BY provider_id ORDER BY priority, created_at, id) AS provider_place
        FROM startable WHERE free IS NULL OR user_place <= free
    ) placed
    WHERE provider_place <= (SELECT n FROM room)
),
pending AS (
    -- the conditions again: Postgres re-checks a row that changed while it waited for the
    -- lock against these, not against the subquery's snapshot
    SELECT * FROM jobs
    WHERE id IN (SELECT id FROM chosen) AND status = '{JobStatus.PENDING}' AND run_after <= %(now)s::timestamptz
    ORDER BY {_QUEUE}
    FOR NO KEY UPDATE SKIP LOCKED
),
pool AS (
    SELECT * FROM {accounts.name} WHERE provider_id IN (SELECT provider_id FROM pending)
    ORDER BY id FOR NO KEY UPDATE
),
slots AS (
    SELECT id, max_concurrent_jobs, running_jobs FROM users
    WHERE id IN (SELECT user_id FROM pending) AND (SELECT count(*) FROM pool) >= 0
    ORDER BY id FOR NO KEY UPDATE
)
SELECT (SELECT json_agg(e ORDER BY e.priority, e.created_at, e.id)::text FROM expired e) AS expired,
    (SELECT json_agg(p ORDER BY p.priority, p.created_at, p.id)::text FROM pending p) AS pending,
    (SELECT json_agg(pool)::text FROM pool) AS pool,
    (SELECT json_agg(slots)::text FROM slots) AS slots
""")


class _Slots(msgspec.Struct):
    id: str
    max_concurrent_jobs: int | None
    running_jobs: int


def _decode(expired: str | None, pending: str | None, pool: str | None, slots: str | None) -> Locked:
    users = msgspec.json.decode(slots, type=list[_Slots]) if slots else []
    return Locked(
        expired=msgspec.json.decode(expired, type=list[Job]) if expired else [],
        pending=msgspec.json.decode(pending, type=list[Job]) if pending else [],
        pool=msgspec.json.decode(pool, type=list[ProviderAccount]) if pool else [],
        slots={u.id: room_under_limit(u.max_concurrent_jobs, u.running_jobs) for u in users},
    )


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


def _write_values(claims: Claims, now: datetime) -> dict[str, Any]:
    """The leases, the accounts' reservations and the users' run slots for WRITE_CLAIMS, rows
    in the order the claim locked them (jobs, accounts, users). Placements on one account or
    user are added up (plan_dispatch placed them within its room under the locks this
    transaction holds)."""
    reserve: dict[str, list[int]] = {}
    slots: dict[str, int] = {}
    for p in claims.placed:
        jobs_and_cost = reserve.setdefault(p.account.id, [0, 0])
        jobs_and_cost[0] += 1
        jobs_and_cost[1] += p.job.cost_estimate
        slots[p.job.user_id] = slots.get(p.job.user_id, 0) + 1
    return {
        "jobs": msgspec.json.encode([lease_values(job, version) for job, version in claims.leased]).decode(),
        "reserve": msgspec.json.encode([{"account_id": a, "jobs": n, "cost": c}
                                        for a, (n, c) in sorted(reserve.items())]).decode(),
        "slots": msgspec.json.encode([{"user_id": u, "jobs": n} for u, n in sorted(slots.items())]).decode(),
        "now": now,
    }


async def claim_on_connection(conn: AsyncConnection, now: datetime, lease_token: str, lease_until: datetime,
                              limit: int, selection: SelectionPolicy) -> ClaimedJobs:
    """Inside the unit of work's transaction: the turn, the locking statement, the write."""
    await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({DISPATCH_LOCK})")
    values = {"now": now, "limit": limit}
    [row] = (await conn.exec_driver_sql(CLAIM_LOCKS.sql, CLAIM_LOCKS.args(values))).all()
    claims = plan_claims(_decode(row.expired, row.pending, row.pool, row.slots), now, lease_token, lease_until,
                         limit, selection)
    if claims.leased:
        await conn.exec_driver_sql(WRITE_CLAIMS.sql, WRITE_CLAIMS.args(_write_values(claims, now)))
    return claims.answer()


async def claim_in_four(engine: AsyncEngine, now: datetime, lease_token: str, lease_until: datetime,
                        limit: int, selection: SelectionPolicy) -> ClaimedJobs:
    """The whole claim as one transaction on the pooled asyncpg connection: 4 round trips
    (3 when nothing is due: the write is skipped). SQLAlchemy lends the connection but does
    not know of this transaction, so on any failure the connection is thrown away (the
    server rolls back) rather than returned mid-transaction. A connection closed before the
    first send is replaced once, as in adapters/sql/autocommit.py."""
    for attempt in (1, 2):
        async with autocommit.pooled(engine) as fairy:
            driver = autocommit.driver_of(fairy)
            sent = TAKE_TURN
            try:
                await driver.execute(TAKE_TURN)
                sent = CLAIM_LOCKS.sql
                row = await driver.fetchrow(CLAIM_LOCKS.sql, *CLAIM_LOCKS.args({"now": now, "limit": limit}))
                assert row is not None
                claims = plan_claims(_decode(row["expired"], row["pending"], row["pool"], row["slots"]), now,
                                     lease_token, lease_until, limit, selection)
                if claims.leased:
                    sent = WRITE_CLAIMS.sql
                    await driver.execute(WRITE_CLAIMS.sql, *WRITE_CLAIMS.args(_write_values(claims, now)))
                sent = "COMMIT"
                await driver.execute("COMMIT")
            except Exception as error:
                if not driver.is_closed():
                    await autocommit.discard(fairy)  # mid-transaction: never back to the pool
                    raise
                await autocommit.lost(engine, fairy, error)
                if attempt == 1 and sent == TAKE_TURN and autocommit.refused_before_sending(driver, error):
                    continue
                raise autocommit.as_lost(sent, (), error) from error
            except BaseException:  # cancelled mid-claim
                await autocommit.discard(fairy)
                raise
            return claims.answer()
    raise AssertionError("unreachable")
