"""The admins' model records in SQL."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.dialect import upsert
from adapters.sql.rows import as_dict
from adapters.sql.tables import model_records
from domain.jobs import OperationType
from domain.models import ModelOperation, ModelRecord
from domain.providers import PriceRule


def operation_out(operation: ModelOperation) -> dict[str, Any]:
    """An operation as stored: typed params are a built-in's, never stored (see `effective`)."""
    return {"operation_type": str(operation.operation_type), "min_inputs": operation.min_inputs,
            "max_inputs": operation.max_inputs, "input_fields": list(operation.input_fields)}


def operation_in(raw: dict[str, Any]) -> ModelOperation:
    return ModelOperation(operation_type=OperationType(raw["operation_type"]), min_inputs=int(raw["min_inputs"]),
                          max_inputs=int(raw["max_inputs"]), input_fields=tuple(raw.get("input_fields") or ()))


def record_row(record: ModelRecord) -> dict[str, Any]:
    return {
        "id": record.id, "provider_id": record.provider_id, "remote_id": record.remote_id,
        "operations": [operation_out(op) for op in record.operations],
        "price": msgspec.to_builtins(record.price), "params_schema": record.params_schema, "name": record.name,
        "aliases": list(record.aliases), "default_for": [str(op) for op in record.default_for],
        "removed": record.removed, "created_at": record.created_at, "updated_at": record.updated_at,
        "updated_by": record.updated_by,
    }


def to_record(row: Row[Any]) -> ModelRecord:
    data = as_dict(row)
    return ModelRecord(
        id=data["id"], provider_id=data["provider_id"], remote_id=data["remote_id"],
        operations=tuple(operation_in(op) for op in data["operations"]),
        price=msgspec.convert(data["price"], PriceRule), params_schema=data["params_schema"], name=data["name"],
        aliases=tuple(data["aliases"]), default_for=tuple(OperationType(op) for op in data["default_for"]),
        removed=bool(data["removed"]), created_at=data["created_at"], updated_at=data["updated_at"],
        updated_by=data["updated_by"])


class SqlModelRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def all(self) -> list[ModelRecord]:
        rows = await self._conn.execute(select(model_records).order_by(model_records.c.id))
        return [to_record(row) for row in rows]

    async def get(self, model_id: str) -> ModelRecord | None:
        row = (await self._conn.execute(select(model_records).where(model_records.c.id == model_id))).first()
        return None if row is None else to_record(row)

    async def put(self, record: ModelRecord) -> None:
        values = record_row(record)
        stmt = upsert(self._conn, model_records).values(values)
        changed = {key: value for key, value in values.items() if key not in ("id", "created_at")}
        await self._conn.execute(stmt.on_conflict_do_update(index_elements=[model_records.c.id], set_=changed))
