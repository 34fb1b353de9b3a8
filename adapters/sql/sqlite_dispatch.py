"""The claim (adapters/sql/dispatch.py `claim_and_reserve`) on SQLite, run whole in the
database thread: ONE hand-off inside the unit of work's transaction, instead of three or four
per statement (a cursor, the statement, its rows, the cursor closed).

The statements are dispatch.py's own, compiled once for SQLite (no row locks there: the unit
of work's BEGIN IMMEDIATE already makes this transaction the only writer), in the same order,
and the rule is the same `domain.dispatch.plan_dispatch`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import ClauseElement

from adapters.sql import dispatch
from adapters.sql.claims import Locked, lease_values, plan_claims
from adapters.sql.sqlite_steps import (
    _ACCOUNT_TYPES,
    _loaded,
    _params,
    _rows,
    in_database_thread,
    on_connection,
)
from adapters.sql.tables import accounts
from domain.accounts import ProviderAccount, SelectionPolicy
from domain.dispatch import ClaimedJobs, room_under_limit
from domain.jobs import Job

_DIALECT = sqlite.dialect(paramstyle="named")


@dataclass(frozen=True)
class _Compiled:
    """A statement's SQLite text and the constants SQLAlchemy bound into it."""

    sql: str
    constants: dict[str, Any]

    @classmethod
    def of(cls, statement: ClauseElement) -> _Compiled:
        compiled = statement.compile(dialect=_DIALECT)
        return cls(str(compiled), {name: value for name, value in compiled.params.items() if value is not None})

    def values(self, given: dict[str, Any]) -> dict[str, Any]:
        return {**self.constants, **_params(given)}


EXPIRED, PENDING = _Compiled.of(dispatch.EXPIRED), _Compiled.of(dispatch.PENDING_CANDIDATES)
LEASE_JOB = _Compiled.of(dispatch.LEASE_JOB)
RESERVE_ACCOUNT = _Compiled.of(dispatch.RESERVE_ACCOUNT)
TAKE_RUN_SLOT = _Compiled.of(dispatch.TAKE_RUN_SLOT)


def _marks(count: int) -> str:
    return ", ".join("?" for _ in range(count))


def _jobs(conn: sqlite3.Connection, statement: _Compiled, values: dict[str, Any]) -> list[Job]:
    return [msgspec.convert(row, Job) for row in _rows(conn, statement.sql, {**statement.constants, **values})]


def _pool(conn: sqlite3.Connection, providers: list[str]) -> list[ProviderAccount]:
    cursor = conn.execute(f"SELECT * FROM {accounts.name} WHERE provider_id IN ({_marks(len(providers))}) "
                          "ORDER BY id", providers)
    names = [column[0] for column in cursor.description]
    return [msgspec.convert({n: _loaded(n, v, _ACCOUNT_TYPES) for n, v in zip(names, row, strict=True)},
                            ProviderAccount) for row in cursor]


def _slots(conn: sqlite3.Connection, user_ids: list[str]) -> dict[str, int | None]:
    rows = conn.execute(f"SELECT id, max_concurrent_jobs, running_jobs FROM users "
                        f"WHERE id IN ({_marks(len(user_ids))}) ORDER BY id", user_ids)
    return {user_id: room_under_limit(limit, running) for user_id, limit, running in rows}


def _claim(conn: sqlite3.Connection, now: datetime, lease_token: str, lease_until: datetime, limit: int,
           selection: SelectionPolicy) -> ClaimedJobs:
    """The claim's reads in dispatch.py's order, the domain's decision (adapters/sql/claims.py),
    the writes."""
    expired = _jobs(conn, EXPIRED, {"now": now, "limit": limit})
    room = limit - len(expired)
    pending = [] if room <= 0 else _jobs(conn, PENDING, {"now": now, "limit": room})
    pool: list[ProviderAccount] = []
    slots: dict[str, int | None] = {}
    if pending:
        pool = _pool(conn, sorted({j.provider_id for j in pending}))
        slots = _slots(conn, sorted({j.user_id for j in pending}))
    claims = plan_claims(Locked(expired=expired, pending=pending, pool=pool, slots=slots), now, lease_token,
                         lease_until, limit, selection)
    if claims.leased:
        conn.executemany(LEASE_JOB.sql, [LEASE_JOB.values(lease_values(job, version))
                                         for job, version in claims.leased])
    if claims.placed:
        conn.executemany(RESERVE_ACCOUNT.sql, [RESERVE_ACCOUNT.values(
            {"b_id": p.account.id, "cost": p.job.cost_estimate, "used_at": now}) for p in claims.placed])
        conn.executemany(TAKE_RUN_SLOT.sql, [TAKE_RUN_SLOT.values({"b_id": p.job.user_id}) for p in claims.placed])
    return claims.answer()


def _claim_committed(conn: sqlite3.Connection, *args: Any) -> ClaimedJobs:
    conn.execute("BEGIN IMMEDIATE")
    try:
        claimed = _claim(conn, *args)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return claimed


async def claim_and_reserve_sqlite(conn: AsyncConnection, now: datetime, lease_token: str, lease_until: datetime,
                                   limit: int, selection: SelectionPolicy) -> ClaimedJobs:
    """Inside the unit of work's transaction (BEGIN IMMEDIATE already sent): one hand-off."""
    if limit <= 0:
        return ClaimedJobs(jobs=[])
    return await on_connection(conn, _claim, now, lease_token, lease_until, limit, selection)


async def claim_in_thread(engine: AsyncEngine, now: datetime, lease_token: str, lease_until: datetime,
                          limit: int, selection: SelectionPolicy) -> ClaimedJobs:
    """The worker's step: BEGIN IMMEDIATE, the claim and COMMIT in one hand-off (and the
    pool's reset)."""
    if limit <= 0:
        return ClaimedJobs(jobs=[])
    return await in_database_thread(engine, _claim_committed, now, lease_token, lease_until, limit, selection)
