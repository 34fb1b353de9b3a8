"""Typed errors and the domain-event tagged union (names and JSON round trips)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import (
    DomainError,
    ErrorCode,
    conflict,
    forbidden,
    insufficient_credits,
    invalid_transition,
    not_found,
    quota_exceeded,
    unauthenticated,
    validation,
)
from domain.events import (
    TERMINAL_EVENTS,
    AccountSelected,
    AssetCreated,
    DomainEvent,
    JobCancelled,
    JobCompleted,
    JobCreated,
    JobFailed,
    JobRetrying,
    JobStarted,
    ProviderCompleted,
    ProviderSubmitted,
    decode,
    encode,
    event_name,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PROPERTY = settings(max_examples=200, deadline=None, database=None)
BASE = {"job_id": "j1", "user_id": "u1", "at": NOW}

# --- errors ------------------------------------------------------------------------------


def test_error_codes_are_their_own_names() -> None:
    assert all(code.value == code.name for code in ErrorCode)


@pytest.mark.parametrize(
    ("error", "code", "detail"),
    [
        (validation("bad", "f"), ErrorCode.VALIDATION_ERROR, "bad"),
        (not_found("job"), ErrorCode.NOT_FOUND, "job not found"),
        (conflict("taken"), ErrorCode.CONFLICT, "taken"),
        (forbidden(), ErrorCode.FORBIDDEN, "this action needs the admin role"),
        (forbidden("no"), ErrorCode.FORBIDDEN, "no"),
        (unauthenticated(), ErrorCode.UNAUTHENTICATED, "missing, invalid or revoked credentials"),
        (quota_exceeded("full", 30), ErrorCode.QUOTA_EXCEEDED, "full"),
        (insufficient_credits(10, 3), ErrorCode.INSUFFICIENT_CREDITS, "this needs 10 credits and 3 are available"),
        (invalid_transition("job", "completed", "pending"), ErrorCode.INVALID_TRANSITION,
         "job cannot go from completed to pending"),
    ],
)
def test_error_constructors(error: DomainError, code: ErrorCode, detail: str) -> None:
    assert (error.code, error.detail) == (code, detail)


def test_error_extras() -> None:
    assert validation("bad", "email").field == "email"
    assert validation("bad").field is None
    assert quota_exceeded("full", 30).retry_after == 30
    assert quota_exceeded("full").retry_after is None


def test_errors_are_frozen_values() -> None:
    error = conflict("x")
    assert error == conflict("x")
    with pytest.raises(AttributeError):
        error.detail = "y"  # type: ignore[misc]


def test_errors_encode_with_their_stable_code() -> None:
    assert json.loads(msgspec.json.encode(quota_exceeded("full", 5))) == {
        "code": "QUOTA_EXCEEDED", "detail": "full", "retry_after": 5, "field": None,
    }


# --- events ---------------------------------------------------------------------------------

SAMPLES: list[tuple[DomainEvent, str]] = [
    (JobCreated(**BASE, provider_id="sim", operation_type="text_to_image"), "job.created"),
    (JobStarted(**BASE, attempt=1), "job.started"),
    (AccountSelected(**BASE, account_id="a1", attempt=2), "account.selected"),
    (ProviderSubmitted(**BASE, account_id="a1", provider_job_id="p1"), "provider.submitted"),
    (ProviderCompleted(**BASE, provider_job_id="p1"), "provider.completed"),
    (AssetCreated(**BASE, asset_id="as1"), "asset.created"),
    (JobCompleted(**BASE, result_asset_ids=("as1", "as2")), "job.completed"),
    (JobRetrying(**BASE, error_code="PROVIDER_ERROR", attempt=1), "job.retrying"),
    (JobFailed(**BASE, error_code="CONTENT_MODERATED", error_message="rejected"), "job.failed"),
    (JobCancelled(**BASE), "job.cancelled"),
]


def test_every_event_type_has_a_sample() -> None:
    assert {type(event) for event, _ in SAMPLES} == set(DomainEvent.__args__)


@pytest.mark.parametrize(("event", "name"), SAMPLES, ids=[name for _, name in SAMPLES])
def test_event_round_trip_and_name(event: DomainEvent, name: str) -> None:
    assert event_name(event) == name
    data = encode(event)
    assert json.loads(data)["type"] == name
    decoded = decode(data)
    assert type(decoded) is type(event)
    assert decoded == event


def test_terminal_events() -> None:
    assert (JobCompleted, JobFailed, JobCancelled) == TERMINAL_EVENTS


@pytest.mark.parametrize(
    "data",
    [b'{"type": "job.exploded", "job_id": "j", "user_id": "u", "at": "2024-05-01T12:00:00Z"}',
     b'{"type": "job.started", "job_id": "j", "user_id": "u", "at": "2024-05-01T12:00:00Z"}',
     b"not json"],
)
def test_decode_rejects_unknown_or_incomplete_events(data: bytes) -> None:
    with pytest.raises(msgspec.DecodeError):
        decode(data)


ids = st.text(min_size=1, max_size=20)
times = st.datetimes(timezones=st.just(UTC))
events = st.one_of(
    st.builds(JobCreated, job_id=ids, user_id=ids, at=times, provider_id=ids, operation_type=ids),
    st.builds(JobStarted, job_id=ids, user_id=ids, at=times, attempt=st.integers(0, 100)),
    st.builds(AccountSelected, job_id=ids, user_id=ids, at=times, account_id=ids, attempt=st.integers(0, 100)),
    st.builds(ProviderSubmitted, job_id=ids, user_id=ids, at=times, account_id=ids, provider_job_id=ids),
    st.builds(ProviderCompleted, job_id=ids, user_id=ids, at=times, provider_job_id=ids),
    st.builds(AssetCreated, job_id=ids, user_id=ids, at=times, asset_id=ids),
    st.builds(JobCompleted, job_id=ids, user_id=ids, at=times, result_asset_ids=st.lists(ids).map(tuple)),
    st.builds(JobRetrying, job_id=ids, user_id=ids, at=times, error_code=ids, attempt=st.integers(0, 100)),
    st.builds(JobFailed, job_id=ids, user_id=ids, at=times, error_code=ids, error_message=st.text()),
    st.builds(JobCancelled, job_id=ids, user_id=ids, at=times),
)


@PROPERTY
@given(events)
def test_any_event_survives_a_round_trip(event: DomainEvent) -> None:
    decoded = decode(encode(event))
    assert decoded == event
    assert event_name(decoded) == event_name(event)
