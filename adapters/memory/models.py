"""In-memory model records."""

from __future__ import annotations

import msgspec

from adapters.memory.store import MemoryState
from domain.models import ModelRecord


class InMemoryModelRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def all(self) -> list[ModelRecord]:
        return [self._state.models[key] for key in sorted(self._state.models)]

    async def get(self, model_id: str) -> ModelRecord | None:
        return self._state.models.get(model_id)

    async def put(self, record: ModelRecord) -> None:
        earlier = self._state.models.get(record.id)
        kept = record if earlier is None else msgspec.structs.replace(record, created_at=earlier.created_at)
        self._state.models[record.id] = kept
