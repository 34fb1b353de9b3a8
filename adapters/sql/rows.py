"""Rows to domain Structs, explicitly (Structs cannot be mapped by SQLAlchemy)."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from sqlalchemy import Row

T = TypeVar("T")


def as_dict(row: Row[Any]) -> dict[str, Any]:
    # Column names are sqlalchemy `quoted_name`s; msgspec wants plain str keys.
    return {str(key): value for key, value in row._mapping.items()}


def convert(row: Row[Any], type_: type[T]) -> T:
    return msgspec.convert(as_dict(row), type_)
