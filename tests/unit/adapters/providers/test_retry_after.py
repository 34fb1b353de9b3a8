"""Retry-After as the official OpenAI, Runway and Replicate clients read it."""

from datetime import UTC, datetime

import httpx
import pytest

from adapters.providers.httpio import classify_status, retry_after_seconds

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def answer(**headers: str) -> httpx.Response:
    return httpx.Response(429, headers=headers)


@pytest.mark.parametrize(("headers", "expected"), [
    ({"retry-after": "7"}, 7),
    ({"retry-after": "1.5"}, 2),
    ({"retry-after": "0.2"}, 1),
    ({"retry-after": " 3.0 "}, 3),
    ({"retry-after-ms": "2500"}, 3),
    ({"retry-after-ms": "250.5"}, 1),
    ({"retry-after-ms": "4000", "retry-after": "60"}, 4),
    ({"retry-after-ms": "nonsense", "retry-after": "60"}, 60),
    ({"retry-after": "Thu, 01 Jan 2026 12:00:30 GMT"}, 30),
    ({"retry-after": "Thu, 01 Jan 2026 11:00:00 GMT"}, 0),
    ({"retry-after": "-5"}, None),
    ({"retry-after": "soon"}, None),
    ({"retry-after": "nan"}, None),
    ({}, None),
])
def test_retry_after_reads_seconds_decimals_milliseconds_and_dates(headers: dict[str, str],
                                                                    expected: int | None) -> None:
    assert retry_after_seconds(answer(**headers), NOW) == expected


def test_a_rate_limit_with_a_decimal_retry_after_carries_the_wait() -> None:
    found = classify_status(answer(**{"retry-after": "2.25"}))
    assert found is not None and found.retry_after_seconds == 3
