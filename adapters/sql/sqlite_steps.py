"""The request path's atomic steps on SQLite, each run whole inside the database thread.

aiosqlite runs every call on its connection's own thread and hands each one over through a
queue and a future: a unit of work of ten statements is twenty-odd hand-offs. Here each step
is one plain function given to that thread at once (`aiosqlite.Connection._execute`, the
call aiosqlite's own methods are made of): the step costs one hand-off, plus one for the
pool's reset when the connection goes back.

- Reads are single SELECTs in autocommit (no BEGIN): in WAL mode a reader takes no write
  lock and never waits for a writer.
- A write step is one BEGIN IMMEDIATE ... COMMIT: the write lock up front, so the
  conditional statements inside cannot race (SQLite has one writer at a time).

The statements are the Postgres ones (adapters/sql/reads_pg.py, the credential condition of
adapters/sql/credentials.py) with the casts taken out, and the same rules as
adapters/uow_steps.py for creating a job; values are stored as SQLAlchemy stores them on
SQLite (naive UTC timestamps as text, JSON as text, booleans as 0/1).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import msgspec
from sqlalchemy import JSON, Boolean, Date, Table
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql import reads_pg
from adapters.sql.create_job_pg import arguments as create_arguments
from adapters.sql.credentials import CONDITIONS, credential_args
from adapters.sql.tables import (
    UtcDateTime,
    accounts,
    assets,
    audit_log,
    credit_holds,
    jobs,
    ledger_transactions,
    users,
)
from adapters.sql.users import QUOTA_FIELDS
from domain.accounts import ProviderAccount
from domain.assets import Asset
from domain.clock import utc_day
from domain.credentials import Credential, CredentialKind
from domain.jobs import Job, JobStatus
from domain.ledger import CreditBalance
from domain.pagination import Cursor, Page, encode_cursor
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
    WaitInputs,
)
from domain.quotas import DailyUsage, QuotaPolicy
from domain.users import User

T = TypeVar("T")
_PARAM = re.compile(r"%\((\w+)\)s(?:::[\w\[\]]+)*")
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite DateTime storage format
_COLUMN_TYPES = {column.name: column.type for table in (jobs, assets, users) for column in table.columns}
_ACCOUNT_TYPES = {column.name: column.type for column in accounts.columns}


def sqlite_text(template: str) -> str:
    """A Postgres template for SQLite: `%(name)s::type` becomes `:name`."""
    return _PARAM.sub(lambda match: f":{match.group(1)}", template)


def _per_kind(template: str) -> dict[CredentialKind, str]:
    return {kind: sqlite_text(template.replace("{credential}", condition)) for kind, condition in CONDITIONS.items()}


JOB, ASSET, STANDING, JOBS, ASSETS = map(
    _per_kind, (reads_pg._JOB, reads_pg._ASSET, reads_pg._STANDING, reads_pg._JOBS, reads_pg._ASSETS))
ACTOR = _per_kind("SELECT u.id, u.max_jobs_per_day FROM users u WHERE {credential}")


def stored(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).strftime(_TIME_FORMAT)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def _params(values: dict[str, Any]) -> dict[str, Any]:
    return {name: stored(value) for name, value in values.items()}


def _loaded(name: str, value: Any, types: dict[str, Any] = _COLUMN_TYPES) -> Any:
    column_type = types.get(name)
    if value is None or column_type is None:
        return value
    if isinstance(column_type, UtcDateTime):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if isinstance(column_type, JSON):
        return msgspec.json.decode(value)
    if isinstance(column_type, Boolean):
        return bool(value)
    if isinstance(column_type, Date):
        return date.fromisoformat(value)
    return value


def _rows(conn: sqlite3.Connection, sql: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, _params(values))
    names = [column[0] for column in cursor.description]
    return [{name: _loaded(name, value) for name, value in zip(names, row, strict=True)} for row in cursor]


def _entity(row: dict[str, Any], type_: type[T]) -> T | None:
    data = {name: value for name, value in row.items() if name != "granted"}
    return None if data.get("id") is None else msgspec.convert(data, type_)


def _page(rows: list[dict[str, Any]], type_: type[T], limit: int, key: Any) -> Authorized[Page[T]]:
    if not rows or not rows[0]["granted"]:
        return Authorized(False)
    items = [item for item in (_entity(row, type_) for row in rows) if item is not None]
    more = len(items) > limit
    items = items[:limit]
    return Authorized(True, Page(items=items, next_cursor=encode_cursor(*key(items[-1])) if more else None))


# ---------------------------------------------------------------- in the database thread


def _read_relations(conn: sqlite3.Connection, credential: Credential, asset_ids: Sequence[str],
                    parent_job_id: str | None, idempotency_key: str | None, now: datetime) -> Authorized[Relations]:
    """Three SELECTs in one read transaction (BEGIN, deferred: no write lock)."""
    conn.execute("BEGIN")
    try:
        values = {**credential_args(credential, now)}
        if conn.execute(ACTOR[credential.kind], _params(values)).fetchone() is None:
            return Authorized(False)
        owner = credential.user_id
        marks = ", ".join("?" for _ in asset_ids)
        assets = [_entity(row, Asset) for row in _rows_positional(
            conn, f"SELECT * FROM assets WHERE owner_id = ? AND id IN ({marks})", [owner, *asset_ids])] if asset_ids else []
        parent = _rows_positional(conn, "SELECT * FROM jobs WHERE id = ? AND user_id = ?", [parent_job_id, owner])
        earlier = _rows_positional(conn, "SELECT * FROM jobs WHERE user_id = ? AND idempotency_key = ?",
                                   [owner, idempotency_key]) if idempotency_key else []
        return Authorized(True, Relations(assets=[a for a in assets if a is not None],
                                          parent=_entity(parent[0], Job) if parent else None,
                                          earlier=_entity(earlier[0], Job) if earlier else None))
    finally:
        conn.execute("COMMIT")


def _rows_positional(conn: sqlite3.Connection, sql: str, values: list[Any]) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, [stored(value) for value in values])
    names = [column[0] for column in cursor.description]
    return [{name: _loaded(name, value) for name, value in zip(names, row, strict=True)} for row in cursor]


def _read_job(conn: sqlite3.Connection, credential: Credential, job_id: str, now: datetime) -> Authorized[Job]:
    [row] = _rows(conn, JOB[credential.kind], {**credential_args(credential, now), "id": job_id})
    return Authorized(bool(row["granted"]), _entity(row, Job) if row["granted"] else None)


_PARENT = "SELECT * FROM jobs WHERE id = ? AND user_id = ?"
_LIMIT = "SELECT max_concurrent_jobs, running_jobs FROM users WHERE id = ?"
_ACCOUNTS = (f"SELECT {reads_pg.ACCOUNT_COLUMNS} FROM provider_accounts a WHERE a.provider_id = ?"
             " AND (a.owner_user_id IS NULL OR a.owner_user_id = ?) ORDER BY a.created_at, a.id")


def _read_shown_job(conn: sqlite3.Connection, credential: Credential, job_id: str,
                    now: datetime) -> Authorized[ShownJob]:
    """The job's statement and, for a pending job, three SELECTs, in one read transaction
    (BEGIN, deferred: no write lock)."""
    conn.execute("BEGIN")
    try:
        [row] = _rows(conn, JOB[credential.kind], {**credential_args(credential, now), "id": job_id})
        job = _entity(row, Job) if row["granted"] else None
        if job is None:
            return Authorized(bool(row["granted"]))
        if job.status is not JobStatus.PENDING:
            return Authorized(True, ShownJob(job=job))
        parent = _rows_positional(conn, _PARENT, [job.parent_job_id, job.user_id]) if job.parent_job_id else []
        limit, running = conn.execute(_LIMIT, [job.user_id]).fetchone()
        cursor = conn.execute(_ACCOUNTS, [job.provider_id, job.user_id])
        names = [column[0] for column in cursor.description]
        found = [msgspec.convert({n: _loaded(n, v, _ACCOUNT_TYPES) for n, v in zip(names, r, strict=True)},
                                 ProviderAccount) for r in cursor]
        return Authorized(True, ShownJob(job=job, wait=WaitInputs(
            parent=_entity(parent[0], Job) if parent else None, max_concurrent_jobs=limit, running_jobs=running,
            accounts=found)))
    finally:
        conn.execute("COMMIT")


def _read_asset(conn: sqlite3.Connection, credential: Credential, asset_id: str, now: datetime) -> Authorized[Asset]:
    [row] = _rows(conn, ASSET[credential.kind], {**credential_args(credential, now), "id": asset_id})
    return Authorized(bool(row["granted"]), _entity(row, Asset) if row["granted"] else None)


def _read_standing(conn: sqlite3.Connection, credential: Credential, now: datetime) -> Authorized[Standing]:
    day = utc_day(now)
    rows = _rows(conn, STANDING[credential.kind], {**credential_args(credential, now), "day": day})
    if not rows:
        return Authorized(False)
    data = rows[0]
    usage = {name: data.pop(f"d_{name}") or 0 for name in
             ("jobs_created", "jobs_completed", "assets_created", "credits_spent", "bytes_stored")}
    balance = CreditBalance(data["id"], data.pop("b_available") or 0, data.pop("b_held") or 0)
    data["quota"] = QuotaPolicy(**{name: data.pop(name) for name in QUOTA_FIELDS})
    user = msgspec.convert(data, User)
    return Authorized(True, Standing(user=user, today=DailyUsage(user_id=user.id, day=day, **usage),
                                     balance=balance))


def _after(after: Cursor | None) -> dict[str, Any]:
    return {"after_at": after.at if after else None, "after_id": after.id if after else None}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _page_jobs(conn: sqlite3.Connection, credential: Credential, where: JobFilter, after: Cursor | None,
               limit: int, now: datetime) -> Authorized[Page[Job]]:
    rows = _rows(conn, JOBS[credential.kind], {
        **credential_args(credential, now), "status": _text(where.status), "provider_id": where.provider_id,
        "operation_type": where.operation_type, "workspace_id": where.workspace_id,
        "name_prefix": where.name_prefix, "created_after": where.created_after,
        "created_before": where.created_before, "limit": limit + 1, **_after(after)})
    return _page(rows, Job, limit, lambda j: (j.created_at, j.id))


def _page_assets(conn: sqlite3.Connection, credential: Credential, where: AssetFilter, after: Cursor | None,
                 limit: int, now: datetime) -> Authorized[Page[Asset]]:
    rows = _rows(conn, ASSETS[credential.kind], {
        **credential_args(credential, now), "media_type": _text(where.media_type), "source": _text(where.source),
        "provider_id": where.provider_id, "workspace_id": where.workspace_id, "limit": limit + 1,
        **_after(after)})
    return _page(rows, Asset, limit, lambda a: (a.created_at, a.id))


def _insert(table: Table, prefix: str, conflict: str = "") -> str:
    names = [c.name for c in table.columns if c.name != "seq"]
    return (f"INSERT INTO {table.name} ({', '.join(names)}) "
            f"VALUES ({', '.join(f':{prefix}_{name}' for name in names)}) {conflict}")


_TX_INSERT = _insert(ledger_transactions, "tx")
_HOLD_INSERT = _insert(credit_holds, "hold")
_JOB_INSERT = _insert(jobs, "job", "ON CONFLICT (user_id, idempotency_key) DO NOTHING")
_AUDIT_INSERT = _insert(audit_log, "audit")
_EARLIER = "SELECT * FROM jobs WHERE user_id = :cred_user_id AND idempotency_key = :key"
_BALANCE = ("UPDATE credit_balances SET available = available + :d_available, held = held + :d_held "
            "WHERE user_id = :cred_user_id AND available + :d_available >= 0 AND held + :d_held >= 0")
_COUNT = ("INSERT INTO daily_usage AS d (user_id, day, jobs_created, jobs_completed, assets_created, "
          "credits_spent, bytes_stored) SELECT :cred_user_id, :day, 1, 0, 0, 0, 0 "
          "WHERE :day_limit IS NULL OR :day_limit >= 1 "
          "ON CONFLICT (user_id, day) DO UPDATE SET jobs_created = d.jobs_created + 1 "
          "WHERE :day_limit IS NULL OR d.jobs_created < :day_limit")
_USED = "SELECT jobs_created FROM daily_usage WHERE user_id = :cred_user_id AND day = :day"
_AVAILABLE = "SELECT available FROM credit_balances WHERE user_id = :cred_user_id"


def _scalar(conn: sqlite3.Connection, sql: str, values: dict[str, Any]) -> Any:
    row = conn.execute(sql, values).fetchone()
    return None if row is None else row[0]


def _create_job(conn: sqlite3.Connection, credential: Credential, draft: JobDraft, now: datetime) -> CreateOutcome:
    values = _params(create_arguments(credential, draft, now))
    conn.execute("BEGIN IMMEDIATE")
    try:
        outcome = _create_in_transaction(conn, credential, values, draft)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT" if outcome.status is CreateStatus.CREATED else "ROLLBACK")
    return outcome


def _create_in_transaction(conn: sqlite3.Connection, credential: Credential, values: dict[str, Any],
                           draft: JobDraft) -> CreateOutcome:
    """The rules of adapters/uow_steps.py create_job, in the same order."""
    actor = conn.execute(ACTOR[credential.kind], values).fetchone()
    if actor is None:
        return CreateOutcome(status=CreateStatus.UNAUTHENTICATED)
    day_limit = actor[1]
    if values["key"] is not None:
        earlier = _rows(conn, _EARLIER, values)
        if earlier:
            return CreateOutcome(status=CreateStatus.REPLAYED, job=_entity(earlier[0], Job))
    moved = conn.execute(_BALANCE, values).rowcount == 1
    if not moved and not (values["d_available"] >= 0 and values["d_held"] >= 0):
        if day_limit is not None and (_scalar(conn, _USED, values) or 0) >= day_limit:
            return CreateOutcome(status=CreateStatus.DAILY_LIMIT, daily_limit=day_limit)
        return CreateOutcome(status=CreateStatus.INSUFFICIENT_CREDITS, available=_scalar(conn, _AVAILABLE, values) or 0)
    if conn.execute(_COUNT, {**values, "day_limit": day_limit}).rowcount != 1:
        return CreateOutcome(status=CreateStatus.DAILY_LIMIT, daily_limit=day_limit)
    conn.execute(_TX_INSERT, values)
    conn.executemany("INSERT INTO ledger_postings (tx_id, position, account, amount) VALUES (?, ?, ?, ?)",
                     [(values["tx_id"], i, account, amount)
                      for i, (account, amount) in enumerate(zip(values["accounts"], values["amounts"], strict=True))])
    conn.execute(_HOLD_INSERT, values)
    if conn.execute(_JOB_INSERT, values).rowcount != 1:
        return CreateOutcome(status=CreateStatus.KEY_IN_FLIGHT)
    conn.execute(_AUDIT_INSERT, values)
    return CreateOutcome(status=CreateStatus.CREATED, job=draft.job)


# ---------------------------------------------------------------- the adapter


async def in_database_thread(engine: AsyncEngine, step: Callable[..., T], *args: Any) -> T:
    """`step(sqlite3_connection, *args)` run whole in a pooled connection's database thread:
    one hand-off (plus the pool's reset when the connection goes back)."""
    async with engine.connect() as conn:
        return await on_connection(conn, step, *args)


async def on_connection(conn: AsyncConnection, step: Callable[..., T], *args: Any) -> T:
    """`step(sqlite3_connection, *args)` run whole in `conn`'s database thread (inside its
    transaction, if one is open): one hand-off."""
    raw = await conn.get_raw_connection()
    database = raw.driver_connection  # an aiosqlite.Connection
    try:
        result: T = await database._execute(lambda: step(database._conn, *args))  # type: ignore[union-attr]
    except sqlite3.OperationalError as error:  # locked past busy_timeout, disk I/O: a fault, not a bug
        raise OperationalError(None, None, error) from error
    return result


class SqliteSteps:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def _in_thread(self, step: Callable[..., T], *args: Any) -> T:
        return await in_database_thread(self._engine, step, *args)

    async def create_job(self, credential: Credential, draft: JobDraft, now: datetime) -> CreateOutcome:
        return await self._in_thread(_create_job, credential, draft, now)

    async def read_relations(self, credential: Credential, asset_ids: Sequence[str], parent_job_id: str | None,
                             idempotency_key: str | None, now: datetime) -> Authorized[Relations]:
        return await self._in_thread(_read_relations, credential, list(asset_ids), parent_job_id, idempotency_key, now)

    async def read_job(self, credential: Credential, job_id: str, now: datetime) -> Authorized[Job]:
        return await self._in_thread(_read_job, credential, job_id, now)

    async def read_shown_job(self, credential: Credential, job_id: str, now: datetime) -> Authorized[ShownJob]:
        return await self._in_thread(_read_shown_job, credential, job_id, now)

    async def read_asset(self, credential: Credential, asset_id: str, now: datetime) -> Authorized[Asset]:
        return await self._in_thread(_read_asset, credential, asset_id, now)

    async def read_standing(self, credential: Credential, now: datetime) -> Authorized[Standing]:
        return await self._in_thread(_read_standing, credential, now)

    async def page_jobs(self, credential: Credential, where: JobFilter, after: Cursor | None, limit: int,
                        now: datetime) -> Authorized[Page[Job]]:
        return await self._in_thread(_page_jobs, credential, where, after, limit, now)

    async def page_assets(self, credential: Credential, where: AssetFilter, after: Cursor | None, limit: int,
                          now: datetime) -> Authorized[Page[Asset]]:
        return await self._in_thread(_page_assets, credential, where, after, limit, now)
