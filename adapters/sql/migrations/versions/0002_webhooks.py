"""Webhook deliveries (replay protection) and the index webhooks use to find their job.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("webhook_id", sa.String(length=256), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider_id", "webhook_id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(op.f("ix_jobs_provider_id_provider_job_id"), "jobs", ["provider_id", "provider_job_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_jobs_provider_id_provider_job_id"), table_name="jobs")
    op.drop_table("webhook_deliveries")
