"""API key rules: the key's shape, scopes by role, expiry and the whole check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from returns.result import Failure, Success

from domain.api_keys import (
    ADMIN_SCOPES,
    USER_SCOPES,
    ApiKey,
    KeyOwner,
    Scope,
    accepts,
    check_expiry,
    check_scopes,
    compose_key,
    display_prefix,
    effective_scopes,
    hash_key_secret,
    split_key,
)
from domain.errors import ErrorCode
from domain.users import Role

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
SECRET = "Zk3_-qv0Zr3xY7tLwKp2sD9fG4hJ6kA5bC1eQ0uV3wX"


def key(**changes: object) -> ApiKey:
    values: dict[str, object] = {"id": "k1", "user_id": "u1", "name": "n", "secret_hash": hash_key_secret(SECRET),
                                 "prefix": display_prefix("k1", SECRET), "scopes": tuple(sorted(USER_SCOPES)),
                                 "created_at": NOW}
    return ApiKey(**{**values, **changes})  # type: ignore[arg-type]


def test_a_key_splits_back_into_its_id_and_secret() -> None:
    whole = compose_key("0192abc", SECRET)
    assert whole.startswith("pxr_0192abc_") and split_key(whole) == ("0192abc", SECRET)
    assert whole.startswith(display_prefix("0192abc", SECRET))


@pytest.mark.parametrize("bad", ["", "pxr_", "pxr_abc", "pxr__" + SECRET, "pxr_abc_short", "xpr_abc_" + SECRET,
                                 "pxr_abc_" + SECRET + "\n", "pxr_a.b_" + SECRET, "pxr_abc_" + "x" * 200])
def test_malformed_keys_do_not_split(bad: str) -> None:
    assert split_key(bad) is None


def test_scopes_default_to_all_of_the_owners_and_admin_is_for_admins() -> None:
    assert check_scopes(None, Role.USER) == Success(tuple(sorted(USER_SCOPES)))
    assert check_scopes(None, Role.ADMIN) == Success(tuple(sorted(ADMIN_SCOPES)))
    assert Scope.ADMIN not in USER_SCOPES
    assert check_scopes(["jobs:write", "jobs:read", "jobs:read"], Role.USER) == Success(
        (Scope.JOBS_READ, Scope.JOBS_WRITE))
    for requested in (["nope"], []):
        result = check_scopes(requested, Role.USER)
        assert isinstance(result, Failure) and result.failure().field == "scopes"
    refused = check_scopes(["jobs:read", "admin"], Role.USER)
    assert isinstance(refused, Failure) and refused.failure().code is ErrorCode.FORBIDDEN
    assert check_scopes(["admin"], Role.ADMIN) == Success((Scope.ADMIN,))


def test_a_demoted_admins_key_loses_the_admin_scope() -> None:
    admin_key = key(scopes=(Scope.ADMIN, Scope.JOBS_READ))
    assert effective_scopes(admin_key, Role.ADMIN) == {Scope.ADMIN, Scope.JOBS_READ}
    assert effective_scopes(admin_key, Role.USER) == {Scope.JOBS_READ}


def test_expiry_is_checked() -> None:
    assert check_expiry(None, NOW) == Success(None)
    assert check_expiry(NOW + timedelta(seconds=1), NOW) == Success(NOW + timedelta(seconds=1))
    assert isinstance(check_expiry(NOW, NOW), Failure)
    assert isinstance(check_expiry(datetime(2030, 1, 1), NOW), Failure)


def test_the_check_needs_the_right_secret_a_live_key_and_an_active_owner() -> None:
    active = KeyOwner(role=Role.USER, is_active=True)
    assert accepts(key(), active, SECRET, NOW)
    assert not accepts(key(), active, SECRET[:-1] + "A", NOW)
    assert not accepts(key(), KeyOwner(role=Role.USER, is_active=False), SECRET, NOW)
    assert not accepts(key(revoked_at=NOW), active, SECRET, NOW)
    assert not accepts(key(expires_at=NOW), active, SECRET, NOW)
    assert accepts(key(expires_at=NOW + timedelta(seconds=1)), active, SECRET, NOW)


def test_last_use_is_due_once_a_minute() -> None:
    assert key().needs_touch(NOW)
    assert not key(last_used_at=NOW - timedelta(seconds=59)).needs_touch(NOW)
    assert key(last_used_at=NOW - timedelta(seconds=60)).needs_touch(NOW)
