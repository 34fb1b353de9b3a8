"""SQLAlchemy Core tables: the schema of record, shared by Postgres and SQLite.

The schema enforces what it can (uniqueness, non-negative counters and balances, foreign
keys) so that a bug in Python cannot corrupt money or quotas. Migrations live in
adapters/sql/migrations; tests check that they build exactly this metadata.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    TypeDecorator,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out on both dialects (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Json: Any = JSON().with_variant(JSONB(), "postgresql")
Money = BigInteger
# Autoincrementing on both: SQLite only auto-assigns an INTEGER PRIMARY KEY.
Serial = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _id(name: str = "id") -> Column[str]:
    return Column(name, String(64), primary_key=True)


def _user_fk(name: str, nullable: bool = False) -> Column[str]:
    return Column(name, String(64), ForeignKey("users.id"), nullable=nullable)


users = Table(
    "users",
    metadata,
    _id(),
    Column("email", String(320), nullable=False, unique=True),  # stored normalised (lowercase)
    Column("username", String(64), nullable=False),
    Column("password_hash", String(512), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("role", String(16), nullable=False),
    Column("is_active", Boolean(), nullable=False),
    Column("max_jobs_per_day", Integer()),
    Column("max_concurrent_jobs", Integer()),
    Column("max_storage_bytes", BigInteger()),
    Column("max_private_accounts", Integer()),
    Column("storage_bytes", BigInteger(), nullable=False, server_default=text("0")),
    Column("running_jobs", Integer(), nullable=False, server_default=text("0")),
    CheckConstraint("storage_bytes >= 0", name="storage_bytes_nonnegative"),
    CheckConstraint("running_jobs >= 0", name="running_jobs_nonnegative"),
)
Index("uq_users_username_lower", func.lower(users.c.username), unique=True)
Index(None, users.c.created_at, users.c.id)

sessions = Table(
    "sessions",
    metadata,
    _id(),
    _user_fk("user_id"),
    Column("refresh_hash", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("last_used_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
    Column("generation", Integer(), nullable=False),
    Column("user_agent", String(512)),
    Column("client_ip", String(64)),
)
Index(None, sessions.c.user_id, sessions.c.created_at)

jobs = Table(
    "jobs",
    metadata,
    _id(),
    _user_fk("user_id"),
    Column("provider_id", String(64), nullable=False),
    Column("operation_type", String(32), nullable=False),
    Column("params", Json, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("run_after", UtcDateTime(), nullable=False),
    Column("input_asset_ids", Json, nullable=False),
    Column("workspace_id", String(64)),
    Column("name", String(256)),
    Column("priority", Integer(), nullable=False),
    Column("scheduled_at", UtcDateTime()),
    Column("parent_job_id", String(64), ForeignKey("jobs.id")),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("max_attempts", Integer(), nullable=False),
    Column("error_code", String(64)),
    Column("error_message", String()),
    Column("account_id", String(64)),  # no FK: accounts can be deleted, history stays
    Column("excluded_account_ids", Json, nullable=False),
    Column("submission_id", String(64)),
    Column("provider_job_id", String(256)),
    Column("result_asset_ids", Json, nullable=False),
    Column("cost_estimate", Money(), nullable=False),
    Column("hold_id", String(64)),
    Column("idempotency_key", String(255)),
    Column("request_fingerprint", String(64)),
    Column("lease_token", String(64)),
    Column("lease_expires_at", UtcDateTime()),
    Column("started_at", UtcDateTime()),
    Column("completed_at", UtcDateTime()),
    Column("updated_at", UtcDateTime()),
    Column("version", Integer(), nullable=False),
    Column("webhook_url", String(2048)),
    Column("webhook_events", Json),
    Column("claimed_at", UtcDateTime()),
    Column("phase", String(16), nullable=False, server_default=text("'queued'")),
    Column("next_poll_at", UtcDateTime()),
    Column("retried_from", String(64)),  # no FK: like parent jobs' children, a lookup only
    Column("deleted_at", UtcDateTime()),
    Column("model", String(320)),  # the catalog model's id; NULL on jobs made before models
    Column("route", Json),  # a routed job's candidates, failures and reason; NULL: not routed
    CheckConstraint("priority >= 0 AND priority <= 10", name="priority_range"),
    CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
    CheckConstraint("cost_estimate >= 0", name="cost_nonnegative"),
)
Index("uq_jobs_user_idempotency_key", jobs.c.user_id, jobs.c.idempotency_key, unique=True)  # NULLs never collide
Index(None, jobs.c.user_id, jobs.c.created_at, jobs.c.id)
# The claim query: due pending jobs by run_after, expired leases by lease_expires_at,
# then best priority and oldest first.
Index(None, jobs.c.status, jobs.c.run_after)
Index(None, jobs.c.status, jobs.c.lease_expires_at)
Index(None, jobs.c.status, jobs.c.priority, jobs.c.created_at, jobs.c.id)
Index(None, jobs.c.parent_job_id)
Index(None, jobs.c.provider_id, jobs.c.provider_job_id)  # webhooks find their job
Index(None, jobs.c.created_at)

submissions = Table(
    "provider_submissions",
    metadata,
    _id(),
    Column("job_id", String(64), ForeignKey("jobs.id"), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("attempt", Integer(), nullable=False),
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("provider_job_id", String(256)),
    Column("raw_status", String(256)),
    Column("completed_at", UtcDateTime()),
    Column("error_code", String(64)),
)
Index(None, submissions.c.job_id)

accounts = Table(
    "provider_accounts",
    metadata,
    _id(),
    Column("provider_id", String(64), nullable=False),
    Column("label", String(256), nullable=False),
    Column("secret", String(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    _user_fk("owner_user_id", nullable=True),
    Column("credits", Money(), nullable=False),
    Column("max_concurrent_jobs", Integer(), nullable=False),
    Column("current_jobs", Integer(), nullable=False),
    Column("priority", Integer(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("cooldown_until", UtcDateTime()),
    Column("consecutive_failures", Integer(), nullable=False),
    Column("success_count", Integer(), nullable=False),
    Column("failure_count", Integer(), nullable=False),
    Column("last_used_at", UtcDateTime()),
    Column("avg_generation_seconds", Float()),
    CheckConstraint("credits >= 0", name="credits_nonnegative"),
    CheckConstraint(
        "current_jobs >= 0 AND current_jobs <= max_concurrent_jobs", name="current_jobs_within_max"
    ),
    CheckConstraint("max_concurrent_jobs >= 1", name="max_concurrent_jobs_positive"),
)
Index(None, accounts.c.provider_id, accounts.c.created_at)
Index(None, accounts.c.owner_user_id)

assets = Table(
    "assets",
    metadata,
    _id(),
    _user_fk("owner_id"),
    Column("media_type", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("mime_type", String(128), nullable=False),
    Column("size_bytes", BigInteger(), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("storage_key", String(512), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_accessed_at", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("width", Integer()),
    Column("height", Integer()),
    Column("duration_seconds", Float()),
    Column("provider_id", String(64)),
    Column("provider_asset_id", String(256)),
    Column("job_id", String(64)),
    Column("workspace_id", String(64)),
    Column("original_filename", String(255)),
    Column("deleted_at", UtcDateTime()),
    CheckConstraint("size_bytes >= 0", name="size_nonnegative"),
)
# One live asset per owner and content; deleted ones (tombstones) do not count.
Index(
    "uq_assets_live_owner_sha",
    assets.c.owner_id,
    assets.c.sha256,
    unique=True,
    postgresql_where=assets.c.deleted_at.is_(None),
    sqlite_where=assets.c.deleted_at.is_(None),
)
Index(None, assets.c.owner_id, assets.c.created_at, assets.c.id)
Index(None, assets.c.storage_key)

provider_uploads = Table(
    "provider_uploads",
    metadata,
    Column("asset_id", String(64), ForeignKey("assets.id"), nullable=False),
    Column("provider_id", String(64), nullable=False),
    Column("provider_asset_id", String(512), nullable=False),
    Column("uploaded_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime()),
    PrimaryKeyConstraint("asset_id", "provider_id"),
)

lineage_edges = Table(
    "lineage_edges",
    metadata,
    Column("parent_id", String(64), ForeignKey("assets.id"), nullable=False),
    Column("child_id", String(64), ForeignKey("assets.id"), nullable=False),
    Column("relation", String(16), nullable=False),
    Column("operation_type", String(32)),
    Column("job_id", String(64)),
    Column("input_index", Integer(), nullable=False),
    PrimaryKeyConstraint("parent_id", "child_id"),  # also the index for walks to children
    CheckConstraint("parent_id <> child_id", name="not_own_parent"),
)
Index(None, lineage_edges.c.child_id)  # walks to parents

ledger_transactions = Table(
    "ledger_transactions",
    metadata,
    Column("seq", Serial, primary_key=True, autoincrement=True),  # insertion order
    Column("id", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    _user_fk("user_id"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("hold_id", String(64)),
    Column("job_id", String(64)),
    Column("memo", String(512)),
)
Index(None, ledger_transactions.c.user_id, ledger_transactions.c.seq)

ledger_postings = Table(
    "ledger_postings",
    metadata,
    Column("tx_id", String(64), ForeignKey("ledger_transactions.id"), nullable=False),
    Column("position", Integer(), nullable=False),
    Column("account", String(128), nullable=False),
    Column("amount", Money(), nullable=False),
    PrimaryKeyConstraint("tx_id", "position"),
)
Index(None, ledger_postings.c.account)

credit_balances = Table(
    "credit_balances",
    metadata,
    Column("user_id", String(64), ForeignKey("users.id"), primary_key=True),
    Column("available", Money(), nullable=False),
    Column("held", Money(), nullable=False),
    CheckConstraint("available >= 0", name="available_nonnegative"),
    CheckConstraint("held >= 0", name="held_nonnegative"),
)

credit_holds = Table(
    "credit_holds",
    metadata,
    _id(),
    _user_fk("user_id"),
    Column("amount", Money(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("job_id", String(64)),
    Column("status", String(16), nullable=False),
    Column("captured", Money(), nullable=False),
    Column("settled_at", UtcDateTime()),
    CheckConstraint("amount >= 0", name="amount_nonnegative"),
)
Index(None, credit_holds.c.user_id, credit_holds.c.created_at)

daily_usage = Table(
    "daily_usage",
    metadata,
    _user_fk("user_id"),
    Column("day", Date(), nullable=False),
    Column("jobs_created", Integer(), nullable=False),
    Column("jobs_completed", Integer(), nullable=False),
    Column("assets_created", Integer(), nullable=False),
    Column("credits_spent", Money(), nullable=False),
    Column("bytes_stored", BigInteger(), nullable=False),
    PrimaryKeyConstraint("user_id", "day"),
    CheckConstraint("jobs_created >= 0", name="jobs_created_nonnegative"),
)

audit_log = Table(
    "audit_log",
    metadata,
    _id(),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor_id", String(64)),  # no FK: None is the system, and entries outlive their subject
    Column("action", String(64), nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("resource_id", String(128), nullable=False),
    Column("details", Json, nullable=False),
)
Index(None, audit_log.c.at, audit_log.c.id)
Index(None, audit_log.c.actor_id, audit_log.c.at)
Index(None, audit_log.c.resource_type, audit_log.c.resource_id)
Index(None, audit_log.c.action, audit_log.c.at)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("provider_id", String(64), nullable=False),
    Column("webhook_id", String(256), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("provider_id", "webhook_id"),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    _id(),
    _user_fk("user_id"),
    Column("url", String(2048), nullable=False),
    Column("description", String(500)),
    Column("events", Json, nullable=False),
    Column("event_mask", Integer(), nullable=False),  # the events as bits: matched with one `&`
    Column("secret", String(), nullable=False),  # sealed like provider secrets
    Column("previous_secret", String()),
    Column("previous_secret_until", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime()),
    Column("disabled_at", UtcDateTime()),
    Column("disabled_reason", String(500)),
    Column("failing_since", UtcDateTime()),
)
Index(None, webhook_endpoints.c.user_id, webhook_endpoints.c.created_at)

webhook_signing_keys = Table(
    "webhook_signing_keys",
    metadata,
    Column("user_id", String(64), ForeignKey("users.id"), primary_key=True),
    Column("secret", String(), nullable=False),  # sealed
    Column("created_at", UtcDateTime(), nullable=False),
)

outbound_deliveries = Table(
    "outbound_deliveries",
    metadata,
    Column("id", String(160), primary_key=True),
    Column("message_id", String(160), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("endpoint_id", String(64)),  # None: the job's own webhook_url
    Column("url", String(2048)),
    Column("job_id", String(64), nullable=False),
    Column("event_type", String(32), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("next_attempt_at", UtcDateTime()),  # while leased: when the lease runs out
    Column("payload", String()),
    Column("lease_token", String(64)),
    Column("last_status_code", Integer()),
    Column("last_error", String(500)),
    Column("delivered_at", UtcDateTime()),
    Column("replay_of", String(160)),
)
Index(None, outbound_deliveries.c.status, outbound_deliveries.c.next_attempt_at)  # the claim
Index(None, outbound_deliveries.c.endpoint_id, outbound_deliveries.c.created_at, outbound_deliveries.c.id)
Index(None, outbound_deliveries.c.job_id)

outbound_attempts = Table(
    "outbound_attempts",
    metadata,
    _id(),
    Column("delivery_id", String(160), nullable=False),
    Column("attempted_at", UtcDateTime(), nullable=False),
    Column("duration_ms", Integer(), nullable=False),
    Column("status_code", Integer()),
    Column("error", String(500)),
    Column("next_attempt_at", UtcDateTime()),
)
Index(None, outbound_attempts.c.delivery_id, outbound_attempts.c.attempted_at)
api_keys = Table(
    "api_keys",
    metadata,
    _id(),
    _user_fk("user_id"),
    Column("name", String(128), nullable=False),
    Column("secret_hash", String(128), nullable=False),
    Column("prefix", String(128), nullable=False),
    Column("scopes", Json, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime()),
    Column("last_used_at", UtcDateTime()),
    Column("revoked_at", UtcDateTime()),
    Column("created_by", String(64)),  # no FK: the admin who minted it may go, the key stays
)
Index(None, api_keys.c.user_id, api_keys.c.created_at)

# The admins' entries in the model catalog (domain/models.py ModelRecord): a model of its
# own, a built-in's replacement, or a tombstone (removed) hiding the model of its id.
model_records = Table(
    "model_records",
    metadata,
    Column("id", String(320), primary_key=True),
    Column("provider_id", String(64), nullable=False),
    Column("remote_id", String(255), nullable=False),
    Column("operations", Json, nullable=False),
    Column("price", Json, nullable=False),
    Column("params_schema", Json),
    Column("name", String(200), nullable=False),
    Column("aliases", Json, nullable=False),
    Column("default_for", Json, nullable=False),
    Column("removed", Boolean(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(64)),  # no FK: the admin may go, the record stays
)
