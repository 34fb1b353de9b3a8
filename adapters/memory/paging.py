"""Newest-first keyset pagination over in-memory values, matching the SQL adapters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from domain.pagination import Cursor, Page, encode_cursor

T = TypeVar("T")


def paginate(items: Iterable[T], key: Callable[[T], tuple[datetime, str]], after: Cursor | None,
             limit: int) -> Page[T]:
    ordered = sorted(items, key=key, reverse=True)
    if after is not None:
        ordered = [item for item in ordered if key(item) < (after.at, after.id)]
    page = ordered[:limit]
    more = len(ordered) > limit
    next_cursor = encode_cursor(*key(page[-1])) if more and page else None
    return Page(items=page, next_cursor=next_cursor)
