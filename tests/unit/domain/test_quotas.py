"""Quota policies, patches, and the daily/storage checks with their lazy UTC reset."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from domain.clock import seconds_until_next_utc_day, utc_day
from domain.errors import ErrorCode
from domain.quotas import (
    ADMIN_DEFAULT,
    GIB,
    USER_DEFAULT,
    DailyUsage,
    QuotaPatch,
    QuotaPolicy,
    apply_patch,
    can_start_another,
    check_daily_jobs,
    check_private_accounts,
    check_storage,
    empty_usage,
    within,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PROPERTY = settings(max_examples=200, deadline=None, database=None)
limits = st.one_of(st.none(), st.integers(0, 6))


def test_role_defaults_match_the_spec() -> None:
    assert QuotaPolicy(
        max_jobs_per_day=100, max_concurrent_jobs=4, max_storage_bytes=5 * GIB, max_private_accounts=3
    ) == USER_DEFAULT
    assert all(getattr(ADMIN_DEFAULT, name) is None for name in ADMIN_DEFAULT.__struct_fields__)


@pytest.mark.parametrize("name", QuotaPolicy.__struct_fields__)
def test_policy_rejects_negative_limits(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        QuotaPolicy(**{name: -1})


def test_within() -> None:
    assert within(None, 10**12, 10**12)
    assert within(3, 2)
    assert not within(3, 3)
    assert within(10, 4, 6)
    assert not within(10, 4, 7)


# --- patches ---------------------------------------------------------------------------


def test_patch_keeps_unset_fields_and_none_means_unlimited() -> None:
    patched = apply_patch(USER_DEFAULT, QuotaPatch(max_jobs_per_day=7, max_storage_bytes=None)).unwrap()
    assert patched == msgspec.structs.replace(USER_DEFAULT, max_jobs_per_day=7, max_storage_bytes=None)


def test_empty_patch_changes_nothing() -> None:
    assert apply_patch(USER_DEFAULT, QuotaPatch()) == Success(USER_DEFAULT)


@pytest.mark.parametrize("value", [-1, 1.5, "3"])
def test_patch_rejects_values_that_are_not_non_negative_integers(value: Any) -> None:
    result = apply_patch(USER_DEFAULT, QuotaPatch(max_concurrent_jobs=value))
    assert isinstance(result, Failure)
    assert result.failure().code is ErrorCode.VALIDATION_ERROR
    assert result.failure().field == "max_concurrent_jobs"


def test_patch_decodes_from_json_with_null_and_missing_fields() -> None:
    patch = msgspec.json.decode(b'{"max_private_accounts": null, "max_jobs_per_day": 1}', type=QuotaPatch)
    patched = apply_patch(USER_DEFAULT, patch).unwrap()
    assert (patched.max_private_accounts, patched.max_jobs_per_day) == (None, 1)
    assert patched.max_storage_bytes == USER_DEFAULT.max_storage_bytes


# --- daily jobs --------------------------------------------------------------------------


def test_empty_usage_is_for_the_utc_day() -> None:
    late_evening_west = datetime(2024, 5, 1, 22, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=-5)))
    assert empty_usage("u1", late_evening_west) == DailyUsage(user_id="u1", day=utc_day(late_evening_west))
    assert empty_usage("u1", late_evening_west).day.isoformat() == "2024-05-01"


def test_daily_limit_rejects_with_retry_after_until_midnight() -> None:
    usage = DailyUsage(user_id="u1", day=NOW.date(), jobs_created=2)
    assert check_daily_jobs(QuotaPolicy(max_jobs_per_day=3), usage, NOW) == Success(None)
    result = check_daily_jobs(QuotaPolicy(max_jobs_per_day=2), usage, NOW)
    assert isinstance(result, Failure)
    assert result.failure().code is ErrorCode.QUOTA_EXCEEDED
    assert result.failure().retry_after == 12 * 3600
    assert "00:00 UTC" in result.failure().detail


def test_yesterdays_usage_counts_as_zero() -> None:
    usage = DailyUsage(user_id="u1", day=NOW.date() - timedelta(days=1), jobs_created=100)
    assert check_daily_jobs(QuotaPolicy(max_jobs_per_day=1), usage, NOW) == Success(None)


def test_zero_daily_limit_rejects_everything_and_none_accepts_everything() -> None:
    usage = empty_usage("u1", NOW)
    assert isinstance(check_daily_jobs(QuotaPolicy(max_jobs_per_day=0), usage, NOW), Failure)
    busy = DailyUsage(user_id="u1", day=NOW.date(), jobs_created=10**9)
    assert check_daily_jobs(ADMIN_DEFAULT, busy, NOW) == Success(None)


@PROPERTY
@given(
    limit=limits,
    steps=st.lists(st.integers(0, 6 * 3600), min_size=1, max_size=60),
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
)
def test_daily_counter_never_accepts_more_than_the_limit_per_utc_day(
    limit: int | None, steps: list[int], start: datetime
) -> None:
    policy = QuotaPolicy(max_jobs_per_day=limit)
    usage = empty_usage("u1", start)
    accepted: Counter[object] = Counter()
    now = start
    for gap in steps:
        now += timedelta(seconds=gap)
        today = utc_day(now)
        result = check_daily_jobs(policy, usage, now)
        assert isinstance(result, Success) is (limit is None or accepted[today] < limit)
        if isinstance(result, Success):
            if usage.day != today:  # the lazy reset: a new day starts a new row
                usage = empty_usage("u1", now)
            usage = msgspec.structs.replace(usage, jobs_created=usage.jobs_created + 1)
            accepted[today] += 1
        else:
            assert result.failure().retry_after == seconds_until_next_utc_day(now)
        assert limit is None or accepted[today] <= limit


# --- storage, private accounts, concurrency -----------------------------------------------


def test_storage_boundaries() -> None:
    policy = QuotaPolicy(max_storage_bytes=100)
    assert check_storage(policy, 60, 40) == Success(None)
    result = check_storage(policy, 60, 41)
    assert isinstance(result, Failure)
    assert result.failure().code is ErrorCode.QUOTA_EXCEEDED
    assert "100 bytes" in result.failure().detail


@PROPERTY
@given(limit=st.one_of(st.none(), st.integers(0, 1000)), uploads=st.lists(st.integers(0, 400), max_size=30))
def test_storage_check_never_lets_stored_bytes_exceed_the_limit(limit: int | None, uploads: list[int]) -> None:
    policy = QuotaPolicy(max_storage_bytes=limit)
    stored = 0
    for size in uploads:
        result = check_storage(policy, stored, size)
        assert isinstance(result, Success) is (limit is None or stored + size <= limit)
        if isinstance(result, Success):
            stored += size
        assert limit is None or stored <= limit
    if limit is None:
        assert stored == sum(uploads)


def test_private_account_limit() -> None:
    policy = QuotaPolicy(max_private_accounts=3)
    assert check_private_accounts(policy, 2) == Success(None)
    result = check_private_accounts(policy, 3)
    assert isinstance(result, Failure)
    assert result.failure().code is ErrorCode.QUOTA_EXCEEDED
    assert check_private_accounts(ADMIN_DEFAULT, 10**6) == Success(None)


def test_concurrency_limit() -> None:
    assert can_start_another(QuotaPolicy(max_concurrent_jobs=4), 3)
    assert not can_start_another(QuotaPolicy(max_concurrent_jobs=4), 4)
    assert not can_start_another(QuotaPolicy(max_concurrent_jobs=0), 0)
    assert can_start_another(ADMIN_DEFAULT, 10**6)
