"""Model catalog: the admins' model records; the model a job runs on.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "model_records",
        sa.Column("id", sa.String(length=320), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("remote_id", sa.String(length=255), nullable=False),
        sa.Column("operations", JSON, nullable=False),
        sa.Column("price", JSON, nullable=False),
        sa.Column("params_schema", JSON, nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("aliases", JSON, nullable=False),
        sa.Column("default_for", JSON, nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_records")),
    )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("model", sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("model")
    op.drop_table("model_records")
