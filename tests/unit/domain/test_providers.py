"""What providers offer: prices, operation look-up, param validation, input counts."""

from __future__ import annotations

import math
from typing import Annotated, Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from domain.accounts import FailureKind
from domain.errors import ErrorCode
from domain.jobs import OperationType
from domain.providers import (
    OperationSpec,
    PriceRule,
    PriceUnit,
    ProviderFailure,
    ProviderInfo,
    RemoteState,
    RemoteStatus,
    check_input_count,
    validate_params,
)

PROPERTY = settings(max_examples=200, deadline=None, database=None)


class VideoParams(msgspec.Struct, forbid_unknown_fields=True):
    prompt: str
    seconds: Annotated[float, msgspec.Meta(gt=0, le=10)] = 5.0
    seed: int | None = None


PER_SECOND = PriceRule(credits_per_unit=2, unit=PriceUnit.SECOND, quantity_param="seconds", default_quantity=5)
VIDEO = OperationSpec(
    operation_type=OperationType.IMAGE_TO_VIDEO, params_type=VideoParams, price=PER_SECOND, min_inputs=1, max_inputs=2
)
IMAGE = OperationSpec(
    operation_type=OperationType.TEXT_TO_IMAGE, params_type=VideoParams, price=PriceRule(credits_per_unit=3)
)
SIM = ProviderInfo(id="sim", name="Simulator", operations=(IMAGE, VIDEO))


# --- prices --------------------------------------------------------------------------------


def test_a_per_job_price_ignores_params() -> None:
    rule = PriceRule(credits_per_unit=7)
    assert rule.quantity({"seconds": 99}) == 1
    assert rule.cost({}) == 7


@pytest.mark.parametrize(
    ("params", "cost"),
    [
        ({"seconds": 4.2}, 10),  # per started second: 4.2 s is 5 units
        ({"seconds": 5}, 10),
        ({"seconds": 5.0000001}, 12),
        ({"seconds": 0.1}, 2),
        ({"seconds": 0}, 2),  # at least one unit
        ({"seconds": -3}, 2),
        ({}, 10),  # the default quantity
        ({"seconds": "7"}, 14),  # a number as text (fal spells durations "5", "8s"): counted
        ({"seconds": "8s"}, 16),
        ({"seconds": "seven"}, 10),  # not a number: the default
        ({"seconds": "nan"}, 10),
        ({"seconds": True}, 10),  # a bool is not a number here
        ({"seconds": None}, 10),
    ],
)
def test_per_started_second_price(params: dict[str, Any], cost: int) -> None:
    assert PER_SECOND.cost(params) == cost


def test_per_image_price() -> None:
    rule = PriceRule(credits_per_unit=1, unit=PriceUnit.IMAGE, quantity_param="num_images")
    assert [rule.cost({"num_images": n}) for n in (1, 4)] == [1, 4]
    assert rule.cost({}) == 1


@PROPERTY
@given(seconds=st.floats(min_value=-100, max_value=10_000, allow_nan=False), per_unit=st.integers(0, 50))
def test_price_is_per_started_second(seconds: float, per_unit: int) -> None:
    rule = PriceRule(credits_per_unit=per_unit, unit=PriceUnit.SECOND, quantity_param="seconds")
    units = rule.quantity({"seconds": seconds})
    assert units >= 1
    if seconds > 0:
        assert units - 1 < seconds <= units
    assert rule.cost({"seconds": seconds}) == per_unit * max(1, math.ceil(seconds))


# --- operations and params -------------------------------------------------------------------


def test_operation_look_up() -> None:
    assert SIM.operation("image_to_video") == Success(VIDEO)
    assert SIM.operation(OperationType.TEXT_TO_IMAGE) == Success(IMAGE)
    missing = SIM.operation("upscale")
    assert isinstance(missing, Failure)
    assert (missing.failure().code, missing.failure().field) == (ErrorCode.VALIDATION_ERROR, "operation_type")
    assert "sim" in missing.failure().detail


def test_params_schema_is_the_json_schema_of_the_params_type() -> None:
    schema = VIDEO.params_schema()
    assert schema == msgspec.json.schema(VideoParams)
    assert "VideoParams" in str(schema)


def test_validate_params_fills_defaults() -> None:
    assert validate_params(VIDEO, {"prompt": "waves"}) == Success({"prompt": "waves", "seconds": 5.0, "seed": None})


@pytest.mark.parametrize(
    ("params", "mentions"),
    [
        ({}, "prompt"),
        ({"prompt": 3}, "prompt"),
        ({"prompt": "x", "seconds": 11}, "seconds"),
        ({"prompt": "x", "seconds": 0}, "seconds"),
        ({"prompt": "x", "seed": "7"}, "seed"),
        ({"prompt": "x", "colour": "red"}, "colour"),
    ],
)
def test_validate_params_rejects_with_a_reason(params: dict[str, Any], mentions: str) -> None:
    result = validate_params(VIDEO, params)
    assert isinstance(result, Failure)
    error = result.failure()
    assert (error.code, error.field) == (ErrorCode.VALIDATION_ERROR, "params")
    assert error.detail.startswith("params: ") and mentions in error.detail


@pytest.mark.parametrize("params", [None, [], "prompt", 3])
def test_validate_params_needs_an_object(params: Any) -> None:
    result = validate_params(VIDEO, params)
    assert isinstance(result, Failure)
    assert result.failure().detail == "params must be an object"


@PROPERTY
@given(st.dictionaries(st.sampled_from(["prompt", "seconds", "seed", "x"]), st.one_of(
    st.none(), st.booleans(), st.integers(-5, 20), st.floats(allow_nan=False), st.text(max_size=5)
)))
def test_validate_params_never_raises_and_returns_builtins(params: dict[str, Any]) -> None:
    result = validate_params(VIDEO, params)
    if isinstance(result, Success):
        cleaned = result.unwrap()
        assert set(cleaned) == {"prompt", "seconds", "seed"}
        assert 0 < cleaned["seconds"] <= 10


@pytest.mark.parametrize(("count", "ok"), [(0, False), (1, True), (2, True), (3, False)])
def test_check_input_count(count: int, ok: bool) -> None:
    result = check_input_count(VIDEO, count)
    if ok:
        assert result == Success(count)
    else:
        assert isinstance(result, Failure)
        assert result.failure().field == "input_asset_ids"
        assert "1..2" in result.failure().detail


def test_operations_without_inputs_take_none() -> None:
    assert check_input_count(IMAGE, 0) == Success(0)
    assert isinstance(check_input_count(IMAGE, 1), Failure)


def test_remote_status_can_carry_a_failure() -> None:
    failure = ProviderFailure(kind=FailureKind.RATE_LIMITED, code="429", message="slow down", retry_after_seconds=30)
    status = msgspec.json.decode(
        msgspec.json.encode(RemoteStatus(state=RemoteState.FAILED, raw_status="error", failure=failure)),
        type=RemoteStatus,
    )
    assert status.failure == failure
    assert (status.outputs, status.progress) == ((), None)
