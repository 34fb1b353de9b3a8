"""A user's usage day by day, and the credit movements behind their balance."""

from __future__ import annotations

import base64
import binascii
from datetime import date, timedelta

import msgspec
from returns.result import Failure, Result, Success

from application.actor import Actor
from domain.clock import utc_day
from domain.errors import DomainError, forbidden, not_found, validation
from domain.ledger import LedgerEntry
from domain.pagination import clamp_limit
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from domain.quotas import DailyUsage

DEFAULT_DAYS = 30
MAX_DAYS = 366


class LedgerPage(msgspec.Struct, frozen=True):
    items: list[LedgerEntry]
    next_cursor: str | None = None


def encode_seq(seq: int) -> str:
    return base64.urlsafe_b64encode(f"L{seq}".encode()).decode().rstrip("=")


def decode_seq(cursor: str | None) -> int | ValueError | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("L") or not text[1:].isdigit() or len(text) > 20:
            raise ValueError
        return int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ValueError("cursor is malformed")


def shifted(day: date, days: int) -> date:
    """`day` moved by `days`, kept within the calendar."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


async def _subject(uow: UnitOfWork, actor: Actor, user_id: str) -> DomainError | None:
    """The caller may read their own history; an admin anyone's (403 for others)."""
    if user_id != actor.user_id and not actor.is_admin:
        return forbidden()
    if await uow.users.get(user_id) is None:
        return not_found("user")
    return None


class GetUsage:
    """A user's usage, one row per UTC day from `from` to `to` (both included, oldest first):
    jobs created and completed, assets created, credits spent and bytes stored that day.

    - Days with nothing counted are rows of zeros. Without both, the last 30 days up to
      today; with one of them, the 30 days from `from` or up to `to`. At most 366 days: an
      earlier `from` is moved up to 365 days before `to`. `from` after `to` gives no rows.
    - One's own usage, or anyone's for an admin (403 FORBIDDEN for others; an unknown
      user is 404).
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, actor: Actor, user_id: str, first: date | None = None,
                       last: date | None = None) -> Result[list[DailyUsage], DomainError]:
        if last is None:
            last = shifted(first, DEFAULT_DAYS - 1) if first is not None else utc_day(self._clock.now())
        first = max(first or shifted(last, 1 - DEFAULT_DAYS), shifted(last, 1 - MAX_DAYS))
        if first > last:
            return Success([])
        async with self._uow() as uow:
            refused = await _subject(uow, actor, user_id)
            if refused is not None:
                return Failure(refused)
            stored = {u.day: u for u in await uow.usage.between(user_id, first, last)}
        days = ((first + timedelta(days=n)) for n in range((last - first).days + 1))
        return Success([stored.get(day) or DailyUsage(user_id=user_id, day=day) for day in days])


class GetLedger:
    """A user's credit movements, newest first, with cursor pagination: grants, holds,
    captures, releases and refunds, each with its job and the balance right after it.

    - `available_change`/`held_change` are what it moved; `available_after`/`held_after`
      the user's spendable and held credits once it was made.
    - One's own ledger, or anyone's for an admin (403 FORBIDDEN for others; an unknown user
      is 404). `limit` is clamped to 1..100; a malformed cursor is a VALIDATION_ERROR.
    """

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, user_id: str, cursor: str | None = None,
                       limit: int | None = None) -> Result[LedgerPage, DomainError]:
        before = decode_seq(cursor)
        if isinstance(before, ValueError):
            return Failure(validation(str(before), "cursor"))
        size = clamp_limit(limit)
        async with self._uow() as uow:
            refused = await _subject(uow, actor, user_id)
            if refused is not None:
                return Failure(refused)
            entries = await uow.ledger.history(user_id, before, size + 1)
        more = len(entries) > size
        page = entries[:size]
        return Success(LedgerPage(items=page, next_cursor=encode_seq(page[-1].seq) if more else None))


