"""Read the lineage graph around an asset."""

from __future__ import annotations

from datetime import datetime

import msgspec
from returns.result import Failure, Result, Success

from application.actor import Actor
from domain.assets import AssetSource, MediaType
from domain.errors import DomainError, not_found, validation
from domain.lineage import DEFAULT_DEPTH, Direction, LineageEdge, check_depth
from domain.ports import UnitOfWork, UnitOfWorkFactory


class LineageNode(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    media_type: MediaType
    mime_type: str
    source: AssetSource
    job_id: str | None
    created_at: datetime
    deleted: bool


class LineageGraph(msgspec.Struct, frozen=True):
    nodes: list[LineageNode]
    edges: list[LineageEdge]


class GetLineage:
    """The assets an asset was made from (ancestors), made into (descendants), or both.

    - Walks at most `max_depth` edges away (default 10, 1..50, else VALIDATION_ERROR);
      `direction` is ancestors, descendants or both.
    - The start asset must be the caller's and not deleted (else NOT_FOUND); deleted assets
      met on the way appear as tombstones (`deleted: true`).
    - Only the caller's own assets appear; edges to anything else are left out.
    """

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, asset_id: str, direction: Direction | str = Direction.BOTH,
                       max_depth: int = DEFAULT_DEPTH) -> Result[LineageGraph, DomainError]:
        depth = check_depth(max_depth)
        if isinstance(depth, Failure):
            return Failure(depth.failure())
        if direction not in set(Direction):
            return Failure(validation("direction must be ancestors, descendants or both", "direction"))
        async with self._uow() as uow:
            start = await uow.assets.get(asset_id)
            if start is None or start.owner_id != actor.user_id or start.is_deleted:
                return Failure(not_found("asset"))
            edges = await _walk(uow, asset_id, Direction(direction), depth.unwrap())
            touched = {asset_id} | {e.parent_id for e in edges} | {e.child_id for e in edges}
            assets = {a.id: a for a in await uow.assets.many(sorted(touched))
                      if a.owner_id == actor.user_id}
        kept = [e for e in edges if e.parent_id in assets and e.child_id in assets]
        nodes = [
            LineageNode(id=a.id, media_type=a.media_type, mime_type=a.mime_type, source=a.source,
                        job_id=a.job_id, created_at=a.created_at, deleted=a.is_deleted)
            for a in sorted(assets.values(), key=lambda a: (a.created_at, a.id))
        ]
        return Success(LineageGraph(nodes=nodes, edges=kept))


async def _walk(uow: UnitOfWork, asset_id: str, direction: Direction, depth: int) -> list[LineageEdge]:
    edges: dict[tuple[str, str], LineageEdge] = {}
    if direction in (Direction.ANCESTORS, Direction.BOTH):
        for edge in await uow.lineage.ancestors(asset_id, depth):
            edges.setdefault((edge.parent_id, edge.child_id), edge)
    if direction in (Direction.DESCENDANTS, Direction.BOTH):
        for edge in await uow.lineage.descendants(asset_id, depth):
            edges.setdefault((edge.parent_id, edge.child_id), edge)
    return list(edges.values())
