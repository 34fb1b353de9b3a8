"""Bodies of the job, quote, event and provider routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from application.jobs.create import JobRequest
from application.jobs.quote import Quote
from domain.dispatch import Waiting, WaitingReason
from domain.events import DomainEvent, event_name
from domain.jobs import DEFAULT_PRIORITY, MAX_PRIORITY, MIN_PRIORITY, Job, JobStatus, OperationType
from domain.outbound import HookEvent
from domain.providers import OperationSpec, PriceUnit, ProviderInfo
from entrypoints.http.schemas_common import In, fits_utc, utc, utc_or_none

PORT = "(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
# A host name (with at least one letter: IP literals are not accepted), an optional port,
# then anything. The served schema narrows `https?` to `https` unless private targets are allowed.
WEBHOOK_URL_PATTERN = "^https?://[A-Za-z0-9.-]*[A-Za-z][A-Za-z0-9.-]*" + PORT + "([/?#].*)?$"
AwareTime = Annotated[datetime, Meta(tz=True, description="RFC 3339 with a time zone")]
Id = Annotated[str, Meta(min_length=1, max_length=128)]


class JobIn(In, frozen=True):
    operation_type: Annotated[str, Meta(max_length=64, examples=["text_to_image"])]
    provider_id: Annotated[str, Meta(max_length=64, examples=["sim"], description=(
        "the provider: runs its default model for the operation when `model` is not given; "
        "\"auto\": pixrelay routes the job to the best capable provider"))] | None = None
    model: Annotated[str, Meta(min_length=1, max_length=320, examples=["sim/image"], description=(
        "a model id or alias from GET /v1/models; with `provider_id`, they must agree"))] | None = None
    params: Annotated[dict[str, Any], Meta(examples=[{"prompt": "a red fox in the snow", "seed": 7}])] = (
        msgspec.field(default_factory=dict))
    input_asset_ids: Annotated[list[Id], Meta(max_length=32)] = msgspec.field(default_factory=list)
    priority: Annotated[int, Meta(ge=MIN_PRIORITY, le=MAX_PRIORITY, description="0 is the highest")] = DEFAULT_PRIORITY
    scheduled_at: AwareTime | None = None
    parent_job_id: Id | None = None
    workspace_id: Id | None = None
    name: Annotated[str, Meta(max_length=200)] | None = None
    webhook_url: Annotated[str, Meta(min_length=1, max_length=2048, pattern=WEBHOOK_URL_PATTERN,
                                     examples=["https://example.com/hooks/pixrelay"],
                                     description="receives this job's terminal events (Standard Webhooks), "
                                                 "signed with your default signing secret")] | None = None
    webhook_events_filter: Annotated[list[HookEvent], Meta(
        min_length=1, max_length=3, examples=[["job.completed", "job.failed"]],
        description="which events go to `webhook_url`; default all")] | None = None

    def __post_init__(self) -> None:
        # a ValueError here is a 422 at decoding
        if self.scheduled_at is not None and not fits_utc(self.scheduled_at):
            raise ValueError("scheduled_at is out of range")

    def to_request(self) -> JobRequest:
        return JobRequest(provider_id=self.provider_id, model=self.model, operation_type=self.operation_type,
                          params=self.params, input_asset_ids=list(self.input_asset_ids),
                          priority=self.priority, scheduled_at=self.scheduled_at,
                          parent_job_id=self.parent_job_id, workspace_id=self.workspace_id, name=self.name,
                          webhook_url=self.webhook_url,
                          webhook_events_filter=None if self.webhook_events_filter is None
                          else [str(e) for e in self.webhook_events_filter])


class QuoteIn(JobIn, frozen=True):
    """A job to price: the same body, but only model or provider, operation and params are checked."""


class JobOut(msgspec.Struct, kw_only=True):
    id: str
    status: JobStatus
    provider_id: str
    model: str | None  # the catalog model it runs on; null on jobs made before models
    operation_type: OperationType
    params: dict[str, Any]
    input_asset_ids: list[str]
    priority: int
    attempts: int
    max_attempts: int
    error_code: str | None
    error_message: str | None
    result_asset_ids: list[str]
    parent_job_id: str | None
    workspace_id: str | None
    name: str | None
    cost_estimate: int
    scheduled_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    webhook_url: str | None = None
    webhook_events_filter: list[str] | None = None
    claimed_at: datetime | None = None
    waiting_reason: WaitingReason | None = None
    waiting_until: datetime | None = None
    retried_from: str | None = None  # the failed or cancelled job this one re-runs
    routed_to: str | None = None  # a routed job (alias or provider_id "auto"): the model it runs on
    route_reason: str | None = None  # why it runs there: "cheapest available", "failover: ..."


class JobList(msgspec.Struct, kw_only=True):
    items: list[JobOut]
    next_cursor: str | None = None


def job_out(job: Job, waiting: Waiting | None = None) -> JobOut:
    """`waiting`: why a pending job has not started (GET of one job says; listings do not)."""
    return JobOut(
        id=job.id, status=job.status, provider_id=job.provider_id, model=job.model,
        operation_type=job.operation_type,
        params=job.params, input_asset_ids=list(job.input_asset_ids), priority=job.priority,
        attempts=job.attempts, max_attempts=job.max_attempts, error_code=job.error_code,
        error_message=job.error_message, result_asset_ids=list(job.result_asset_ids),
        parent_job_id=job.parent_job_id, workspace_id=job.workspace_id, name=job.name,
        cost_estimate=job.cost_estimate, scheduled_at=utc_or_none(job.scheduled_at),
        created_at=utc(job.created_at), started_at=utc_or_none(job.started_at),
        completed_at=utc_or_none(job.completed_at), webhook_url=job.webhook_url,
        webhook_events_filter=None if job.webhook_events is None else list(job.webhook_events),
        claimed_at=utc_or_none(job.claimed_at),
        waiting_reason=waiting.reason if waiting else None,
        waiting_until=utc_or_none(waiting.until) if waiting else None,
        retried_from=job.retried_from,
        routed_to=job.routed_to, route_reason=job.route.reason if job.route is not None else None,
    )


class QuoteOut(msgspec.Struct, kw_only=True):
    credits: int


def quote_out(quote: Quote) -> QuoteOut:
    return QuoteOut(credits=quote.credits)


def event_data(event: DomainEvent) -> dict[str, Any]:
    """An event as its stream shows it: its fields, without the owner's user id."""
    data: dict[str, Any] = msgspec.to_builtins(event)
    data.pop("user_id", None)
    data["type"] = event_name(event)
    data["at"] = utc(event.at).isoformat().replace("+00:00", "Z")
    return data


class PriceOut(msgspec.Struct, kw_only=True):
    """`credits_per_unit` times the quantity: 1 per job, per image, or per started second."""

    credits_per_unit: int
    unit: PriceUnit
    quantity_param: str | None


class OperationOut(msgspec.Struct, kw_only=True):
    operation_type: OperationType
    params_schema: dict[str, Any]
    price: PriceOut
    min_inputs: int
    max_inputs: int


class ProviderOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    operations: list[OperationOut]
    has_usable_accounts: bool = True  # some account (shared, or the caller's own) can run its jobs
    # an account's `secret` is an object of these fields (e.g. kling's key pair); empty: one string
    secret_fields: list[str] = msgspec.field(default_factory=list)


class ProviderList(msgspec.Struct, kw_only=True):
    items: list[ProviderOut]
    next_cursor: str | None = None


def operation_out(spec: OperationSpec) -> OperationOut:
    price = PriceOut(credits_per_unit=spec.price.credits_per_unit, unit=spec.price.unit,
                     quantity_param=spec.price.quantity_param)
    return OperationOut(operation_type=spec.operation_type, params_schema=inline_root(spec.params_schema()),
                        price=price,
                        min_inputs=spec.min_inputs, max_inputs=spec.max_inputs)


def inline_root(schema: dict[str, Any]) -> dict[str, Any]:
    """msgspec puts the root object under `$defs` behind a `$ref`; clients read it inline."""
    ref, defs = schema.get("$ref"), dict(schema.get("$defs", {}))
    prefix = "#/$defs/"
    if not isinstance(ref, str) or not ref.startswith(prefix) or ref[len(prefix):] not in defs:
        return schema
    root: dict[str, Any] = defs.pop(ref[len(prefix):])
    return {**root, "$defs": defs} if defs else root


def provider_out(info: ProviderInfo, has_usable_accounts: bool = True) -> ProviderOut:
    return ProviderOut(id=info.id, name=info.name, operations=[operation_out(s) for s in info.operations],
                       has_usable_accounts=has_usable_accounts, secret_fields=list(info.secret_fields))
