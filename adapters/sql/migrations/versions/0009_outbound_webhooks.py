"""Outbound webhooks: endpoints, per-user signing keys, the delivery outbox and its attempts;
a job's own webhook_url and events filter.

Revision ID: 0009
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("webhook_url", sa.String(length=2048), nullable=True))
        batch.add_column(sa.Column("webhook_events", JSON, nullable=True))
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("events", JSON, nullable=False),
        sa.Column("event_mask", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(), nullable=False),
        sa.Column("previous_secret", sa.String(), nullable=True),
        sa.Column("previous_secret_until", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=True),
        sa.Column("disabled_at", TIMESTAMP, nullable=True),
        sa.Column("disabled_reason", sa.String(length=500), nullable=True),
        sa.Column("failing_since", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_webhook_endpoints_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_index(op.f("ix_webhook_endpoints_user_id_created_at"), "webhook_endpoints",
                    ["user_id", "created_at"])
    op.create_table(
        "webhook_signing_keys",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.String(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_webhook_signing_keys_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_webhook_signing_keys")),
    )
    op.create_table(
        "outbound_deliveries",
        sa.Column("id", sa.String(length=160), nullable=False),
        sa.Column("message_id", sa.String(length=160), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("endpoint_id", sa.String(length=64), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("payload", sa.String(), nullable=True),
        sa.Column("lease_token", sa.String(length=64), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.Column("replay_of", sa.String(length=160), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_deliveries")),
    )
    op.create_index(op.f("ix_outbound_deliveries_status_next_attempt_at"), "outbound_deliveries",
                    ["status", "next_attempt_at"])
    op.create_index(op.f("ix_outbound_deliveries_endpoint_id_created_at_id"), "outbound_deliveries",
                    ["endpoint_id", "created_at", "id"])
    op.create_index(op.f("ix_outbound_deliveries_job_id"), "outbound_deliveries", ["job_id"])
    op.create_table(
        "outbound_attempts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("delivery_id", sa.String(length=160), nullable=False),
        sa.Column("attempted_at", TIMESTAMP, nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_attempts")),
    )
    op.create_index(op.f("ix_outbound_attempts_delivery_id_attempted_at"), "outbound_attempts",
                    ["delivery_id", "attempted_at"])


def downgrade() -> None:
    op.drop_table("outbound_attempts")
    op.drop_table("outbound_deliveries")
    op.drop_table("webhook_signing_keys")
    op.drop_table("webhook_endpoints")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("webhook_events")
        batch.drop_column("webhook_url")
