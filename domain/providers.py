"""What a provider offers (operations, param schemas, prices) and what it answers."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import msgspec
from returns.result import Failure, Result, Success

from domain.accounts import FailureKind
from domain.errors import DomainError, validation
from domain.jobs import OperationType


class PriceUnit(StrEnum):
    JOB = "job"
    IMAGE = "image"
    SECOND = "second"  # per started second: 4.2 s costs 5 units


def _number(raw: Any, default: float) -> float:
    """A quantity as a provider's params spell it: 5, 5.5, "5" or "8s" (durations as text)."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, str):
        try:
            value = float(raw.removesuffix("s"))
        except ValueError:
            return default
        return value if math.isfinite(value) else default
    return default


class PriceRule(msgspec.Struct, frozen=True, kw_only=True):
    credits_per_unit: int
    unit: PriceUnit = PriceUnit.JOB
    quantity_param: str | None = None  # e.g. "seconds" or "num_images"
    default_quantity: float = 1

    def quantity(self, params: Mapping[str, Any]) -> int:
        if self.quantity_param is None:
            return 1
        value = _number(params.get(self.quantity_param, self.default_quantity), self.default_quantity)
        return max(1, math.ceil(value))

    def cost(self, params: Mapping[str, Any]) -> int:
        return self.credits_per_unit * self.quantity(params)


class OperationSpec(msgspec.Struct, frozen=True, kw_only=True):
    operation_type: OperationType
    params_type: type[msgspec.Struct]
    price: PriceRule
    min_inputs: int = 0
    max_inputs: int = 0

    def params_schema(self) -> dict[str, Any]:
        return msgspec.json.schema(self.params_type)


class ProviderInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    operations: tuple[OperationSpec, ...]
    upload_ttl_seconds: int | None = None  # how long an uploaded input stays usable there
    # True when `find(reference)` answering None proves the provider never took that submission,
    # so sending it again cannot start a second remote job.
    finds_by_reference: bool = False
    # The named fields of an account's secret (domain/account_secrets.py); empty: one string.
    secret_fields: tuple[str, ...] = ()

    def operation(self, operation_type: str) -> Result[OperationSpec, DomainError]:
        for spec in self.operations:
            if spec.operation_type == operation_type:
                return Success(spec)
        return Failure(
            validation(f"provider {self.id} does not offer {operation_type}", "operation_type")
        )


def validate_params(spec: OperationSpec, params: Any) -> Result[dict[str, Any], DomainError]:
    """Params checked against the operation's schema; returned with defaults filled in."""
    if not isinstance(params, dict):
        return Failure(validation("params must be an object", "params"))
    try:
        typed = msgspec.convert(params, spec.params_type)
    except msgspec.ValidationError as error:
        return Failure(validation(f"params: {error}", "params"))
    return Success(msgspec.to_builtins(typed))


class TakesInputs(Protocol):
    @property
    def operation_type(self) -> OperationType: ...
    @property
    def min_inputs(self) -> int: ...
    @property
    def max_inputs(self) -> int: ...


def check_input_count(spec: TakesInputs, count: int) -> Result[int, DomainError]:
    if spec.min_inputs <= count <= spec.max_inputs:
        return Success(count)
    return Failure(
        validation(
            f"{spec.operation_type} takes {spec.min_inputs}..{spec.max_inputs} input assets, got {count}",
            "input_asset_ids",
        )
    )


class ProviderFailure(msgspec.Struct, frozen=True, kw_only=True):
    """A provider said no, or could not be reached. `kind` decides what happens next."""

    kind: FailureKind
    code: str
    message: str
    retry_after_seconds: int | None = None


class RemoteState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ProviderOutput(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    mime_type: str | None = None
    provider_asset_id: str | None = None


class RemoteStatus(msgspec.Struct, frozen=True, kw_only=True):
    state: RemoteState
    raw_status: str
    outputs: tuple[ProviderOutput, ...] = ()
    failure: ProviderFailure | None = None
    progress: float | None = None


class InputRef(msgspec.Struct, frozen=True, kw_only=True):
    """An input as the provider will see it: its id there, or a URL it can fetch."""

    asset_id: str
    provider_asset_id: str | None = None
    url: str | None = None
    mime_type: str


class SubmitRequest(msgspec.Struct, frozen=True, kw_only=True):
    reference: str  # our submission id, sent along so a lost answer can be found again
    operation_type: OperationType
    params: dict[str, Any]
    inputs: tuple[InputRef, ...] = ()
    model: str | None = None  # the provider's own model id (the job's model); None: the adapter's default
    input_fields: tuple[str, ...] = ()  # where the inputs go, for a model that names them


class ProviderSubmission(msgspec.Struct, frozen=True, kw_only=True):
    """One attempt at the provider, recorded before the HTTP call is made."""

    id: str
    job_id: str
    account_id: str
    attempt: int
    submitted_at: datetime
    provider_job_id: str | None = None
    raw_status: str | None = None
    completed_at: datetime | None = None
    error_code: str | None = None


class WebhookEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A provider callback whose signature checked out: which remote job it is about."""

    webhook_id: str  # unique per delivery; replays are recognised by it
    provider_job_id: str
    sent_at: datetime
    status: RemoteStatus | None = None
