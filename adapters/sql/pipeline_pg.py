"""The worker's hot steps on Postgres: ONE statement each, in autocommit (one round trip).

- read_leased: the job under its lease, with its account (a LEFT JOIN: a removed account
  is NULL).
- record_submission: the job saved (it now names the submission) and the submission row,
  written only when the save found the job at the expected version under the same lease.
- attach: the job saved (polling from now on) and the provider's job id on its submission,
  under the same condition.
- complete_job: everything a success writes, as `Completion` (worked out by the domain)
  says, in data-modifying CTEs chained so that rows are locked in the order every settling
  transaction takes them (the job, the credit balance, the account, the user, the day's
  usage). Rows travel as JSON arrays read with json_populate_recordset (one parameter per
  table, whatever the number of assets). The rule stated here in SQL is the account's
  `record_success` (and the freed slot): checked against the domain in
  tests/contract/test_sql_rules.py. When the plan's assumptions fail (the hold is no longer
  open, the owner already has some new asset's bytes) `pixrelay_abort('stale')` undoes the
  statement and the caller completes the slow way.

- renew_leases: the leases of all the jobs a worker holds between polls, one UPDATE over
  the arrays of their ids, tokens and versions (`domain.jobs.still_held`, `renew_lease`:
  no version bump, only leases ending before `renew_before`), answering each job still
  held with its next_poll_at (a webhook's poke) and lease end.
- release_leases: the held jobs given back the same way (`domain.jobs.release_held`).

A job save writes every column (like `SqlJobRepository.save`), named from adapters/sql/tables.py
so a column added later cannot be missed, and bumps the version.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import JSON
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.security.secret_box import PlainSecretBox, SecretBox
from adapters.sql import autocommit
from adapters.sql.claim_pg import claim_in_four
from adapters.sql.create_job_pg import abort_reason
from adapters.sql.prepared import Prepared, insert_values, pg_type
from adapters.sql.tables import (
    accounts,
    assets,
    audit_log,
    jobs,
    ledger_transactions,
    lineage_edges,
    submissions,
)
from domain.accounts import AccountStatus, ProviderAccount, SelectionPolicy
from domain.dispatch import ClaimedJobs
from domain.jobs import HeldJob, HeldState, Job, JobStatus
from domain.ledger import CreditHold, HoldStatus, available_account, held_account
from domain.outbound import EVENT_BITS, DeliveryStatus, delivery_id, terminal_job
from domain.ports import CompleteStatus, Completion, Leased
from domain.providers import ProviderSubmission

_JOB_JSON = {column.name for column in jobs.columns if isinstance(column.type, JSON)}
_SET_JOB = ", ".join(f"{column.name} = %(job_{column.name})s::{pg_type(column.type)}"
                     for column in jobs.columns if column.name not in ("id", "version"))
_SAVE_JOB = f"""
    UPDATE jobs SET {_SET_JOB}, version = %(expected)s::int + 1
    WHERE id = %(job_id)s::text AND version = %(expected)s::int AND lease_token = %(lease)s::text
"""
_SUB_COLUMNS, _SUB_VALUES = insert_values(submissions, "sub")

READ_LEASED = Prepared.numbered(f"""
SELECT row_to_json(j)::text AS job, row_to_json(a)::text AS account, row_to_json(h)::text AS hold,
    row_to_json(s)::text AS submission,
    CASE WHEN j.parent_job_id IS NOT NULL THEN
        COALESCE((SELECT p.result_asset_ids::text FROM jobs p WHERE p.id = j.parent_job_id), '[]') END
        AS parent_results
FROM jobs j LEFT JOIN {accounts.name} a ON a.id = j.account_id LEFT JOIN credit_holds h ON h.id = j.hold_id
    LEFT JOIN {submissions.name} s ON s.id = j.submission_id
WHERE j.id = %(id)s::text AND j.status = '{JobStatus.PROCESSING}' AND j.lease_token = %(lease)s::text
""")

RECORD_SUBMISSION = Prepared.numbered(f"""
WITH job AS ({_SAVE_JOB} RETURNING id),
submission AS (INSERT INTO {submissions.name} ({_SUB_COLUMNS}) SELECT {_SUB_VALUES} FROM job)
SELECT EXISTS (SELECT 1 FROM job) AS saved
""")

ATTACH = Prepared.numbered(f"""
WITH job AS ({_SAVE_JOB} RETURNING submission_id),
submission AS (
    UPDATE {submissions.name} s SET provider_job_id = %(provider_job_id)s::text
    FROM job WHERE s.id = job.submission_id
)
SELECT EXISTS (SELECT 1 FROM job) AS saved
""")


_HELD = """unnest(%(ids)s::text[], %(tokens)s::text[], %(versions)s::int[], %(seen)s::timestamptz[],
                %(due)s::timestamptz[]) AS h(id, token, version, seen, due)"""
_STILL_HELD = f"j.id = h.id AND j.status = '{JobStatus.PROCESSING}' AND j.lease_token = h.token AND j.version = h.version"

# The SELECT reads the statement's snapshot (before the UPDATE): every job still held, with
# the lease end the UPDATE gave it, if it gave one.
RENEW_LEASES = Prepared.numbered(f"""
WITH renewed AS (
    UPDATE jobs j SET lease_expires_at = %(until)s::timestamptz
    FROM {_HELD}
    WHERE {_STILL_HELD}
      AND (j.lease_expires_at IS NULL OR j.lease_expires_at < %(renew_before)s::timestamptz)
    RETURNING j.id, j.lease_expires_at
)
SELECT j.id, j.next_poll_at, COALESCE(r.lease_expires_at, j.lease_expires_at) AS lease_expires_at
FROM jobs j JOIN {_HELD} ON {_STILL_HELD} LEFT JOIN renewed r ON r.id = j.id
""")

RELEASE_LEASES = Prepared.numbered(f"""
UPDATE jobs j SET lease_token = NULL, lease_expires_at = NULL, updated_at = %(now)s::timestamptz,
    next_poll_at = COALESCE(CASE WHEN j.next_poll_at IS DISTINCT FROM h.seen THEN j.next_poll_at ELSE h.due END,
                            %(now)s::timestamptz),
    version = j.version + 1
FROM {_HELD}
WHERE {_STILL_HELD}
RETURNING j.id
""")


def held_values(held: Sequence[HeldJob]) -> dict[str, Any]:
    """The held jobs as parallel arrays, in id order (the order their rows are locked in)."""
    ordered = sorted(held, key=lambda hold: hold.id)
    return {"ids": [h.id for h in ordered], "tokens": [h.lease_token for h in ordered],
            "versions": [h.version for h in ordered], "seen": [h.seen_poll_at for h in ordered],
            "due": [h.due_at for h in ordered]}


def _columns(table: Any) -> str:
    return ", ".join(column.name for column in table.columns if column.name != "seq")


def _from_json(table: Any, parameter: str) -> str:
    """`SELECT <columns> FROM` the rows of `table` sent as one JSON array."""
    return f"SELECT {_columns(table)} FROM json_populate_recordset(NULL::{table.name}, %({parameter})s::json)"


_SAVED = "EXISTS (SELECT 1 FROM job)"
_COOLING, _ACTIVE = str(AccountStatus.COOLING_DOWN), str(AccountStatus.ACTIVE)

COMPLETE = Prepared.numbered(f"""
WITH job AS ({_SAVE_JOB} RETURNING id),
new_assets AS (
    INSERT INTO {assets.name} ({_columns(assets)}) {_from_json(assets, "assets")} WHERE {_SAVED}
    ON CONFLICT DO NOTHING RETURNING id
),
edges AS (
    INSERT INTO {lineage_edges.name} ({_columns(lineage_edges)}) {_from_json(lineage_edges, "edges")}
    WHERE (SELECT count(*) FROM new_assets) > 0 ON CONFLICT DO NOTHING
),
hold AS (
    UPDATE credit_holds h SET status = %(hold_status)s::text, captured = %(hold_captured)s::bigint,
        settled_at = %(hold_settled_at)s::timestamptz
    WHERE h.id = %(hold_id)s::text AND h.status = '{HoldStatus.OPEN}' AND {_SAVED}
    RETURNING h.id
),
balance AS (
    UPDATE credit_balances b
    SET available = b.available + %(d_available)s::bigint, held = b.held + %(d_held)s::bigint
    WHERE b.user_id = %(user_id)s::text AND EXISTS (SELECT 1 FROM hold)
      AND b.available + %(d_available)s::bigint >= 0 AND b.held + %(d_held)s::bigint >= 0
    RETURNING b.user_id
),
txs AS (
    INSERT INTO {ledger_transactions.name} ({_columns(ledger_transactions)})
    {_from_json(ledger_transactions, "txs")} WHERE EXISTS (SELECT 1 FROM balance)
),
postings AS (
    INSERT INTO ledger_postings (tx_id, position, account, amount)
    SELECT tx_id, position, account, amount FROM json_populate_recordset(NULL::ledger_postings, %(postings)s::json)
    WHERE EXISTS (SELECT 1 FROM balance)
),
account AS (
    UPDATE {accounts.name} a SET
        current_jobs = CASE WHEN a.current_jobs > 0 THEN a.current_jobs - 1 ELSE 0 END,
        success_count = a.success_count + 1,
        consecutive_failures = 0,
        avg_generation_seconds = CASE WHEN a.avg_generation_seconds IS NULL THEN %(seconds)s::float8
            ELSE (a.avg_generation_seconds * a.success_count + %(seconds)s::float8) / (a.success_count + 1) END,
        status = CASE WHEN a.status = '{_COOLING}' THEN '{_ACTIVE}' ELSE a.status END,
        cooldown_until = CASE WHEN a.status IN ('{_COOLING}', '{_ACTIVE}') THEN NULL ELSE a.cooldown_until END
    WHERE a.id = %(account_id)s::text AND {_SAVED} AND (SELECT count(*) FROM balance) >= 0
    RETURNING a.id
),
submission AS (
    UPDATE {submissions.name} s SET raw_status = %(raw_status)s::text, completed_at = %(now)s::timestamptz
    WHERE s.id = %(submission_id)s::text AND {_SAVED}
),
owner AS (
    UPDATE users u SET
        running_jobs = CASE WHEN u.running_jobs > 0 THEN u.running_jobs - 1 ELSE 0 END,
        storage_bytes = CASE WHEN %(bytes)s::bigint > 0 THEN u.storage_bytes + %(bytes)s::bigint
                             WHEN u.storage_bytes < 0 THEN 0 ELSE u.storage_bytes END
    WHERE u.id = %(user_id)s::text AND {_SAVED} AND (SELECT count(*) FROM account) >= 0
    RETURNING u.id
),
usage AS (
    INSERT INTO daily_usage AS d
        (user_id, day, jobs_created, jobs_completed, assets_created, credits_spent, bytes_stored)
    SELECT %(user_id)s::text, %(day)s::date, 0, %(u_jobs)s::int, %(u_assets)s::int, %(u_credits)s::bigint,
           %(u_bytes)s::bigint
    WHERE EXISTS (SELECT 1 FROM owner)
    ON CONFLICT (user_id, day) DO UPDATE SET
        jobs_completed = d.jobs_completed + excluded.jobs_completed,
        assets_created = d.assets_created + excluded.assets_created,
        credits_spent = d.credits_spent + excluded.credits_spent,
        bytes_stored = d.bytes_stored + excluded.bytes_stored
),
audit AS (
    INSERT INTO {audit_log.name} ({_columns(audit_log)}) {_from_json(audit_log, "audit")} WHERE {_SAVED}
),
deliveries AS (
    INSERT INTO outbound_deliveries
        (id, message_id, user_id, endpoint_id, url, job_id, event_type, created_at, status, attempts,
         next_attempt_at)
    SELECT 'dlv_' || %(job_id)s::text || '_' || e.id, %(message_id)s::text, e.user_id, e.id, NULL,
           %(job_id)s::text, %(event)s::text, %(now)s::timestamptz, '{DeliveryStatus.PENDING}', 0,
           %(now)s::timestamptz
    FROM webhook_endpoints e
    WHERE {_SAVED} AND e.user_id = %(user_id)s::text AND e.disabled_at IS NULL
      AND e.event_mask & %(event_bit)s::int <> 0
    UNION ALL
    SELECT %(job_delivery_id)s::text, %(message_id)s::text, %(user_id)s::text, NULL, %(webhook_url)s::text,
           %(job_id)s::text, %(event)s::text, %(now)s::timestamptz, '{DeliveryStatus.PENDING}', 0,
           %(now)s::timestamptz
    WHERE {_SAVED} AND %(wants_job_webhook)s::boolean
    ON CONFLICT DO NOTHING
)
SELECT {_SAVED} AS saved,
    CASE WHEN {_SAVED} AND ((SELECT count(*) FROM new_assets) <> %(asset_count)s::int
                            OR (%(has_hold)s::boolean AND NOT EXISTS (SELECT 1 FROM balance)))
        THEN pixrelay_abort('stale') END AS aborted
""")


def _rows_json(items: Any) -> str:
    return msgspec.json.encode(items).decode()


def complete_values(c: Completion) -> dict[str, Any]:
    job = c.job
    ended = terminal_job(job)
    assert ended is not None, "a completion ends the job"
    txs = [msgspec.structs.asdict(tx) for tx in c.hold_txs]
    for tx in txs:
        del tx["postings"]
    postings = [{"tx_id": tx.id, "position": i, "account": p.account, "amount": p.amount}
                for tx in c.hold_txs for i, p in enumerate(tx.postings)]
    available, held = available_account(job.user_id), held_account(job.user_id)
    moves = [p for tx in c.hold_txs for p in tx.postings]
    return {
        **job_values(job, c.expected_version), "lease": c.lease_token, "job_id": job.id, "user_id": job.user_id,
        "assets": _rows_json(c.assets), "asset_count": len(c.assets), "edges": _rows_json(c.edges),
        "has_hold": c.hold is not None, "hold_id": c.hold.id if c.hold else None,
        "hold_status": str(c.hold.status) if c.hold else None, "hold_captured": c.hold.captured if c.hold else 0,
        "hold_settled_at": c.hold.settled_at if c.hold else None,
        "d_available": sum(p.amount for p in moves if p.account == available),
        "d_held": sum(p.amount for p in moves if p.account == held),
        "txs": _rows_json(txs), "postings": _rows_json(postings),
        "account_id": c.account_id, "seconds": c.generation_seconds,
        "submission_id": c.submission_id, "raw_status": c.raw_status, "now": ended.at,
        "bytes": c.stored_bytes, "day": c.day, "u_jobs": c.usage.jobs_completed,
        "u_assets": c.usage.assets_created, "u_credits": c.usage.credits_spent, "u_bytes": c.usage.bytes_stored,
        "audit": _rows_json([c.audit]),
        "message_id": ended.message_id, "event": str(ended.event), "event_bit": EVENT_BITS[ended.event],
        "job_delivery_id": delivery_id(job.id, None), "webhook_url": ended.webhook_url,
        "wants_job_webhook": ended.wants_job_webhook,
    }


def job_values(job: Job, expected_version: int) -> dict[str, Any]:
    """The job's columns as `job_<column>` (JSON as text), and the save's condition."""
    row = msgspec.to_builtins(job, builtin_types=(datetime,))
    return {**{f"job_{name}": (msgspec.json.encode(value).decode() if name in _JOB_JSON else value)
               for name, value in row.items()},
            "expected": expected_version, "lease": job.lease_token}


class PostgresPipeline:
    def __init__(self, engine: AsyncEngine, box: SecretBox | None = None) -> None:
        self._engine = engine
        self._box = box or PlainSecretBox()

    async def _run(self, statement: Prepared, values: dict[str, Any]) -> Any:
        rows = await autocommit.fetch(self._engine, statement.sql, statement.args(values))
        return rows[0] if rows else None

    async def claim(self, now: datetime, lease_token: str, lease_until: datetime, limit: int,
                    selection: SelectionPolicy) -> ClaimedJobs:
        if limit <= 0:
            return ClaimedJobs(jobs=[])
        return await claim_in_four(self._engine, now, lease_token, lease_until, limit, selection)

    async def read_leased(self, job_id: str, lease_token: str) -> Leased | None:
        row = await self._run(READ_LEASED, {"id": job_id, "lease": lease_token})
        if row is None:
            return None
        account = None if row["account"] is None else msgspec.json.decode(row["account"], type=ProviderAccount)
        if account is not None:
            account = msgspec.structs.replace(account, secret=self._box.open(account.secret))
        hold = None if row["hold"] is None else msgspec.json.decode(row["hold"], type=CreditHold)
        submission = None if row["submission"] is None else msgspec.json.decode(row["submission"], type=ProviderSubmission)
        parent_results = None if row["parent_results"] is None else msgspec.json.decode(
            row["parent_results"], type=tuple[str, ...])
        return Leased(msgspec.json.decode(row["job"], type=Job), account, hold, submission, parent_results)

    async def record_submission(self, job: Job, expected_version: int, submission: ProviderSubmission) -> bool:
        values = {**job_values(job, expected_version), "job_id": job.id,
                  **{f"sub_{name}": value for name, value in msgspec.structs.asdict(submission).items()}}
        return bool((await self._run(RECORD_SUBMISSION, values))["saved"])

    async def attach(self, job: Job, expected_version: int, provider_job_id: str) -> bool:
        values = {**job_values(job, expected_version), "job_id": job.id, "provider_job_id": provider_job_id}
        return bool((await self._run(ATTACH, values))["saved"])

    async def complete_job(self, completion: Completion) -> CompleteStatus:
        try:
            row = await self._run(COMPLETE, complete_values(completion))
        except asyncpg.PostgresError as error:
            if abort_reason(error) == ["stale"]:
                return CompleteStatus.STALE
            raise
        return CompleteStatus.DONE if row["saved"] else CompleteStatus.LEASE_LOST

    async def renew_leases(self, held: Sequence[HeldJob], lease_until: datetime,
                           renew_before: datetime) -> dict[str, HeldState]:
        if not held:
            return {}
        values = {**held_values(held), "until": lease_until, "renew_before": renew_before}
        rows = await autocommit.fetch(self._engine, RENEW_LEASES.sql, RENEW_LEASES.args(values))
        return {row["id"]: HeldState(row["next_poll_at"], row["lease_expires_at"]) for row in rows}

    async def release_leases(self, held: Sequence[HeldJob], now: datetime) -> int:
        if not held:
            return 0
        rows = await autocommit.fetch(self._engine, RELEASE_LEASES.sql,
                                      RELEASE_LEASES.args({**held_values(held), "now": now}))
        return len(rows)
