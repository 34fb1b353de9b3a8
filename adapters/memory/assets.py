"""In-memory assets, the provider upload cache and the lineage graph."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.memory.paging import paginate
from adapters.memory.store import MemoryState
from domain.assets import Asset, ProviderUpload
from domain.lineage import LineageEdge, walk
from domain.pagination import Cursor, Page
from domain.ports import AssetFilter


class InMemoryAssetRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, asset: Asset) -> bool:
        if await self.find_by_sha(asset.owner_id, asset.sha256) is not None:
            return False
        self._state.assets[asset.id] = asset
        return True

    async def get(self, asset_id: str) -> Asset | None:
        return self._state.assets.get(asset_id)

    async def many(self, asset_ids: Sequence[str]) -> list[Asset]:
        return [self._state.assets[i] for i in dict.fromkeys(asset_ids) if i in self._state.assets]

    async def find_by_sha(self, owner_id: str, sha256: str) -> Asset | None:
        found: list[Asset] = self._state.lookup("assets", "sha", (owner_id, sha256))
        return found[0] if found else None

    async def page(self, where: AssetFilter, after: Cursor | None, limit: int) -> Page[Asset]:
        def matches(asset: Asset) -> bool:
            return (
                asset.owner_id == where.owner_id and not asset.is_deleted
                and (where.media_type is None or asset.media_type == where.media_type)
                and (where.source is None or asset.source == where.source)
                and (where.provider_id is None or asset.provider_id == where.provider_id)
                and (where.workspace_id is None or asset.workspace_id == where.workspace_id)
            )

        chosen = (a for a in self._state.assets.values() if matches(a))
        return paginate(chosen, lambda a: (a.created_at, a.id), after, limit)

    async def update(self, asset: Asset) -> None:
        if asset.id in self._state.assets:
            self._state.assets[asset.id] = asset

    async def count_live_with_key(self, storage_key: str) -> int:
        return sum(
            1 for a in self._state.assets.values() if a.storage_key == storage_key and not a.is_deleted
        )


class InMemoryProviderUploadRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def get(self, asset_id: str, provider_id: str) -> ProviderUpload | None:
        return self._state.uploads.get((asset_id, provider_id))

    async def put(self, upload: ProviderUpload) -> None:
        self._state.uploads[(upload.asset_id, upload.provider_id)] = upload


class InMemoryLineageRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, edges: Sequence[LineageEdge]) -> None:
        for edge in edges:
            self._state.edges.setdefault((edge.parent_id, edge.child_id), edge)

    def _parents(self, asset_id: str) -> list[LineageEdge]:
        return [e for e in self._state.edges.values() if e.child_id == asset_id]

    def _children(self, asset_id: str) -> list[LineageEdge]:
        return [e for e in self._state.edges.values() if e.parent_id == asset_id]

    async def ancestors(self, asset_id: str, max_depth: int) -> list[LineageEdge]:
        return walk(asset_id, self._parents, towards_parents=True, max_depth=max_depth)

    async def descendants(self, asset_id: str, max_depth: int) -> list[LineageEdge]:
        return walk(asset_id, self._children, towards_parents=False, max_depth=max_depth)
