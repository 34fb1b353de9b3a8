"""The catalog as callers read it."""

from __future__ import annotations

from returns.result import Failure, Result, Success

from application.models.catalog import ModelCatalog
from domain.errors import DomainError, not_found, validation
from domain.jobs import OperationType
from domain.models import Model, decode_id_cursor, find, page_of, select
from domain.pagination import Page, clamp_limit


class ListModels:
    """The models jobs may name, in id order: each with its provider, its operations, the
    JSON Schema of its params and its price.

    - Filters: `provider_id`, `operation_type` (an unknown operation type is 422).
    - `limit` is clamped to 1..100; a malformed cursor is a VALIDATION_ERROR.
    - An admin's change shows on every replica within the catalog's freshness (5 s).
    """

    def __init__(self, catalog: ModelCatalog) -> None:
        self._catalog = catalog

    async def __call__(self, *, provider_id: str | None = None, operation_type: str | None = None,
                       cursor: str | None = None, limit: int | None = None) -> Result[Page[Model], DomainError]:
        if operation_type is not None and operation_type not in OperationType.__members__.values():
            return Failure(validation(f"unknown operation_type {operation_type}", "operation_type"))
        after = decode_id_cursor(cursor)
        if isinstance(after, ValueError):
            return Failure(validation(str(after), "cursor"))
        chosen = select(await self._catalog.models(), provider_id=provider_id, operation_type=operation_type)
        return Success(page_of(chosen, after, clamp_limit(limit)))


class GetModel:
    """One model by id (404 when there is none, or its provider is not offered here)."""

    def __init__(self, catalog: ModelCatalog) -> None:
        self._catalog = catalog

    async def __call__(self, model_id: str) -> Result[Model, DomainError]:
        found = find(await self._catalog.models(), model_id)
        return Success(found) if found is not None else Failure(not_found(f"model {model_id}"))
