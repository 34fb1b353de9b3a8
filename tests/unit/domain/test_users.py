"""Users, field rules, sessions and refresh-token handling."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from domain.errors import ErrorCode
from domain.quotas import ADMIN_DEFAULT, USER_DEFAULT
from domain.users import (
    AccessClaims,
    Role,
    Session,
    User,
    check_email,
    check_password,
    check_username,
    default_quota,
    hash_secret,
    normalize_email,
    revoke,
    rotate,
    split_refresh_token,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PROPERTY = settings(max_examples=200, deadline=None, database=None)


def make_user(**changes: Any) -> User:
    fields: dict[str, Any] = {
        "id": "u1", "email": "ann@example.com", "username": "ann", "password_hash": "$argon2id$...",
        "created_at": NOW,
    }
    fields.update(changes)
    return User(**fields)


def make_session(**changes: Any) -> Session:
    fields: dict[str, Any] = {
        "id": "s1", "user_id": "u1", "refresh_hash": hash_secret("first-secret-000000"),
        "created_at": NOW, "expires_at": NOW + timedelta(days=30), "last_used_at": NOW,
    }
    fields.update(changes)
    return Session(**fields)


# --- users -----------------------------------------------------------------------------


def test_user_defaults() -> None:
    user = make_user()
    assert (user.role, user.is_active, user.quota) == (Role.USER, True, USER_DEFAULT)
    assert not user.is_admin
    assert make_user(role=Role.ADMIN).is_admin


@pytest.mark.parametrize(
    "changes", [{"email": "Ann@Example.com"}, {"email": " ann@example.com"}, {"storage_bytes": -1}, {"running_jobs": -1}]
)
def test_user_rejects_unnormalized_email_and_negative_counters(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        make_user(**changes)


def test_default_quota_per_role() -> None:
    assert default_quota(Role.USER) == USER_DEFAULT
    assert default_quota(Role.ADMIN) == ADMIN_DEFAULT


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [("  Ann@Example.COM ", "ann@example.com"), ("a.b+tag@sub.example.org", "a.b+tag@sub.example.org")],
)
def test_check_email_accepts_and_normalizes(raw: str, normalized: str) -> None:
    assert check_email(raw) == Success(normalized)
    assert normalize_email(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    ["", "ann", "ann@", "@example.com", "ann@example", "an n@example.com", "a@b@example.com",
     "x" * 65 + "@example.com", "a@" + "b" * 250 + ".com"],
)
def test_check_email_rejects(raw: str) -> None:
    result = check_email(raw)
    assert isinstance(result, Failure)
    assert (result.failure().code, result.failure().field) == (ErrorCode.VALIDATION_ERROR, "email")


@pytest.mark.parametrize(("name", "ok"), [
    ("abc", True), ("a" * 32, True), ("A.b_c-9", True), ("ab", False), ("a" * 33, False),
    ("with space", False), ("émile", False), ("", False),
])
def test_check_username(name: str, ok: bool) -> None:
    result = check_username(name)
    if ok:
        assert result == Success(name)
    else:
        assert isinstance(result, Failure)
        assert result.failure().field == "username"


@pytest.mark.parametrize(("length", "ok"), [(7, False), (8, True), (256, True), (257, False)])
def test_check_password_length(length: int, ok: bool) -> None:
    password = "p" * length
    result = check_password(password)
    if ok:
        assert result == Success(password)
    else:
        assert isinstance(result, Failure)
        assert result.failure().field == "password"


@PROPERTY
@given(st.emails())
def test_valid_emails_are_accepted_normalized_and_stable(email: str) -> None:
    result = check_email(email)
    if len(email) <= 254 and len(email.split("@")[0]) <= 64:
        normalized = result.unwrap()
        assert normalized == email.strip().lower()
        assert check_email(normalized) == Success(normalized)


# --- sessions --------------------------------------------------------------------------------


def test_session_is_live_until_expiry_or_revocation() -> None:
    session = make_session()
    assert session.is_live(NOW)
    assert not session.is_live(session.expires_at)
    assert not revoke(session, NOW).is_live(NOW)


def test_hash_secret_is_sha256_hex() -> None:
    assert hash_secret("abc") == hashlib.sha256(b"abc").hexdigest()
    assert hash_secret("abc") != hash_secret("abd")


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("s1.0123456789abcdef", ("s1", "0123456789abcdef")),
        ("s1.0123456789abcdef.more", ("s1", "0123456789abcdef.more")),
        ("s1.short", None),
        ("s1", None),
        (".0123456789abcdef", None),
        ("", None),
    ],
)
def test_split_refresh_token(token: str, expected: tuple[str, str] | None) -> None:
    assert split_refresh_token(token) == expected


def test_rotate_keeps_only_the_newest_secret() -> None:
    later = NOW + timedelta(minutes=3)
    rotated = rotate(make_session(), "second-secret-0000", later)
    assert rotated.refresh_hash == hash_secret("second-secret-0000")
    assert (rotated.generation, rotated.last_used_at) == (1, later)
    assert rotate(rotated, "third-secret-00000", later).generation == 2


def test_revoke_keeps_the_first_revocation_time() -> None:
    revoked = revoke(make_session(), NOW)
    assert revoked.revoked_at == NOW
    assert revoke(revoked, NOW + timedelta(hours=1)) is revoked


def test_access_claims_carry_the_role() -> None:
    claims = AccessClaims("u1", "s1", Role.ADMIN, NOW)
    assert (claims.user_id, claims.session_id, claims.role, claims.expires_at) == ("u1", "s1", Role.ADMIN, NOW)
