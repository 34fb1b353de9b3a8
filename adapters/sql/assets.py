"""Assets, the provider upload cache and the lineage graph in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Integer, Row, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.dialect import insert_or_ignore, upsert
from adapters.sql.paging import keyset_page
from adapters.sql.rows import convert
from adapters.sql.tables import assets, lineage_edges, provider_uploads
from domain.assets import Asset, ProviderUpload
from domain.lineage import LineageEdge
from domain.pagination import Cursor, Page
from domain.ports import AssetFilter


def to_asset(row: Row[Any]) -> Asset:
    return convert(row, Asset)


class SqlAssetRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, asset: Asset) -> bool:
        """False when the owner has a live asset with these bytes: the partial unique index
        decides, so two racing uploads of one file keep one asset."""
        values = msgspec.to_builtins(asset, builtin_types=(datetime,))
        stmt = insert_or_ignore(self._conn, assets).values(values).returning(assets.c.id)
        return (await self._conn.execute(stmt)).first() is not None

    async def get(self, asset_id: str) -> Asset | None:
        row = (await self._conn.execute(select(assets).where(assets.c.id == asset_id))).first()
        return None if row is None else to_asset(row)

    async def many(self, asset_ids: Sequence[str]) -> list[Asset]:
        wanted = list(dict.fromkeys(asset_ids))
        if not wanted:
            return []
        rows = await self._conn.execute(select(assets).where(assets.c.id.in_(wanted)))
        found = {asset.id: asset for asset in map(to_asset, rows)}
        return [found[i] for i in wanted if i in found]

    async def find_by_sha(self, owner_id: str, sha256: str) -> Asset | None:
        query = select(assets).where(
            assets.c.owner_id == owner_id, assets.c.sha256 == sha256, assets.c.deleted_at.is_(None))
        row = (await self._conn.execute(query)).first()
        return None if row is None else to_asset(row)

    async def page(self, where: AssetFilter, after: Cursor | None, limit: int) -> Page[Asset]:
        query = select(assets).where(assets.c.owner_id == where.owner_id, assets.c.deleted_at.is_(None))
        for column, value in (
            (assets.c.media_type, where.media_type), (assets.c.source, where.source),
            (assets.c.provider_id, where.provider_id), (assets.c.workspace_id, where.workspace_id),
        ):
            if value is not None:
                query = query.where(column == str(value))
        return await keyset_page(self._conn, query, assets.c.created_at, assets.c.id, after, limit,
                                 to_asset, lambda a: (a.created_at, a.id))

    async def update(self, asset: Asset) -> None:
        values = msgspec.to_builtins(asset, builtin_types=(datetime,))
        del values["id"]
        await self._conn.execute(update(assets).where(assets.c.id == asset.id).values(values))

    async def count_live_with_key(self, storage_key: str) -> int:
        query = select(func.count()).select_from(assets).where(
            assets.c.storage_key == storage_key, assets.c.deleted_at.is_(None))
        return (await self._conn.execute(query)).scalar_one()


class SqlProviderUploadRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, asset_id: str, provider_id: str) -> ProviderUpload | None:
        query = select(provider_uploads).where(
            provider_uploads.c.asset_id == asset_id, provider_uploads.c.provider_id == provider_id)
        row = (await self._conn.execute(query)).first()
        return None if row is None else convert(row, ProviderUpload)

    async def put(self, upload: ProviderUpload) -> None:
        values = msgspec.structs.asdict(upload)
        stmt = upsert(self._conn, provider_uploads).values(values)
        await self._conn.execute(stmt.on_conflict_do_update(
            index_elements=["asset_id", "provider_id"],
            set_={"provider_asset_id": stmt.excluded.provider_asset_id,
                  "uploaded_at": stmt.excluded.uploaded_at, "expires_at": stmt.excluded.expires_at},
        ))


class SqlLineageRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, edges: Sequence[LineageEdge]) -> None:
        if edges:
            values = [msgspec.to_builtins(edge) for edge in edges]
            await self._conn.execute(insert_or_ignore(self._conn, lineage_edges), values)

    async def ancestors(self, asset_id: str, max_depth: int) -> list[LineageEdge]:
        return await self._walk(asset_id, max_depth, towards_parents=True)

    async def descendants(self, asset_id: str, max_depth: int) -> list[LineageEdge]:
        return await self._walk(asset_id, max_depth, towards_parents=False)

    async def _walk(self, start: str, max_depth: int, towards_parents: bool) -> list[LineageEdge]:
        """One recursive CTE: the nodes within reach, each at its shortest distance, then
        every edge leaving a node closer than max_depth (each edge once, as in a BFS).
        UNION (not UNION ALL) keeps the walk polynomial on diamond-shaped graphs."""
        edge = lineage_edges
        near, far = (edge.c.child_id, edge.c.parent_id) if towards_parents else (edge.c.parent_id, edge.c.child_id)
        seed = select(literal(start).label("node"), literal(0, Integer).label("depth"))
        walk = seed.cte("walk", recursive=True)
        walk = walk.union(
            select(far.label("node"), (walk.c.depth + 1).label("depth"))
            .select_from(edge.join(walk, near == walk.c.node))
            .where(walk.c.depth + 1 < max_depth)
        )
        reached = (
            select(walk.c.node, func.min(walk.c.depth).label("depth")).group_by(walk.c.node).subquery()
        )
        rows = await self._conn.execute(
            select(edge)
            .join(reached, near == reached.c.node)
            .order_by(reached.c.depth, near, edge.c.input_index, far)
        )
        return [convert(row, LineageEdge) for row in rows]
