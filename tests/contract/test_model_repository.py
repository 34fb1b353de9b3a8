"""The ModelRepository contract, passed by every adapter: memory, SQLite, Postgres."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from domain.jobs import OperationType as Op
from domain.models import ModelOperation, ModelRecord, tombstone
from domain.ports import UnitOfWorkFactory
from domain.providers import PriceRule, PriceUnit
from tests.contract.builders import T0, at

SCHEMA = {"type": "object", "properties": {"prompt": {"type": "string"}, "steps": {"type": "integer"}},
          "required": ["prompt"]}


def record(model_id: str = "replicate/acme/painter:0a1b", **changes: Any) -> ModelRecord:
    provider, _, remote = model_id.partition("/")
    values: dict[str, Any] = {
        "id": model_id, "provider_id": provider, "remote_id": remote, "name": "Painter",
        "operations": (ModelOperation(operation_type=Op.TEXT_TO_IMAGE),
                       ModelOperation(operation_type=Op.IMAGE_TO_IMAGE, min_inputs=1, max_inputs=2,
                                      input_fields=("image", "mask"))),
        "price": PriceRule(credits_per_unit=7, unit=PriceUnit.SECOND, quantity_param="duration",
                           default_quantity=4.5),
        "params_schema": SCHEMA, "aliases": ("painter", "paint"), "default_for": (Op.IMAGE_TO_IMAGE,),
        "created_at": T0, "updated_at": T0, "updated_by": "admin-1",
    }
    return ModelRecord(**{**values, **changes})


async def put(factory: UnitOfWorkFactory, *records: ModelRecord, commit: bool = True) -> None:
    async with factory() as uow:
        for each in records:
            await uow.models.put(each)
        if commit:
            await uow.commit()


def test_a_record_reads_back_field_for_field(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        stored = record()
        plain = record("fal/fal-ai/flux/dev", params_schema=None, aliases=(), default_for=(), updated_by=None,
                       operations=(ModelOperation(operation_type=Op.TEXT_TO_IMAGE),))
        await put(uow_factory, stored, plain)
        async with uow_factory() as uow:
            assert await uow.models.get(stored.id) == stored
            assert await uow.models.get(plain.id) == plain
            assert await uow.models.get("replicate/missing") is None
            assert await uow.models.all() == [plain, stored]  # by id

    runner.run(scenario())


def test_put_replaces_the_record_of_its_id_and_keeps_when_it_was_made(uow_factory: UnitOfWorkFactory,
                                                                      runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        first = record()
        await put(uow_factory, first)
        changed = msgspec.structs.replace(first, remote_id="acme/painter:ffff", price=PriceRule(credits_per_unit=1),
                                          created_at=at(60), updated_at=at(60), updated_by="admin-2")
        await put(uow_factory, changed)
        gone = tombstone(first.id, first.provider_id, first.remote_id, at(120), "admin-3")
        async with uow_factory() as uow:
            assert await uow.models.get(first.id) == msgspec.structs.replace(changed, created_at=T0)
        await put(uow_factory, gone)
        async with uow_factory() as uow:
            found = await uow.models.get(first.id)
            assert found is not None and found.removed and found.updated_by == "admin-3"
            assert len(await uow.models.all()) == 1

    runner.run(scenario())


def test_a_record_put_without_commit_is_not_kept(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        await put(uow_factory, record(), commit=False)
        async with uow_factory() as uow:
            assert await uow.models.all() == []

    runner.run(scenario())
