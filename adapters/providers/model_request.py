"""The params an adapter sends for the model a request names."""

from __future__ import annotations

from typing import Any

from returns.result import Failure, Result, Success

from adapters.providers.httpio import checked_request, failure
from domain.accounts import FailureKind
from domain.providers import OperationSpec, ProviderFailure, ProviderInfo, SubmitRequest


def model_request(info: ProviderInfo, request: SubmitRequest, default_model: str
                  ) -> Result[tuple[OperationSpec, Any], ProviderFailure]:
    """The adapter's own typed check for its default model (or none named); for another
    model of the catalog, its params as the catalog checked them against that model's
    schema (domain/models.py `check_params`), sent as they are. The operation and the
    inputs are checked either way."""
    if request.model is None or request.model == default_model:
        return checked_request(info, request)
    spec = info.operation(request.operation_type).value_or(None)
    if spec is None:
        return Failure(failure(FailureKind.INVALID, "UNSUPPORTED_OPERATION",
                               f"{info.id} does not offer {request.operation_type}"))
    if any(ref.provider_asset_id is None and ref.url is None for ref in request.inputs):
        return Failure(failure(FailureKind.INVALID, "INVALID_INPUTS", "every input needs a provider asset id or a URL"))
    return Success((spec, dict(request.params)))


def input_fields(request: SubmitRequest, default: tuple[str, ...]) -> Result[tuple[str, ...], ProviderFailure]:
    """Where the inputs go: the model's fields, else the operation's default ones; one per input."""
    fields = request.input_fields or default
    if len(fields) != len(request.inputs):
        return Failure(failure(FailureKind.INVALID, "INVALID_INPUTS",
                               f"{len(request.inputs)} inputs for {len(fields)} input fields"))
    return Success(fields)
