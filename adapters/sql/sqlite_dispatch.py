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
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement

from adapters.sql import dispatch
from adapters.sql.sqlite_steps import _ACCOUNT_TYPES, _loaded, _params, _rows, on_connection
from adapters.sql.tables import accounts
from domain.accounts import ProviderAccount, SelectionPolicy
from domain.dispatch import ClaimedJobs, Placement, plan_dispatch, queue_order, room_under_limit, start_on
from domain.jobs import Job, take_lease

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
    """dispatch.claim_and_reserve's steps for SQLite, in its order."""
    expired = _jobs(conn, EXPIRED, {"now": now, "limit": limit})
    room = limit - len(expired)
    pending = [] if room <= 0 else _jobs(conn, PENDING, {"now": now, "limit": room})
    placed: list[Placement] = []
    if pending:
        providers, user_ids = sorted({j.provider_id for j in pending}), sorted({j.user_id for j in pending})
        slots: dict[str, int | None] = dict.fromkeys(user_ids, 0)
        pool = _pool(conn, providers)
        slots.update(_slots(conn, user_ids))
        placed = plan_dispatch(pending, pool, slots, selection, now, room)
    leased = [(take_lease(job, lease_token, lease_until, now).unwrap(), job.version) for job in expired]
    leased += [(start_on(p, lease_token, lease_until, now), p.job.version) for p in placed]
    if not leased:
        return ClaimedJobs(jobs=[])
    conn.executemany(LEASE_JOB.sql, [LEASE_JOB.values(dispatch._lease_values(job, version))
                                     for job, version in leased])
    if placed:
        conn.executemany(RESERVE_ACCOUNT.sql, [RESERVE_ACCOUNT.values(
            {"b_id": p.account.id, "cost": p.job.cost_estimate, "used_at": now}) for p in placed])
        conn.executemany(TAKE_RUN_SLOT.sql, [TAKE_RUN_SLOT.values({"b_id": p.job.user_id}) for p in placed])
    claimed = [msgspec.structs.replace(job, version=version + 1) for job, version in leased]
    return ClaimedJobs(jobs=sorted(claimed, key=queue_order), started=frozenset(p.job.id for p in placed))


async def claim_and_reserve_sqlite(conn: AsyncConnection, now: datetime, lease_token: str, lease_until: datetime,
                                   limit: int, selection: SelectionPolicy) -> ClaimedJobs:
    if limit <= 0:
        return ClaimedJobs(jobs=[])
    return await on_connection(conn, _claim, now, lease_token, lease_until, limit, selection)
