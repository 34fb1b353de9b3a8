"""The claim's statements as SQLAlchemy Core, run on SQLite (adapters/sql/sqlite_dispatch.py;
Postgres sends its own hand-written form, adapters/sql/claim_pg.py, with the same conditions):
the SQL form of `domain.dispatch.plan_dispatch`'s inputs.

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

from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, or_, select, update

from adapters.sql.tables import accounts, jobs, users
from domain.accounts import AccountStatus
from domain.jobs import JobStatus

PENDING, PROCESSING, COMPLETED = str(JobStatus.PENDING), str(JobStatus.PROCESSING), str(JobStatus.COMPLETED)

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
