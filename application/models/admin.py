"""Admins add, change and remove models at runtime."""

from __future__ import annotations

from typing import Any

import msgspec
from returns.result import Failure, Result, Success

from application.actor import Actor
from application.audit import AuditTrail
from application.models.catalog import ModelCatalog
from domain.errors import DomainError, conflict, forbidden, not_found
from domain.jobs import OperationType
from domain.models import (
    Model,
    ModelOperation,
    ModelRecord,
    check_record,
    find,
    model_id,
    record_of,
    tombstone,
)
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from domain.providers import PriceRule


class ModelDraft(msgspec.Struct, frozen=True, kw_only=True):
    provider_id: str
    remote_id: str
    operations: tuple[ModelOperation, ...]
    price: PriceRule
    params_schema: dict[str, Any] | None = None  # None: any object
    id: str | None = None  # default: <provider_id>/<remote_id>
    name: str = ""
    aliases: tuple[str, ...] = ()
    default_for: tuple[OperationType, ...] = ()


class ModelPatch(msgspec.Struct, frozen=True, kw_only=True):
    """The fields to change; None keeps a field as it is."""

    remote_id: str | None = None
    name: str | None = None
    operations: tuple[ModelOperation, ...] | None = None
    price: PriceRule | None = None
    params_schema: dict[str, Any] | None = None
    aliases: tuple[str, ...] | None = None
    default_for: tuple[OperationType, ...] | None = None


def _audited(record: ModelRecord) -> dict[str, Any]:
    return {"provider_id": record.provider_id, "remote_id": record.remote_id,
            "operations": [str(op.operation_type) for op in record.operations],
            "price": msgspec.to_builtins(record.price), "aliases": list(record.aliases),
            "default_for": [str(op) for op in record.default_for],
            "params_schema": record.params_schema is not None}


class _Admin:
    def __init__(self, uow: UnitOfWorkFactory, catalog: ModelCatalog, clock: Clock, audit: AuditTrail) -> None:
        self._uow = uow
        self._catalog = catalog
        self._clock = clock
        self._audit = audit

    async def _store(self, uow: UnitOfWork, actor: Actor, record: ModelRecord, action: str) -> Model | None:
        await uow.models.put(record)
        details = {"removed": True} if record.removed else _audited(record)
        await self._audit.record(uow, actor.user_id, action, "model", record.id, **details)
        stored = find(await self._catalog.current(uow), record.id)
        await uow.commit()
        self._catalog.forget()
        return stored


class AddModel(_Admin):
    """Add a model (admins only), e.g. any Replicate or fal model.

    - Its id is `<provider_id>/<remote_id>` unless given (it must start with `<provider_id>/`);
      an id the catalog already has is 409 CONFLICT (a removed one may be added again).
    - The provider must be offered here; at least one operation; a non-negative price rule;
      `params_schema` a JSON Schema of an object: job params are checked against it on
      submit and sent to the provider as they are.
    - Takes effect at once on this replica and within the catalog's freshness (5 s) on the
      others; audited as `model.create`.
    """

    async def __call__(self, actor: Actor, draft: ModelDraft) -> Result[Model, DomainError]:
        if not actor.is_admin:
            return Failure(forbidden())
        now = self._clock.now()
        record = ModelRecord(
            id=draft.id or model_id(draft.provider_id, draft.remote_id), provider_id=draft.provider_id,
            remote_id=draft.remote_id, operations=draft.operations, price=draft.price,
            params_schema=draft.params_schema if draft.params_schema is not None else {"type": "object"},
            name=draft.name, aliases=draft.aliases, default_for=draft.default_for,
            created_at=now, updated_at=now, updated_by=actor.user_id)
        checked = check_record(record, self._catalog.provider_ids())
        if isinstance(checked, Failure):
            return Failure(checked.failure())
        async with self._uow() as uow:
            if find(await self._catalog.current(uow), record.id) is not None:
                return Failure(conflict(f"model {record.id} already exists"))
            stored = await self._store(uow, actor, record, "model.create")
        assert stored is not None
        return Success(stored)


class ChangeModel(_Admin):
    """Change a model (admins only): its remote id, name, operations, price rule, params
    schema, aliases or default operations; omitted fields stay.

    - A built-in model changed is stored whole as the admin's replacement of it; it keeps
      its typed params unless a `params_schema` is given.
    - An unknown model is 404; the result must pass the same checks as a new model (422).
    - Takes effect at once on this replica, within 5 s on the others; audited as `model.update`.
    """

    async def __call__(self, actor: Actor, model_id_: str, patch: ModelPatch) -> Result[Model, DomainError]:
        if not actor.is_admin:
            return Failure(forbidden())
        now = self._clock.now()
        async with self._uow() as uow:
            current = find(await self._catalog.current(uow), model_id_)
            if current is None:
                return Failure(not_found(f"model {model_id_}"))
            base = record_of(current, now, actor.user_id)
            changes = {name: value for name, value in msgspec.structs.asdict(patch).items() if value is not None}
            record = msgspec.structs.replace(base, **changes)
            checked = check_record(record, self._catalog.provider_ids())
            if isinstance(checked, Failure):
                return Failure(checked.failure())
            stored = await self._store(uow, actor, record, "model.update")
        assert stored is not None
        return Success(stored)


class RemoveModel(_Admin):
    """Remove a model (admins only): its id is no longer offered, listed or accepted.

    - A built-in model is hidden by a tombstone record (adding its id again brings the
      admin's version back); an admin's own model is replaced by one.
    - Jobs already made for it fail when they would be sent (`MODEL_GONE`), their hold released.
    - An unknown model is 404; audited as `model.delete`.
    """

    async def __call__(self, actor: Actor, model_id_: str) -> Result[None, DomainError]:
        if not actor.is_admin:
            return Failure(forbidden())
        async with self._uow() as uow:
            current = find(await self._catalog.current(uow), model_id_)
            if current is None:
                return Failure(not_found(f"model {model_id_}"))
            await self._store(uow, actor, tombstone(current.id, current.provider_id, current.remote_id,
                                                    self._clock.now(), actor.user_id), "model.delete")
        return Success(None)
