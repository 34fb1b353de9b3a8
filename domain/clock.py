"""Time helpers that stay pure: the current time always comes in as an argument."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def utc_day(now: datetime) -> date:
    return now.astimezone(UTC).date()


def seconds_until_next_utc_day(now: datetime) -> int:
    """Seconds until 00:00 UTC, when daily quotas reset (used for Retry-After)."""
    current = now.astimezone(UTC)
    tomorrow = datetime.combine(utc_day(current) + timedelta(days=1), datetime.min.time(), UTC)
    return max(1, int((tomorrow - current).total_seconds()))
