"""What every API body shares: input strictness and UTC timestamps.

Listings are `{items, next_cursor}` structs of their own per resource (`JobList`, ...), so
the OpenAPI schema names them plainly."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec


class In(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Request bodies: unknown fields are a VALIDATION_ERROR, not silently dropped."""


def utc(moment: datetime) -> datetime:
    """RFC 3339 in UTC (`...Z`) whatever zone an adapter handed back."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else utc(moment)


def fits_utc(moment: datetime) -> bool:
    """False for an aware time with no UTC equivalent (year 1 at +05:00, ...): such input
    is refused before it is stored, or every later answer showing it would fail."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True
