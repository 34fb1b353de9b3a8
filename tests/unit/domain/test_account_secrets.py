"""Account secrets: one string, or a provider's named fields kept as one string."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from domain.account_secrets import check_secret_value, encode_fields, secret_fields
from domain.errors import ErrorCode

PAIR = ("access_key", "secret_key")
field_values = st.text(min_size=1, max_size=60).filter(lambda v: v.strip() == v)


@given(st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=60), min_size=1))
def test_named_fields_round_trip_through_one_string(fields: dict[str, str]) -> None:
    assert secret_fields(encode_fields(fields)) == fields


@given(field_values, field_values)
def test_a_key_pair_is_stored_in_one_canonical_form(access: str, secret: str) -> None:
    stored = check_secret_value("kling", PAIR, {"secret_key": secret, "access_key": access}).unwrap()
    assert stored == encode_fields({"access_key": access, "secret_key": secret})
    assert secret_fields(stored) == {"access_key": access, "secret_key": secret}


@pytest.mark.parametrize("plain", ["r8_live_abc", "", "{not json", "[1, 2]", '{"a": 1}'])
def test_a_one_string_secret_is_not_structured(plain: str) -> None:
    assert secret_fields(plain) is None


def test_a_one_string_provider_keeps_its_string_and_refuses_an_object() -> None:
    assert check_secret_value("replicate", (), "r8_live_abc") == Success("r8_live_abc")
    refused = check_secret_value("replicate", (), {"access_key": "a"})
    assert isinstance(refused, Failure) and refused.failure().code is ErrorCode.VALIDATION_ERROR


@pytest.mark.parametrize(("value", "says"), [
    ("AK:SK", "an object with the fields access_key, secret_key"),
    ({"access_key": "AK"}, "missing secret_key"),
    ({"access_key": "AK", "secret_key": "SK", "region": "sg"}, "unknown region"),
    ({"access_key": "AK", "secret_key": " SK"}, "secret.secret_key"),
    ({"access_key": "", "secret_key": "SK"}, "secret.access_key"),
])
def test_a_key_pair_provider_wants_exactly_its_fields(value: str | dict[str, str], says: str) -> None:
    refused = check_secret_value("kling", PAIR, value)
    assert isinstance(refused, Failure)
    error = refused.failure()
    assert (error.code, error.field) == (ErrorCode.VALIDATION_ERROR, "secret") and says in error.detail
