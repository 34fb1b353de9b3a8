"""Creating a job on Postgres in ONE statement: one round trip, no explicit transaction.

Data-modifying CTEs, each feeding the next, so that every write happens only when the ones
before it succeeded:

  actor    the credential's user, when the credential grants access (adapters/sql/credentials.py)
  earlier  the user's job with this idempotency key, if any (then nothing is written)
  balance  the hold moves credits from available to held, unless either would go below zero
           (the conditional UPDATE re-checks the row's latest version under its lock)
  funded   the actor, when the balance moved (or the hold is zero)
  counted  one more job in the UTC day's usage, unless that passes `max_jobs_per_day`
           (INSERT ... ON CONFLICT DO UPDATE ... WHERE: atomic under any number of racers)
  tx, postings, hold, job, audit   the rows themselves, from `counted`

The balance row is locked before the usage row, in the order a completion locks them. When
the day's limit refuses after the balance moved, or the job's idempotency key turns out to be
taken by a racing request, `pixrelay_abort` raises (SQLSTATE PX001) and the statement undoes
everything it wrote. When the balance refuses, nothing was written: the answer says why, from
the statement's snapshot (the daily limit first, as the in-memory form does).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import JSON
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql import autocommit
from adapters.sql.credentials import CONDITIONS, credential_args
from adapters.sql.prepared import Prepared, insert_values
from adapters.sql.tables import audit_log, credit_holds, jobs, ledger_transactions
from domain.clock import utc_day
from domain.credentials import Credential, CredentialKind
from domain.jobs import Job
from domain.ledger import LedgerTransaction, available_account, held_account
from domain.ports import CreateOutcome, CreateStatus, JobDraft

ABORT_SQLSTATE = "PX001"
# Sent as JSON text: every JSON column of the tables this step writes (read from the tables,
# so a column added later cannot be missed: a job's `webhook_events` once was).
_JSON_COLUMNS = {column.name for table in (ledger_transactions, credit_holds, jobs, audit_log)
                 for column in table.columns if isinstance(column.type, JSON)}

_TX_COLUMNS, _TX_VALUES = insert_values(ledger_transactions, "tx")
_HOLD_COLUMNS, _HOLD_VALUES = insert_values(credit_holds, "hold")
_JOB_COLUMNS, _JOB_VALUES = insert_values(jobs, "job")
_AUDIT_COLUMNS, _AUDIT_VALUES = insert_values(audit_log, "audit")

_TEMPLATE = f"""
WITH actor AS (
    SELECT u.id, u.max_jobs_per_day AS day_limit FROM users u WHERE {{credential}}
),
earlier AS (
    SELECT j.* FROM jobs j JOIN actor ON j.user_id = actor.id
    WHERE j.idempotency_key = %(key)s::text
),
balance AS (
    UPDATE credit_balances b
    SET available = b.available + %(d_available)s::bigint, held = b.held + %(d_held)s::bigint
    FROM actor
    WHERE b.user_id = actor.id AND NOT EXISTS (SELECT 1 FROM earlier)
      AND b.available + %(d_available)s::bigint >= 0 AND b.held + %(d_held)s::bigint >= 0
    RETURNING b.user_id
),
funded AS (
    SELECT actor.id, actor.day_limit FROM actor
    WHERE NOT EXISTS (SELECT 1 FROM earlier)
      AND (EXISTS (SELECT 1 FROM balance) OR (%(d_available)s::bigint >= 0 AND %(d_held)s::bigint >= 0))
),
counted AS (
    INSERT INTO daily_usage AS d
        (user_id, day, jobs_created, jobs_completed, assets_created, credits_spent, bytes_stored)
    SELECT funded.id, %(day)s::date, 1, 0, 0, 0, 0 FROM funded
    WHERE funded.day_limit IS NULL OR funded.day_limit >= 1
    ON CONFLICT (user_id, day) DO UPDATE SET jobs_created = d.jobs_created + 1
    WHERE (SELECT day_limit FROM actor) IS NULL OR d.jobs_created < (SELECT day_limit FROM actor)
    RETURNING d.user_id
),
tx AS (
    INSERT INTO ledger_transactions ({_TX_COLUMNS}) SELECT {_TX_VALUES} FROM counted RETURNING id
),
postings AS (
    INSERT INTO ledger_postings (tx_id, position, account, amount)
    SELECT tx.id, p.ord - 1, p.account, p.amount
    FROM tx, unnest(%(accounts)s::text[], %(amounts)s::bigint[]) WITH ORDINALITY AS p(account, amount, ord)
),
hold AS (
    INSERT INTO credit_holds ({_HOLD_COLUMNS}) SELECT {_HOLD_VALUES} FROM counted
),
job AS (
    INSERT INTO jobs ({_JOB_COLUMNS}) SELECT {_JOB_VALUES} FROM counted
    ON CONFLICT (user_id, idempotency_key) DO NOTHING
    RETURNING id
),
audit AS (
    INSERT INTO audit_log ({_AUDIT_COLUMNS}) SELECT {_AUDIT_VALUES} FROM job
)
SELECT
    EXISTS (SELECT 1 FROM actor) AS granted,
    (SELECT row_to_json(e)::text FROM earlier e) AS earlier,
    EXISTS (SELECT 1 FROM funded) AS funded,
    (SELECT day_limit FROM actor) AS day_limit,
    (SELECT jobs_created FROM daily_usage WHERE user_id = %(cred_user_id)s::text AND day = %(day)s::date) AS used,
    (SELECT available FROM credit_balances WHERE user_id = %(cred_user_id)s::text) AS available,
    CASE
        WHEN EXISTS (SELECT 1 FROM funded) AND NOT EXISTS (SELECT 1 FROM counted)
            THEN pixrelay_abort('daily_limit ' || (SELECT day_limit FROM actor))
        WHEN EXISTS (SELECT 1 FROM counted) AND NOT EXISTS (SELECT 1 FROM job)
            THEN pixrelay_abort('key_in_flight')
    END AS aborted
"""

STATEMENTS: dict[CredentialKind, Prepared] = {
    kind: Prepared.numbered(_TEMPLATE.replace("{credential}", condition))
    for kind, condition in CONDITIONS.items()
}


def _values(prefix: str, row: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}_{name}": (msgspec.json.encode(value).decode() if name in _JSON_COLUMNS else value)
            for name, value in row.items()}


def _balance_deltas(tx: LedgerTransaction) -> tuple[int, int]:
    available, held = available_account(tx.user_id), held_account(tx.user_id)
    return (sum(p.amount for p in tx.postings if p.account == available),
            sum(p.amount for p in tx.postings if p.account == held))


def arguments(credential: Credential, draft: JobDraft, now: datetime) -> dict[str, Any]:
    tx = msgspec.to_builtins(draft.hold_tx, builtin_types=(datetime,))
    del tx["postings"]
    postings = draft.hold_tx.postings
    d_available, d_held = _balance_deltas(draft.hold_tx)
    return {
        **credential_args(credential, now),
        "key": draft.job.idempotency_key, "day": utc_day(now),
        "d_available": d_available, "d_held": d_held,
        "accounts": [p.account for p in postings], "amounts": [p.amount for p in postings],
        **_values("tx", tx),
        **_values("hold", msgspec.to_builtins(draft.hold, builtin_types=(datetime,))),
        **_values("job", msgspec.to_builtins(draft.job, builtin_types=(datetime,))),
        **_values("audit", msgspec.to_builtins(draft.audit, builtin_types=(datetime,))),
    }


def abort_reason(error: asyncpg.PostgresError) -> list[str] | None:
    """The words `pixrelay_abort` was given, when that is what ended the statement."""
    if error.sqlstate != ABORT_SQLSTATE:
        return None
    return str(error.message).split()


async def create_job(engine: AsyncEngine, credential: Credential, draft: JobDraft, now: datetime) -> CreateOutcome:
    statement = STATEMENTS[credential.kind]
    try:
        [row] = await autocommit.fetch(engine, statement.sql, statement.args(arguments(credential, draft, now)))
    except asyncpg.PostgresError as error:
        match abort_reason(error):
            case ["daily_limit", limit]:
                return CreateOutcome(status=CreateStatus.DAILY_LIMIT, daily_limit=int(limit))
            case ["key_in_flight"]:
                return CreateOutcome(status=CreateStatus.KEY_IN_FLIGHT)
        raise
    if not row["granted"]:
        return CreateOutcome(status=CreateStatus.UNAUTHENTICATED)
    if row["earlier"] is not None:
        return CreateOutcome(status=CreateStatus.REPLAYED, job=msgspec.json.decode(row["earlier"], type=Job))
    if not row["funded"]:
        if row["day_limit"] is not None and (row["used"] or 0) >= row["day_limit"]:
            return CreateOutcome(status=CreateStatus.DAILY_LIMIT, daily_limit=row["day_limit"])
        return CreateOutcome(status=CreateStatus.INSUFFICIENT_CREDITS, available=row["available"] or 0)
    return CreateOutcome(status=CreateStatus.CREATED, job=draft.job)
