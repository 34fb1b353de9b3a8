"""The worker's hot steps on SQLite, each run whole inside the database thread: one hand-off
(plus the pool's reset), as the request path's steps (adapters/sql/sqlite_steps.py).

What each writes is what adapters/sql/pipeline_pg.py writes on Postgres, its statements with
the casts taken out; SQLite has no data-modifying CTEs, so a step is the same statements one
after another in one transaction, the conditions the CTEs chain on checked in Python between
them:

- read_leased: the job under its lease with its account, hold and submission (LEFT JOINs),
  ONE SELECT in autocommit (no BEGIN: in WAL mode a reader takes no write lock).
- record_submission, attach, complete_job: BEGIN IMMEDIATE ... COMMIT. The job's save comes
  first and names the expected version and the lease token: when it finds no row the step
  rolls back and answers "lease lost", nothing written.
- complete_job answers "stale", nothing written, when the plan's assumptions fail: some new
  asset not inserted (the owner already has its bytes), or the hold no longer open (or the
  balance refusing its move), as `pixrelay_abort('stale')` does on Postgres.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import msgspec
from sqlalchemy import JSON, Table
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.security.secret_box import PlainSecretBox, SecretBox
from adapters.sql import pipeline_pg
from adapters.sql.prepared import insert_values
from adapters.sql.sqlite_dispatch import claim_in_thread
from adapters.sql.sqlite_steps import _loaded, _params, in_database_thread, sqlite_text, stored
from adapters.sql.tables import (
    accounts,
    assets,
    audit_log,
    credit_holds,
    jobs,
    ledger_transactions,
    lineage_edges,
    submissions,
)
from domain.accounts import AccountStatus, ProviderAccount, SelectionPolicy
from domain.dispatch import ClaimedJobs
from domain.jobs import Job, JobStatus
from domain.ledger import CreditHold, HoldStatus
from domain.outbound import DeliveryStatus
from domain.ports import CompleteStatus, Completion, Leased
from domain.providers import ProviderSubmission

T = TypeVar("T")

# ---------------------------------------------------------------- statements

_LEASED_TABLES = {"j": jobs, "a": accounts, "h": credit_holds, "s": submissions}
_TYPES = {alias: {column.name: column.type for column in table.columns} for alias, table in _LEASED_TABLES.items()}
READ_LEASED = (
    "SELECT " + ", ".join(f"{alias}.{column.name} AS {alias}__{column.name}"
                          for alias, table in _LEASED_TABLES.items() for column in table.columns)
    # a child's parent's results, as on Postgres: '[]' when the parent is gone, NULL without one
    + ", CASE WHEN j.parent_job_id IS NOT NULL THEN COALESCE("
    "(SELECT p.result_asset_ids FROM jobs p WHERE p.id = j.parent_job_id), '[]') END AS parent_results"
    + f" FROM jobs j LEFT JOIN {accounts.name} a ON a.id = j.account_id"
    " LEFT JOIN credit_holds h ON h.id = j.hold_id"
    f" LEFT JOIN {submissions.name} s ON s.id = j.submission_id"
    f" WHERE j.id = :id AND j.status = '{JobStatus.PROCESSING}' AND j.lease_token = :lease"
)

SAVE_JOB = sqlite_text(pipeline_pg._SAVE_JOB)
_SUB_COLUMNS, _SUB_VALUES = insert_values(submissions, "sub")
INSERT_SUBMISSION = sqlite_text(f"INSERT INTO {submissions.name} ({_SUB_COLUMNS}) VALUES ({_SUB_VALUES})")
# The save above set the job's submission_id: the submission it names.
ATTACH_SUBMISSION = f"UPDATE {submissions.name} SET provider_job_id = :provider_job_id WHERE id = :job_submission_id"


def _insert(table: Table, conflict: str = "") -> str:
    names = [column.name for column in table.columns if column.name != "seq"]
    return (f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(f':{n}' for n in names)})"
            f" {conflict}").rstrip()


INSERT_ASSET = _insert(assets, "ON CONFLICT DO NOTHING")
INSERT_EDGE = _insert(lineage_edges, "ON CONFLICT DO NOTHING")
INSERT_TX = _insert(ledger_transactions)
INSERT_POSTING = "INSERT INTO ledger_postings (tx_id, position, account, amount) VALUES (?, ?, ?, ?)"
INSERT_AUDIT = _insert(audit_log)
SETTLE_HOLD = ("UPDATE credit_holds SET status = :hold_status, captured = :hold_captured, "
               f"settled_at = :hold_settled_at WHERE id = :hold_id AND status = '{HoldStatus.OPEN}'")
MOVE_BALANCE = ("UPDATE credit_balances SET available = available + :d_available, held = held + :d_held "
                "WHERE user_id = :user_id AND available + :d_available >= 0 AND held + :d_held >= 0")
_COOLING, _ACTIVE = str(AccountStatus.COOLING_DOWN), str(AccountStatus.ACTIVE)
# domain.accounts.record_success and the freed slot (checked against the domain in
# tests/contract/test_complete_step.py); SET reads the row as it was, as on Postgres.
ACCOUNT_SUCCESS = f"""
UPDATE {accounts.name} SET
    current_jobs = CASE WHEN current_jobs > 0 THEN current_jobs - 1 ELSE 0 END,
    success_count = success_count + 1,
    consecutive_failures = 0,
    avg_generation_seconds = CASE WHEN avg_generation_seconds IS NULL THEN :seconds
        ELSE (avg_generation_seconds * success_count + :seconds) / (success_count + 1) END,
    status = CASE WHEN status = '{_COOLING}' THEN '{_ACTIVE}' ELSE status END,
    cooldown_until = CASE WHEN status IN ('{_COOLING}', '{_ACTIVE}') THEN NULL ELSE cooldown_until END
WHERE id = :account_id
"""
CLOSE_SUBMISSION = f"UPDATE {submissions.name} SET raw_status = :raw_status, completed_at = :now WHERE id = :submission_id"
RELEASE_OWNER = """
UPDATE users SET
    running_jobs = CASE WHEN running_jobs > 0 THEN running_jobs - 1 ELSE 0 END,
    storage_bytes = CASE WHEN :bytes > 0 THEN storage_bytes + :bytes
                         WHEN storage_bytes < 0 THEN 0 ELSE storage_bytes END
WHERE id = :user_id
"""
ADD_USAGE = """
INSERT INTO daily_usage AS d (user_id, day, jobs_created, jobs_completed, assets_created, credits_spent, bytes_stored)
VALUES (:user_id, :day, 0, :u_jobs, :u_assets, :u_credits, :u_bytes)
ON CONFLICT (user_id, day) DO UPDATE SET
    jobs_completed = d.jobs_completed + excluded.jobs_completed,
    assets_created = d.assets_created + excluded.assets_created,
    credits_spent = d.credits_spent + excluded.credits_spent,
    bytes_stored = d.bytes_stored + excluded.bytes_stored
"""
_PENDING = str(DeliveryStatus.PENDING)
ENQUEUE_DELIVERIES = f"""
INSERT INTO outbound_deliveries
    (id, message_id, user_id, endpoint_id, url, job_id, event_type, created_at, status, attempts, next_attempt_at)
SELECT 'dlv_' || :job_id || '_' || e.id, :message_id, e.user_id, e.id, NULL, :job_id, :event, :now,
       '{_PENDING}', 0, :now
FROM webhook_endpoints e
WHERE e.user_id = :user_id AND e.disabled_at IS NULL AND e.event_mask & :event_bit <> 0
UNION ALL
SELECT :job_delivery_id, :message_id, :user_id, NULL, :webhook_url, :job_id, :event, :now, '{_PENDING}', 0, :now
WHERE :wants_job_webhook
ON CONFLICT DO NOTHING
"""

# ---------------------------------------------------------------- values


def _row(table: Table, item: msgspec.Struct) -> dict[str, Any]:
    """A domain struct as `table`'s row, stored as SQLAlchemy stores it on SQLite."""
    data = msgspec.to_builtins(item, builtin_types=(datetime, date))
    return {column.name: (msgspec.json.encode(data.get(column.name)).decode() if isinstance(column.type, JSON)
                          else stored(data.get(column.name)))
            for column in table.columns if column.name != "seq"}


def _job_values(job: Job, expected_version: int) -> dict[str, Any]:
    return _params({**pipeline_pg.job_values(job, expected_version), "job_id": job.id})


def _part(row: dict[str, Any], alias: str) -> dict[str, Any]:
    prefix = f"{alias}__"
    return {name[len(prefix):]: _loaded(name[len(prefix):], value, _TYPES[alias])
            for name, value in row.items() if name.startswith(prefix)}


# ---------------------------------------------------------------- in the database thread


def _read_leased(conn: sqlite3.Connection, job_id: str, lease_token: str
                 ) -> tuple[dict[str, dict[str, Any]], str | None] | None:
    cursor = conn.execute(READ_LEASED, {"id": job_id, "lease": lease_token})
    found = cursor.fetchone()
    if found is None:
        return None
    row = dict(zip([column[0] for column in cursor.description], found, strict=True))
    return {alias: _part(row, alias) for alias in _LEASED_TABLES}, row["parent_results"]


def _in_transaction(conn: sqlite3.Connection, write: Callable[..., tuple[T, bool]], *args: Any) -> T:
    """BEGIN IMMEDIATE; `write` answers (outcome, keep): COMMIT if kept, else ROLLBACK."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        outcome, keep = write(conn, *args)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT" if keep else "ROLLBACK")
    return outcome


def _record_submission(conn: sqlite3.Connection, values: dict[str, Any]) -> tuple[bool, bool]:
    if conn.execute(SAVE_JOB, values).rowcount != 1:
        return False, False
    conn.execute(INSERT_SUBMISSION, values)
    return True, True


def _attach(conn: sqlite3.Connection, values: dict[str, Any]) -> tuple[bool, bool]:
    if conn.execute(SAVE_JOB, values).rowcount != 1:
        return False, False
    conn.execute(ATTACH_SUBMISSION, values)
    return True, True


def _complete(conn: sqlite3.Connection, values: dict[str, Any], rows: dict[str, list[Any]]
              ) -> tuple[CompleteStatus, bool]:
    """COMPLETE of pipeline_pg.py, its CTEs in order."""
    if conn.execute(SAVE_JOB, values).rowcount != 1:
        return CompleteStatus.LEASE_LOST, False
    inserted = sum(conn.execute(INSERT_ASSET, asset).rowcount for asset in rows["assets"])
    if inserted != values["asset_count"]:
        return CompleteStatus.STALE, False
    if inserted > 0:
        conn.executemany(INSERT_EDGE, rows["edges"])
    settled = conn.execute(SETTLE_HOLD, values).rowcount == 1
    moved = settled and conn.execute(MOVE_BALANCE, values).rowcount == 1
    if values["has_hold"] and not moved:
        return CompleteStatus.STALE, False
    if moved:
        conn.executemany(INSERT_TX, rows["txs"])
        conn.executemany(INSERT_POSTING, rows["postings"])
    conn.execute(ACCOUNT_SUCCESS, values)
    conn.execute(CLOSE_SUBMISSION, values)
    if conn.execute(RELEASE_OWNER, values).rowcount == 1:
        conn.execute(ADD_USAGE, values)
    conn.executemany(INSERT_AUDIT, rows["audit"])
    conn.execute(ENQUEUE_DELIVERIES, values)
    return CompleteStatus.DONE, True


def _complete_rows(c: Completion) -> dict[str, list[Any]]:
    return {
        "assets": [_row(assets, asset) for asset in c.assets],
        "edges": [_row(lineage_edges, edge) for edge in c.edges],
        "txs": [_row(ledger_transactions, tx) for tx in c.hold_txs],
        "postings": [(tx.id, i, p.account, p.amount) for tx in c.hold_txs for i, p in enumerate(tx.postings)],
        "audit": [_row(audit_log, c.audit)],
    }


# ---------------------------------------------------------------- the adapter


class SqlitePipeline:
    def __init__(self, engine: AsyncEngine, box: SecretBox | None = None) -> None:
        self._engine = engine
        self._box = box or PlainSecretBox()

    async def read_leased(self, job_id: str, lease_token: str) -> Leased | None:
        found = await in_database_thread(self._engine, _read_leased, job_id, lease_token)
        if found is None:
            return None
        parts, parent_results = found
        account = None if parts["a"]["id"] is None else msgspec.convert(parts["a"], ProviderAccount)
        if account is not None:
            account = msgspec.structs.replace(account, secret=self._box.open(account.secret))
        hold = None if parts["h"]["id"] is None else msgspec.convert(parts["h"], CreditHold)
        submission = None if parts["s"]["id"] is None else msgspec.convert(parts["s"], ProviderSubmission)
        return Leased(msgspec.convert(parts["j"], Job), account, hold, submission,
                      None if parent_results is None else msgspec.json.decode(parent_results, type=tuple[str, ...]))

    async def claim(self, now: datetime, lease_token: str, lease_until: datetime, limit: int,
                    selection: SelectionPolicy) -> ClaimedJobs:
        return await claim_in_thread(self._engine, now, lease_token, lease_until, limit, selection)

    async def record_submission(self, job: Job, expected_version: int, submission: ProviderSubmission) -> bool:
        values = {**_job_values(job, expected_version),
                  **{f"sub_{name}": stored(value) for name, value in msgspec.structs.asdict(submission).items()}}
        return bool(await in_database_thread(self._engine, _in_transaction, _record_submission, values))

    async def attach(self, job: Job, expected_version: int, provider_job_id: str) -> bool:
        values = {**_job_values(job, expected_version), "provider_job_id": provider_job_id}
        return bool(await in_database_thread(self._engine, _in_transaction, _attach, values))

    async def complete_job(self, completion: Completion) -> CompleteStatus:
        values = _params(pipeline_pg.complete_values(completion))
        status: CompleteStatus = await in_database_thread(
            self._engine, _in_transaction, _complete, values, _complete_rows(completion))
        return status
