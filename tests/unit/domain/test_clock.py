"""Pure time helpers: the UTC day and the seconds until it ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.clock import seconds_until_next_utc_day, utc_day

PROPERTY = settings(max_examples=200, deadline=None, database=None)


def test_utc_day_converts_other_offsets() -> None:
    tokyo_morning = datetime(2024, 5, 2, 1, 0, tzinfo=timezone(timedelta(hours=9)))
    assert utc_day(tokyo_morning) == date(2024, 5, 1)
    new_york_evening = datetime(2024, 5, 1, 21, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert utc_day(new_york_evening) == date(2024, 5, 2)


@pytest.mark.parametrize(
    ("now", "seconds"),
    [
        (datetime(2024, 5, 1, 0, 0, tzinfo=UTC), 86400),
        (datetime(2024, 5, 1, 12, 0, tzinfo=UTC), 43200),
        (datetime(2024, 5, 1, 23, 59, 59, tzinfo=UTC), 1),
        (datetime(2024, 5, 1, 23, 59, 59, 900000, tzinfo=UTC), 1),
        (datetime(2024, 12, 31, 23, 0, tzinfo=UTC), 3600),
        (datetime(2024, 5, 1, 18, 0, tzinfo=timezone(timedelta(hours=-5))), 3600),
    ],
)
def test_seconds_until_next_utc_day(now: datetime, seconds: int) -> None:
    assert seconds_until_next_utc_day(now) == seconds


@PROPERTY
@given(
    st.datetimes(
        min_value=datetime(2000, 1, 2), max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
    )
)
def test_retry_after_lands_at_the_next_utc_midnight(now: datetime) -> None:
    seconds = seconds_until_next_utc_day(now)
    assert 1 <= seconds <= 86400
    today = utc_day(now)
    assert utc_day(now + timedelta(seconds=seconds - 1)) == today
    assert utc_day(now + timedelta(seconds=seconds + 1)) == today + timedelta(days=1)
