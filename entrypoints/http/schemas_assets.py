"""Bodies of the asset and lineage routes."""

from __future__ import annotations

from datetime import datetime

import msgspec

from application.assets.lineage import LineageGraph, LineageNode
from domain.assets import Asset, AssetSource, MediaType
from domain.lineage import LineageEdge, Relation
from entrypoints.http.schemas_common import utc


class AssetOut(msgspec.Struct, kw_only=True):
    id: str
    media_type: MediaType
    mime_type: str
    size_bytes: int
    sha256: str
    source: AssetSource
    job_id: str | None
    provider_id: str | None
    workspace_id: str | None
    original_filename: str | None
    width: int | None
    height: int | None
    duration_seconds: float | None
    created_at: datetime


class AssetList(msgspec.Struct, kw_only=True):
    items: list[AssetOut]
    next_cursor: str | None = None


def asset_out(asset: Asset) -> AssetOut:
    return AssetOut(
        id=asset.id, media_type=asset.media_type, mime_type=asset.mime_type, size_bytes=asset.size_bytes,
        sha256=asset.sha256, source=asset.source, job_id=asset.job_id, provider_id=asset.provider_id,
        workspace_id=asset.workspace_id, original_filename=asset.original_filename, width=asset.width,
        height=asset.height, duration_seconds=asset.duration_seconds, created_at=utc(asset.created_at),
    )


class LineageNodeOut(msgspec.Struct, kw_only=True):
    id: str
    media_type: MediaType
    mime_type: str
    source: AssetSource
    job_id: str | None
    created_at: datetime
    deleted: bool  # a tombstone: the asset was deleted, its place in the graph stays


class LineageEdgeOut(msgspec.Struct, kw_only=True):
    """`child_id` was made from `parent_id`."""

    parent_id: str
    child_id: str
    relation: Relation
    operation_type: str | None
    job_id: str | None


class LineageOut(msgspec.Struct, kw_only=True):
    nodes: list[LineageNodeOut]
    edges: list[LineageEdgeOut]


def _node(node: LineageNode) -> LineageNodeOut:
    return LineageNodeOut(id=node.id, media_type=node.media_type, mime_type=node.mime_type,
                          source=node.source, job_id=node.job_id, created_at=utc(node.created_at),
                          deleted=node.deleted)


def _edge(edge: LineageEdge) -> LineageEdgeOut:
    return LineageEdgeOut(parent_id=edge.parent_id, child_id=edge.child_id, relation=edge.relation,
                          operation_type=edge.operation_type, job_id=edge.job_id)


def lineage_out(graph: LineageGraph) -> LineageOut:
    return LineageOut(nodes=[_node(n) for n in graph.nodes], edges=[_edge(e) for e in graph.edges])
