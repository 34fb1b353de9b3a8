"""The request path's reads on Postgres: ONE statement each, the credential checked in it.

Every statement starts from `actor` (the credential's user, when the credential grants
access: adapters/sql/credentials.py) and answers exactly one row for a single read (or the
page's rows, at least one) whose `granted` column says whether the credential held: False is
401, and then nothing else was read; True with the entity's columns NULL is 404. Run in
autocommit: one round trip, no BEGIN, no write lock, a snapshot of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql import autocommit
from adapters.sql.credentials import CONDITIONS, credential_args
from adapters.sql.prepared import Prepared
from adapters.sql.tables import accounts
from adapters.sql.users import QUOTA_FIELDS
from domain.accounts import ProviderAccount
from domain.assets import Asset
from domain.clock import utc_day
from domain.credentials import Credential, CredentialKind
from domain.jobs import Job, JobStatus
from domain.ledger import CreditBalance
from domain.pagination import Cursor, Page, encode_cursor
from domain.ports import AssetFilter, Authorized, JobFilter, Relations, ShownJob, Standing, WaitInputs
from domain.quotas import DailyUsage, QuotaPolicy
from domain.users import User

T = TypeVar("T")

_ACTOR = "WITH actor AS (SELECT u.id FROM users u WHERE {credential})"
_GRANTED = "(SELECT EXISTS (SELECT 1 FROM actor) AS granted) g"

_JOB = f"""{_ACTOR}
SELECT g.granted, j.* FROM {_GRANTED}
LEFT JOIN jobs j ON j.id = %(id)s::text AND j.user_id = (SELECT id FROM actor)
"""

# A pending job with what explains its wait (domain/dispatch.py why_waiting): its parent if
# the user's, its user's limit and running jobs, the provider's accounts the user may use
# (their secrets not read). A job in any other status reads none of it.
ACCOUNT_COLUMNS = ", ".join(f"a.{c.name}" for c in accounts.columns if c.name != "secret") + ", '' AS secret"
_PENDING = "j.status = 'pending'"
_SHOWN_JOB = f"""{_ACTOR}
SELECT g.granted, j.*,
    w.max_concurrent_jobs AS w_max_concurrent_jobs, w.running_jobs AS w_running_jobs,
    (SELECT row_to_json(p)::text FROM jobs p
     WHERE {_PENDING} AND p.id = j.parent_job_id AND p.user_id = j.user_id) AS w_parent,
    (SELECT json_agg(c ORDER BY c.created_at, c.id)::text FROM (
        SELECT {ACCOUNT_COLUMNS} FROM provider_accounts a
        WHERE {_PENDING} AND a.provider_id = j.provider_id
          AND (a.owner_user_id IS NULL OR a.owner_user_id = j.user_id)) c) AS w_accounts
FROM {_GRANTED}
LEFT JOIN jobs j ON j.id = %(id)s::text AND j.user_id = (SELECT id FROM actor)
LEFT JOIN users w ON {_PENDING} AND w.id = j.user_id
"""

_ASSET = f"""{_ACTOR}
SELECT g.granted, a.* FROM {_GRANTED}
LEFT JOIN assets a ON a.id = %(id)s::text AND a.owner_id = (SELECT id FROM actor) AND a.deleted_at IS NULL
"""

_RELATIONS = f"""{_ACTOR}
SELECT g.granted,
    (SELECT json_agg(a)::text FROM assets a
     WHERE a.id = ANY(%(asset_ids)s::text[]) AND a.owner_id = (SELECT id FROM actor)) AS assets,
    (SELECT row_to_json(j)::text FROM jobs j
     WHERE j.id = %(parent_id)s::text AND j.user_id = (SELECT id FROM actor)) AS parent,
    (SELECT row_to_json(j)::text FROM jobs j
     WHERE j.user_id = (SELECT id FROM actor) AND j.idempotency_key = %(key)s::text) AS earlier
FROM {_GRANTED}
"""

_STANDING = """
SELECT u.*, d.jobs_created AS d_jobs_created, d.jobs_completed AS d_jobs_completed,
       d.assets_created AS d_assets_created, d.credits_spent AS d_credits_spent,
       d.bytes_stored AS d_bytes_stored, b.available AS b_available, b.held AS b_held
FROM users u
LEFT JOIN daily_usage d ON d.user_id = u.id AND d.day = %(day)s::date
LEFT JOIN credit_balances b ON b.user_id = u.id
WHERE {credential}
"""

_AFTER = ("(%(after_at)s::timestamptz IS NULL OR {t}.created_at < %(after_at)s::timestamptz"
          " OR ({t}.created_at = %(after_at)s::timestamptz AND {t}.id < %(after_id)s::text))")

_JOBS = f"""{_ACTOR},
page AS (
    SELECT j.* FROM jobs j
    WHERE j.user_id = (SELECT id FROM actor)
      AND (%(status)s::text IS NULL OR j.status = %(status)s::text)
      AND (%(provider_id)s::text IS NULL OR j.provider_id = %(provider_id)s::text)
      AND (%(operation_type)s::text IS NULL OR j.operation_type = %(operation_type)s::text)
      AND (%(workspace_id)s::text IS NULL OR j.workspace_id = %(workspace_id)s::text)
      AND (%(name_prefix)s::text IS NULL
           OR substr(j.name, 1, length(%(name_prefix)s::text)) = %(name_prefix)s::text)
      AND (%(created_after)s::timestamptz IS NULL OR j.created_at >= %(created_after)s::timestamptz)
      AND (%(created_before)s::timestamptz IS NULL OR j.created_at < %(created_before)s::timestamptz)
      AND j.deleted_at IS NULL
      AND {_AFTER.format(t="j")}
    ORDER BY j.created_at DESC, j.id DESC
    LIMIT %(limit)s::int
)
SELECT g.granted, p.* FROM {_GRANTED} LEFT JOIN page p ON true
ORDER BY p.created_at DESC, p.id DESC
"""

_ASSETS = f"""{_ACTOR},
page AS (
    SELECT a.* FROM assets a
    WHERE a.owner_id = (SELECT id FROM actor) AND a.deleted_at IS NULL
      AND (%(media_type)s::text IS NULL OR a.media_type = %(media_type)s::text)
      AND (%(source)s::text IS NULL OR a.source = %(source)s::text)
      AND (%(provider_id)s::text IS NULL OR a.provider_id = %(provider_id)s::text)
      AND (%(workspace_id)s::text IS NULL OR a.workspace_id = %(workspace_id)s::text)
      AND {_AFTER.format(t="a")}
    ORDER BY a.created_at DESC, a.id DESC
    LIMIT %(limit)s::int
)
SELECT g.granted, p.* FROM {_GRANTED} LEFT JOIN page p ON true
ORDER BY p.created_at DESC, p.id DESC
"""


# A routed job's candidates' accounts (their secrets not read), no credential: the create
# statement that follows checks it.
ROUTE_ACCOUNTS = Prepared.numbered(f"""
SELECT json_agg(c ORDER BY c.created_at, c.id)::text AS accounts FROM (
    SELECT {ACCOUNT_COLUMNS} FROM provider_accounts a
    WHERE a.provider_id = ANY(%(provider_ids)s::text[])
      AND (a.owner_user_id IS NULL OR a.owner_user_id = %(user_id)s::text)) c
""")


def _per_kind(template: str) -> dict[CredentialKind, Prepared]:
    return {kind: Prepared.numbered(template.replace("{credential}", condition))
            for kind, condition in CONDITIONS.items()}


JOB, SHOWN_JOB, ASSET, STANDING, JOBS, ASSETS, RELATIONS = map(
    _per_kind, (_JOB, _SHOWN_JOB, _ASSET, _STANDING, _JOBS, _ASSETS, _RELATIONS))


async def _rows(engine: AsyncEngine, statements: dict[CredentialKind, Prepared], credential: Credential,
                now: datetime, **values: Any) -> list[asyncpg.Record]:
    statement = statements[credential.kind]
    return await autocommit.fetch(engine, statement.sql, statement.args({**credential_args(credential, now), **values}))


def _entity(row: asyncpg.Record, type_: type[T]) -> T | None:
    data = {str(key): value for key, value in row.items() if key != "granted" and not key.startswith("w_")}
    if data.get("id") is None:
        return None
    return msgspec.convert(data, type_)


async def read_relations(engine: AsyncEngine, credential: Credential, asset_ids: Sequence[str],
                         parent_job_id: str | None, idempotency_key: str | None,
                         now: datetime) -> Authorized[Relations]:
    [row] = await _rows(engine, RELATIONS, credential, now, asset_ids=list(asset_ids), parent_id=parent_job_id,
                        key=idempotency_key)
    if not row["granted"]:
        return Authorized(False)
    return Authorized(True, Relations(
        assets=msgspec.json.decode(row["assets"], type=list[Asset]) if row["assets"] else [],
        parent=msgspec.json.decode(row["parent"], type=Job) if row["parent"] else None,
        earlier=msgspec.json.decode(row["earlier"], type=Job) if row["earlier"] else None))


async def read_route_accounts(engine: AsyncEngine, provider_ids: Sequence[str],
                              user_id: str) -> list[ProviderAccount]:
    [row] = await autocommit.fetch(engine, ROUTE_ACCOUNTS.sql,
                                   ROUTE_ACCOUNTS.args({"provider_ids": list(provider_ids), "user_id": user_id}))
    return msgspec.json.decode(row["accounts"], type=list[ProviderAccount]) if row["accounts"] else []


async def read_job(engine: AsyncEngine, credential: Credential, job_id: str, now: datetime) -> Authorized[Job]:
    [row] = await _rows(engine, JOB, credential, now, id=job_id)
    return Authorized(row["granted"], _entity(row, Job) if row["granted"] else None)


async def read_shown_job(engine: AsyncEngine, credential: Credential, job_id: str,
                         now: datetime) -> Authorized[ShownJob]:
    [row] = await _rows(engine, SHOWN_JOB, credential, now, id=job_id)
    job = _entity(row, Job) if row["granted"] else None
    if job is None:
        return Authorized(row["granted"])
    if job.status is not JobStatus.PENDING:
        return Authorized(True, ShownJob(job=job))
    return Authorized(True, ShownJob(job=job, wait=WaitInputs(
        parent=msgspec.json.decode(row["w_parent"], type=Job) if row["w_parent"] else None,
        max_concurrent_jobs=row["w_max_concurrent_jobs"], running_jobs=row["w_running_jobs"],
        accounts=msgspec.json.decode(row["w_accounts"], type=list[ProviderAccount]) if row["w_accounts"] else [])))


async def read_asset(engine: AsyncEngine, credential: Credential, asset_id: str, now: datetime) -> Authorized[Asset]:
    [row] = await _rows(engine, ASSET, credential, now, id=asset_id)
    return Authorized(row["granted"], _entity(row, Asset) if row["granted"] else None)


async def read_standing(engine: AsyncEngine, credential: Credential, now: datetime) -> Authorized[Standing]:
    day = utc_day(now)
    rows = await _rows(engine, STANDING, credential, now, day=day)
    if not rows:
        return Authorized(False)
    data = {str(key): value for key, value in rows[0].items()}
    usage = {name: data.pop(f"d_{name}") or 0 for name in
             ("jobs_created", "jobs_completed", "assets_created", "credits_spent", "bytes_stored")}
    balance = CreditBalance(data["id"], data.pop("b_available") or 0, data.pop("b_held") or 0)
    data["quota"] = QuotaPolicy(**{name: data.pop(name) for name in QUOTA_FIELDS})
    user = msgspec.convert(data, User)
    return Authorized(True, Standing(user=user, today=DailyUsage(user_id=user.id, day=day, **usage),
                                     balance=balance))


def _page(rows: list[asyncpg.Record], type_: type[T], limit: int, key: Any) -> Authorized[Page[T]]:
    if not rows or not rows[0]["granted"]:
        return Authorized(False)
    items = [item for item in (_entity(row, type_) for row in rows) if item is not None]
    more = len(items) > limit
    items = items[:limit]
    return Authorized(True, Page(items=items, next_cursor=encode_cursor(*key(items[-1])) if more else None))


def _after(after: Cursor | None) -> dict[str, Any]:
    return {"after_at": after.at if after else None, "after_id": after.id if after else None}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


async def page_jobs(engine: AsyncEngine, credential: Credential, where: JobFilter, after: Cursor | None,
                    limit: int, now: datetime) -> Authorized[Page[Job]]:
    rows = await _rows(engine, JOBS, credential, now, status=_text(where.status), provider_id=where.provider_id,
                       operation_type=where.operation_type, workspace_id=where.workspace_id,
                       name_prefix=where.name_prefix, created_after=where.created_after,
                       created_before=where.created_before, limit=limit + 1, **_after(after))
    return _page(rows, Job, limit, lambda j: (j.created_at, j.id))


async def page_assets(engine: AsyncEngine, credential: Credential, where: AssetFilter, after: Cursor | None,
                      limit: int, now: datetime) -> Authorized[Page[Asset]]:
    rows = await _rows(engine, ASSETS, credential, now, media_type=_text(where.media_type),
                       source=_text(where.source), provider_id=where.provider_id,
                       workspace_id=where.workspace_id, limit=limit + 1, **_after(after))
    return _page(rows, Asset, limit, lambda a: (a.created_at, a.id))
