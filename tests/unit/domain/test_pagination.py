"""Keyset pagination: opaque cursors and page-size clamping."""

from __future__ import annotations

import base64
import string
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.pagination import DEFAULT_PAGE, MAX_PAGE, Cursor, Page, clamp_limit, decode_cursor, encode_cursor

NOW = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
PROPERTY = settings(max_examples=200, deadline=None, database=None)
URL_SAFE = set(string.ascii_letters + string.digits + "-_")


def test_page_defaults_to_no_next_cursor() -> None:
    page: Page[int] = Page([1, 2])
    assert (page.items, page.next_cursor) == ([1, 2], None)


def test_cursor_round_trip() -> None:
    token = encode_cursor(NOW, "job-42")
    assert set(token) <= URL_SAFE
    assert decode_cursor(token) == Cursor(NOW, "job-42")


def test_cursor_keeps_the_instant_of_an_offset_time() -> None:
    at = NOW.astimezone(timezone(timedelta(hours=2)))
    cursor = decode_cursor(encode_cursor(at, "x"))
    assert isinstance(cursor, Cursor)
    assert cursor.at == NOW


@pytest.mark.parametrize("token", [None, ""])
def test_no_cursor(token: str | None) -> None:
    assert decode_cursor(token) is None


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    ["!!!", "a", "é", b64(b"not json"), b64(b'["not a time", "id"]'), b64(b'{"at": "2024-05-01T12:00:00Z"}'),
     b64(b'["2024-05-01T12:00:00Z"]')],
)
def test_malformed_cursors_are_returned_as_value_errors(token: str) -> None:
    result = decode_cursor(token)
    assert isinstance(result, ValueError)
    assert str(result) == "cursor is malformed"


@pytest.mark.parametrize(
    ("limit", "expected"), [(None, DEFAULT_PAGE), (-5, 1), (0, 1), (1, 1), (50, 50), (MAX_PAGE, MAX_PAGE), (101, MAX_PAGE)]
)
def test_clamp_limit(limit: int | None, expected: int) -> None:
    assert clamp_limit(limit) == expected


@PROPERTY
@given(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7))])), st.text(max_size=40))
def test_any_cursor_round_trips(at: datetime, item_id: str) -> None:
    token = encode_cursor(at, item_id)
    assert set(token) <= URL_SAFE
    assert decode_cursor(token) == Cursor(at, item_id)


@PROPERTY
@given(st.text(max_size=60))
def test_arbitrary_tokens_never_raise(token: str) -> None:
    result = decode_cursor(token)
    assert result is None or isinstance(result, Cursor | ValueError)
