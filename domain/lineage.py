"""Lineage: which assets an asset was made from, as a graph with bounded walks and no cycles."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum

import msgspec
from returns.result import Failure, Result, Success

from domain.errors import DomainError, ErrorCode, validation

DEFAULT_DEPTH, MAX_DEPTH = 10, 50


class Relation(StrEnum):
    INPUT = "input"  # the parent was an input of the job that made the child
    PARENT_JOB = "parent_job"  # the parent is the result of the child's parent job


class Direction(StrEnum):
    ANCESTORS = "ancestors"
    DESCENDANTS = "descendants"
    BOTH = "both"


class LineageEdge(msgspec.Struct, frozen=True, kw_only=True):
    parent_id: str
    child_id: str
    relation: Relation = Relation.INPUT
    operation_type: str | None = None
    job_id: str | None = None
    input_index: int = 0

    def __post_init__(self) -> None:
        if self.parent_id == self.child_id:
            raise ValueError("an asset cannot be its own parent")


def check_depth(max_depth: int) -> Result[int, DomainError]:
    if 1 <= max_depth <= MAX_DEPTH:
        return Success(max_depth)
    return Failure(validation(f"max_depth must be within 1..{MAX_DEPTH}", "max_depth"))


def edges_for_inputs(child_id: str, input_ids: Iterable[str], operation_type: str | None,
                     job_id: str | None, relation: Relation = Relation.INPUT) -> list[LineageEdge]:
    """One edge per distinct input, in input order."""
    seen: list[str] = []
    for parent_id in input_ids:
        if parent_id not in seen and parent_id != child_id:
            seen.append(parent_id)
    return [
        LineageEdge(parent_id=p, child_id=child_id, relation=relation,
                    operation_type=operation_type, job_id=job_id, input_index=i)
        for i, p in enumerate(seen)
    ]


def would_cycle(edge: LineageEdge, ancestors_of_parent: Iterable[str]) -> bool:
    """Adding child -> parent closes a loop when the child is already an ancestor of the parent."""
    return edge.child_id == edge.parent_id or edge.child_id in set(ancestors_of_parent)


def cycle_error(edge: LineageEdge) -> DomainError:
    return DomainError(
        ErrorCode.LINEAGE_CYCLE,
        f"asset {edge.child_id} is already an ancestor of {edge.parent_id}",
    )


def walk(start: str, step: Callable[[str], Iterable[LineageEdge]], towards_parents: bool,
         max_depth: int) -> list[LineageEdge]:
    """Breadth-first from `start`, at most `max_depth` edges away; each edge once."""
    frontier, seen_nodes, found = [start], {start}, dict[tuple[str, str], LineageEdge]()
    for _ in range(max_depth):
        next_frontier: list[str] = []
        for node in frontier:
            for edge in step(node):
                found.setdefault((edge.parent_id, edge.child_id), edge)
                other = edge.parent_id if towards_parents else edge.child_id
                if other not in seen_nodes:
                    seen_nodes.add(other)
                    next_frontier.append(other)
        if not next_frontier:
            break
        frontier = next_frontier
    return list(found.values())
