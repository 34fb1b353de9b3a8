"""Initial schema: users, sessions, jobs, submissions, accounts, assets, uploads, lineage,
ledger, usage and audit.

Written out in full (not built from adapters.sql.tables) so that this revision stays what
it was when the tables change; tests check that head matches the tables' metadata.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('at', TIMESTAMP, nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('resource_type', sa.String(length=64), nullable=False),
    sa.Column('resource_id', sa.String(length=128), nullable=False),
    sa.Column('details', JSON, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_action_at'), 'audit_log', ['action', 'at'], unique=False)
    op.create_index(op.f('ix_audit_log_actor_id_at'), 'audit_log', ['actor_id', 'at'], unique=False)
    op.create_index(op.f('ix_audit_log_at_id'), 'audit_log', ['at', 'id'], unique=False)
    op.create_index(op.f('ix_audit_log_resource_type_resource_id'), 'audit_log', ['resource_type', 'resource_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=512), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('max_jobs_per_day', sa.Integer(), nullable=True),
    sa.Column('max_concurrent_jobs', sa.Integer(), nullable=True),
    sa.Column('max_storage_bytes', sa.BigInteger(), nullable=True),
    sa.Column('max_private_accounts', sa.Integer(), nullable=True),
    sa.Column('storage_bytes', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('running_jobs', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.CheckConstraint('running_jobs >= 0', name=op.f('ck_users_running_jobs_nonnegative')),
    sa.CheckConstraint('storage_bytes >= 0', name=op.f('ck_users_storage_bytes_nonnegative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_index(op.f('ix_users_created_at_id'), 'users', ['created_at', 'id'], unique=False)
    op.create_index('uq_users_username_lower', 'users', [sa.text('lower(username)')], unique=True)

    op.create_table('assets',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('owner_id', sa.String(length=64), nullable=False),
    sa.Column('media_type', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('mime_type', sa.String(length=128), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=512), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('last_accessed_at', TIMESTAMP, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('duration_seconds', sa.Float(), nullable=True),
    sa.Column('provider_id', sa.String(length=64), nullable=True),
    sa.Column('provider_asset_id', sa.String(length=256), nullable=True),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('workspace_id', sa.String(length=64), nullable=True),
    sa.Column('original_filename', sa.String(length=255), nullable=True),
    sa.Column('deleted_at', TIMESTAMP, nullable=True),
    sa.CheckConstraint('size_bytes >= 0', name=op.f('ck_assets_size_nonnegative')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_assets_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assets'))
    )
    op.create_index(op.f('ix_assets_owner_id_created_at_id'), 'assets', ['owner_id', 'created_at', 'id'], unique=False)
    op.create_index(op.f('ix_assets_storage_key'), 'assets', ['storage_key'], unique=False)
    op.create_index('uq_assets_live_owner_sha', 'assets', ['owner_id', 'sha256'], unique=True, postgresql_where=sa.text('deleted_at IS NULL'), sqlite_where=sa.text('deleted_at IS NULL'))

    op.create_table('credit_balances',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('available', sa.BigInteger(), nullable=False),
    sa.Column('held', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('available >= 0', name=op.f('ck_credit_balances_available_nonnegative')),
    sa.CheckConstraint('held >= 0', name=op.f('ck_credit_balances_held_nonnegative')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_credit_balances_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_credit_balances'))
    )
    op.create_table('credit_holds',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('captured', sa.BigInteger(), nullable=False),
    sa.Column('settled_at', TIMESTAMP, nullable=True),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_credit_holds_amount_nonnegative')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_credit_holds_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_holds'))
    )
    op.create_index(op.f('ix_credit_holds_user_id_created_at'), 'credit_holds', ['user_id', 'created_at'], unique=False)

    op.create_table('daily_usage',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('jobs_created', sa.Integer(), nullable=False),
    sa.Column('jobs_completed', sa.Integer(), nullable=False),
    sa.Column('assets_created', sa.Integer(), nullable=False),
    sa.Column('credits_spent', sa.BigInteger(), nullable=False),
    sa.Column('bytes_stored', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('jobs_created >= 0', name=op.f('ck_daily_usage_jobs_created_nonnegative')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_daily_usage_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'day', name=op.f('pk_daily_usage'))
    )
    op.create_table('jobs',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('provider_id', sa.String(length=64), nullable=False),
    sa.Column('operation_type', sa.String(length=32), nullable=False),
    sa.Column('params', JSON, nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('run_after', TIMESTAMP, nullable=False),
    sa.Column('input_asset_ids', JSON, nullable=False),
    sa.Column('workspace_id', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=256), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('scheduled_at', TIMESTAMP, nullable=True),
    sa.Column('parent_job_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('error_message', sa.String(), nullable=True),
    sa.Column('account_id', sa.String(length=64), nullable=True),
    sa.Column('excluded_account_ids', JSON, nullable=False),
    sa.Column('submission_id', sa.String(length=64), nullable=True),
    sa.Column('provider_job_id', sa.String(length=256), nullable=True),
    sa.Column('result_asset_ids', JSON, nullable=False),
    sa.Column('cost_estimate', sa.BigInteger(), nullable=False),
    sa.Column('hold_id', sa.String(length=64), nullable=True),
    sa.Column('idempotency_key', sa.String(length=255), nullable=True),
    sa.Column('request_fingerprint', sa.String(length=64), nullable=True),
    sa.Column('lease_token', sa.String(length=64), nullable=True),
    sa.Column('lease_expires_at', TIMESTAMP, nullable=True),
    sa.Column('started_at', TIMESTAMP, nullable=True),
    sa.Column('completed_at', TIMESTAMP, nullable=True),
    sa.Column('updated_at', TIMESTAMP, nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_jobs_attempts_nonnegative')),
    sa.CheckConstraint('cost_estimate >= 0', name=op.f('ck_jobs_cost_nonnegative')),
    sa.CheckConstraint('priority >= 0 AND priority <= 10', name=op.f('ck_jobs_priority_range')),
    sa.ForeignKeyConstraint(['parent_job_id'], ['jobs.id'], name=op.f('fk_jobs_parent_job_id_jobs')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_jobs_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    op.create_index(op.f('ix_jobs_created_at'), 'jobs', ['created_at'], unique=False)
    op.create_index(op.f('ix_jobs_parent_job_id'), 'jobs', ['parent_job_id'], unique=False)
    op.create_index(op.f('ix_jobs_status_lease_expires_at'), 'jobs', ['status', 'lease_expires_at'], unique=False)
    op.create_index(op.f('ix_jobs_status_priority_created_at_id'), 'jobs', ['status', 'priority', 'created_at', 'id'], unique=False)
    op.create_index(op.f('ix_jobs_status_run_after'), 'jobs', ['status', 'run_after'], unique=False)
    op.create_index(op.f('ix_jobs_user_id_created_at_id'), 'jobs', ['user_id', 'created_at', 'id'], unique=False)
    op.create_index('uq_jobs_user_idempotency_key', 'jobs', ['user_id', 'idempotency_key'], unique=True)

    op.create_table('ledger_transactions',
    sa.Column('seq', SERIAL, autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('hold_id', sa.String(length=64), nullable=True),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('memo', sa.String(length=512), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ledger_transactions_user_id_users')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_ledger_transactions')),
    sa.UniqueConstraint('id', name=op.f('uq_ledger_transactions_id'))
    )
    op.create_index(op.f('ix_ledger_transactions_user_id_seq'), 'ledger_transactions', ['user_id', 'seq'], unique=False)

    op.create_table('provider_accounts',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('provider_id', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=256), nullable=False),
    sa.Column('secret', sa.String(), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('owner_user_id', sa.String(length=64), nullable=True),
    sa.Column('credits', sa.BigInteger(), nullable=False),
    sa.Column('max_concurrent_jobs', sa.Integer(), nullable=False),
    sa.Column('current_jobs', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('cooldown_until', TIMESTAMP, nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('success_count', sa.Integer(), nullable=False),
    sa.Column('failure_count', sa.Integer(), nullable=False),
    sa.Column('last_used_at', TIMESTAMP, nullable=True),
    sa.Column('avg_generation_seconds', sa.Float(), nullable=True),
    sa.CheckConstraint('credits >= 0', name=op.f('ck_provider_accounts_credits_nonnegative')),
    sa.CheckConstraint('current_jobs >= 0 AND current_jobs <= max_concurrent_jobs', name=op.f('ck_provider_accounts_current_jobs_within_max')),
    sa.CheckConstraint('max_concurrent_jobs >= 1', name=op.f('ck_provider_accounts_max_concurrent_jobs_positive')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_provider_accounts_owner_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_accounts'))
    )
    op.create_index(op.f('ix_provider_accounts_owner_user_id'), 'provider_accounts', ['owner_user_id'], unique=False)
    op.create_index(op.f('ix_provider_accounts_provider_id_created_at'), 'provider_accounts', ['provider_id', 'created_at'], unique=False)

    op.create_table('sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('refresh_hash', sa.String(length=128), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('expires_at', TIMESTAMP, nullable=False),
    sa.Column('last_used_at', TIMESTAMP, nullable=False),
    sa.Column('revoked_at', TIMESTAMP, nullable=True),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('user_agent', sa.String(length=512), nullable=True),
    sa.Column('client_ip', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions'))
    )
    op.create_index(op.f('ix_sessions_user_id_created_at'), 'sessions', ['user_id', 'created_at'], unique=False)

    op.create_table('ledger_postings',
    sa.Column('tx_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=128), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['tx_id'], ['ledger_transactions.id'], name=op.f('fk_ledger_postings_tx_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('tx_id', 'position', name=op.f('pk_ledger_postings'))
    )
    op.create_index(op.f('ix_ledger_postings_account'), 'ledger_postings', ['account'], unique=False)

    op.create_table('lineage_edges',
    sa.Column('parent_id', sa.String(length=64), nullable=False),
    sa.Column('child_id', sa.String(length=64), nullable=False),
    sa.Column('relation', sa.String(length=16), nullable=False),
    sa.Column('operation_type', sa.String(length=32), nullable=True),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('input_index', sa.Integer(), nullable=False),
    sa.CheckConstraint('parent_id <> child_id', name=op.f('ck_lineage_edges_not_own_parent')),
    sa.ForeignKeyConstraint(['child_id'], ['assets.id'], name=op.f('fk_lineage_edges_child_id_assets')),
    sa.ForeignKeyConstraint(['parent_id'], ['assets.id'], name=op.f('fk_lineage_edges_parent_id_assets')),
    sa.PrimaryKeyConstraint('parent_id', 'child_id', name=op.f('pk_lineage_edges'))
    )
    op.create_index(op.f('ix_lineage_edges_child_id'), 'lineage_edges', ['child_id'], unique=False)

    op.create_table('provider_submissions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('submitted_at', TIMESTAMP, nullable=False),
    sa.Column('provider_job_id', sa.String(length=256), nullable=True),
    sa.Column('raw_status', sa.String(length=256), nullable=True),
    sa.Column('completed_at', TIMESTAMP, nullable=True),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_provider_submissions_job_id_jobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_submissions'))
    )
    op.create_index(op.f('ix_provider_submissions_job_id'), 'provider_submissions', ['job_id'], unique=False)

    op.create_table('provider_uploads',
    sa.Column('asset_id', sa.String(length=64), nullable=False),
    sa.Column('provider_id', sa.String(length=64), nullable=False),
    sa.Column('provider_asset_id', sa.String(length=512), nullable=False),
    sa.Column('uploaded_at', TIMESTAMP, nullable=False),
    sa.Column('expires_at', TIMESTAMP, nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_provider_uploads_asset_id_assets')),
    sa.PrimaryKeyConstraint('asset_id', 'provider_id', name=op.f('pk_provider_uploads'))
    )


def downgrade() -> None:
    op.drop_table('provider_uploads')
    op.drop_table('provider_submissions')
    op.drop_table('lineage_edges')
    op.drop_table('ledger_postings')
    op.drop_table('sessions')
    op.drop_table('provider_accounts')
    op.drop_table('ledger_transactions')
    op.drop_table('jobs')
    op.drop_table('daily_usage')
    op.drop_table('credit_holds')
    op.drop_table('credit_balances')
    op.drop_table('assets')
    op.drop_table('users')
    op.drop_table('audit_log')
