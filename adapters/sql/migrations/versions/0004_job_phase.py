"""Jobs carry their pipeline phase, when a worker first claimed them and their next poll.

Existing rows get the phase their null fields implied, and a job waiting on its provider
moves its next poll out of the lease expiry, where it used to be kept.

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("phase", sa.String(length=16), nullable=False, server_default="queued"))
        batch.add_column(sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE jobs SET claimed_at = started_at WHERE started_at IS NOT NULL")
    op.execute("""
        UPDATE jobs SET phase = CASE
            WHEN status IN ('completed', 'failed', 'cancelled') THEN 'finished'
            WHEN status = 'pending' THEN 'queued'
            WHEN provider_job_id IS NOT NULL THEN 'poll'
            WHEN submission_id IS NOT NULL THEN 'reattach'
            ELSE 'submit' END
    """)
    op.execute("""
        UPDATE jobs SET next_poll_at = lease_expires_at, lease_expires_at = NULL
        WHERE status = 'processing' AND lease_token IS NULL
    """)


def downgrade() -> None:
    op.execute("""
        UPDATE jobs SET lease_expires_at = next_poll_at
        WHERE status = 'processing' AND lease_token IS NULL AND next_poll_at IS NOT NULL
    """)
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("next_poll_at")
        batch.drop_column("phase")
        batch.drop_column("claimed_at")
