"""Newest-first keyset pagination by (time, id), the same order as the in-memory adapters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.pagination import Cursor, Page, encode_cursor

T = TypeVar("T")


async def keyset_page(conn: AsyncConnection, query: Select[Any], at: ColumnElement[datetime],
                      id_: ColumnElement[str], after: Cursor | None, limit: int,
                      convert: Callable[[Row[Any]], T], key: Callable[[T], tuple[datetime, str]]) -> Page[T]:
    if after is not None:
        query = query.where(or_(at < after.at, and_(at == after.at, id_ < after.id)))
    rows: Sequence[Row[Any]] = (
        await conn.execute(query.order_by(at.desc(), id_.desc()).limit(limit + 1))
    ).all()
    items = [convert(row) for row in rows[:limit]]
    more = len(rows) > limit
    next_cursor = encode_cursor(*key(items[-1])) if more and items else None
    return Page(items=items, next_cursor=next_cursor)
