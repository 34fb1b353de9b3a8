"""Keyset pagination: a page of items and an opaque cursor to the next one."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Generic, TypeVar

import msgspec

T = TypeVar("T")

MAX_PAGE = 100
DEFAULT_PAGE = 20


class Page(msgspec.Struct, Generic[T], frozen=True):
    items: list[T]
    next_cursor: str | None = None


class Cursor(msgspec.Struct, frozen=True, array_like=True):
    """Position after the last item seen: its sort time and id (ids break ties)."""

    at: datetime
    id: str


def encode_cursor(at: datetime, item_id: str) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(Cursor(at, item_id))).decode().rstrip("=")


def decode_cursor(token: str | None) -> Cursor | ValueError | None:
    """None for no cursor; a ValueError (returned, not raised) for a malformed one."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return msgspec.json.decode(raw, type=Cursor)
    except (binascii.Error, msgspec.DecodeError, ValueError):
        return ValueError("cursor is malformed")


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_PAGE
    return max(1, min(MAX_PAGE, limit))
