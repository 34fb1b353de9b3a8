"""Record which assets a new asset was made from (called by the job pipeline)."""

from __future__ import annotations

from collections.abc import Sequence

from returns.result import Failure, Result, Success

from domain.errors import DomainError, ErrorCode
from domain.lineage import MAX_DEPTH, Relation, cycle_error, edges_for_inputs, would_cycle
from domain.ports import UnitOfWork


async def link_inputs(uow: UnitOfWork, child_id: str, input_ids: Sequence[str], operation_type: str | None,
                      job_id: str | None, relation: Relation = Relation.INPUT) -> Result[None, DomainError]:
    """One edge child -> parent per distinct input, in the caller's unit of work.

    An edge that would close a loop is LINEAGE_CYCLE and nothing is added. The check looks
    MAX_DEPTH edges up from each parent: walks never go further, so neither can a loop."""
    if child_id in input_ids:
        return Failure(DomainError(ErrorCode.LINEAGE_CYCLE, f"asset {child_id} cannot be its own input"))
    edges = edges_for_inputs(child_id, input_ids, operation_type, job_id, relation)
    for edge in edges:
        ancestors = await uow.lineage.ancestors(edge.parent_id, MAX_DEPTH)
        if would_cycle(edge, (e.parent_id for e in ancestors)):
            return Failure(cycle_error(edge))
    if edges:
        await uow.lineage.add(edges)
    return Success(None)
