"""The request path's atomic steps on Postgres: one statement each (create_job_pg, reads_pg)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql import create_job_pg, reads_pg
from domain.accounts import ProviderAccount
from domain.assets import Asset
from domain.credentials import Credential
from domain.jobs import Job
from domain.pagination import Cursor, Page
from domain.ports import (
    AssetFilter,
    Authorized,
    CreateOutcome,
    JobDraft,
    JobFilter,
    Relations,
    ShownJob,
    Standing,
)


class PostgresSteps:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create_job(self, credential: Credential, draft: JobDraft, now: datetime) -> CreateOutcome:
        return await create_job_pg.create_job(self._engine, credential, draft, now)

    async def read_relations(self, credential: Credential, asset_ids: Sequence[str], parent_job_id: str | None,
                             idempotency_key: str | None, now: datetime) -> Authorized[Relations]:
        return await reads_pg.read_relations(self._engine, credential, asset_ids, parent_job_id, idempotency_key, now)

    async def read_route_accounts(self, provider_ids: Sequence[str], user_id: str) -> list[ProviderAccount]:
        return await reads_pg.read_route_accounts(self._engine, provider_ids, user_id)

    async def read_job(self, credential: Credential, job_id: str, now: datetime) -> Authorized[Job]:
        return await reads_pg.read_job(self._engine, credential, job_id, now)

    async def read_shown_job(self, credential: Credential, job_id: str, now: datetime) -> Authorized[ShownJob]:
        return await reads_pg.read_shown_job(self._engine, credential, job_id, now)

    async def read_asset(self, credential: Credential, asset_id: str, now: datetime) -> Authorized[Asset]:
        return await reads_pg.read_asset(self._engine, credential, asset_id, now)

    async def read_standing(self, credential: Credential, now: datetime) -> Authorized[Standing]:
        return await reads_pg.read_standing(self._engine, credential, now)

    async def page_jobs(self, credential: Credential, where: JobFilter, after: Cursor | None, limit: int,
                        now: datetime) -> Authorized[Page[Job]]:
        return await reads_pg.page_jobs(self._engine, credential, where, after, limit, now)

    async def page_assets(self, credential: Credential, where: AssetFilter, after: Cursor | None, limit: int,
                          now: datetime) -> Authorized[Page[Asset]]:
        return await reads_pg.page_assets(self._engine, credential, where, after, limit, now)
