"""The hot path's atomic steps: a function a single statement calls to abort itself.

`pixrelay_abort(reason)` raises SQLSTATE PX001 with `reason` as its message. The one-statement
job creation (adapters/sql/create_job_pg.py) calls it when a later condition fails after an
earlier part of the statement wrote (the daily limit after the hold, a taken idempotency
key after both): the whole statement, and everything it wrote, is undone. Postgres only.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ABORT_FUNCTION = """
CREATE OR REPLACE FUNCTION pixrelay_abort(reason text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'PX001', MESSAGE = reason;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(ABORT_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS pixrelay_abort(text)")
