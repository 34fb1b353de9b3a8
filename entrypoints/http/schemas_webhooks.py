"""Bodies of the webhook endpoint routes, and the body every delivery carries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from application.webhooks.deliveries import DeliveryLog
from domain.assets import Asset
from domain.jobs import Job
from domain.outbound import DeliveryAttempt, DeliveryStatus, HookEvent, WebhookDelivery, WebhookEndpoint
from entrypoints.http.schemas_assets import AssetOut, asset_out
from entrypoints.http.schemas_common import In, utc, utc_or_none
from entrypoints.http.schemas_jobs import WEBHOOK_URL_PATTERN, JobOut, job_out

WebhookUrl = Annotated[str, Meta(min_length=1, max_length=2048, pattern=WEBHOOK_URL_PATTERN,
                                 examples=["https://example.com/hooks/pixrelay"],
                                 description="https and a public host; checked again before every delivery")]
Events = Annotated[list[HookEvent], Meta(min_length=1, max_length=3, examples=[["job.completed", "job.failed"]],
                                         description="default: every event")]
Description = Annotated[str, Meta(max_length=500, pattern="^[^\\x00-\\x1f\\x7f]*$", examples=["order pipeline"])]
SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class WebhookEndpointIn(In, frozen=True):
    url: WebhookUrl
    events: Events | None = None
    description: Description | None = None


class WebhookEndpointPatchIn(In, frozen=True):
    url: WebhookUrl | None = None
    events: Events | None = None
    description: Description | None = None
    disabled: Annotated[bool, Meta(description="true stops deliveries; false re-enables (and clears the reason)")
                        ] | None = None


class WebhookEndpointOut(msgspec.Struct, kw_only=True):
    id: str
    url: str
    events: list[str]
    description: str | None
    disabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime | None


class WebhookEndpointCreatedOut(WebhookEndpointOut, kw_only=True):
    secret: Annotated[str, Meta(description="the signing secret, shown in this answer only",
                                examples=[SECRET_EXAMPLE])]


class WebhookEndpointList(msgspec.Struct, kw_only=True):
    items: list[WebhookEndpointOut]
    next_cursor: str | None = None


class SigningSecretOut(msgspec.Struct, kw_only=True):
    secret: Annotated[str, Meta(examples=[SECRET_EXAMPLE])]


def endpoint_out(endpoint: WebhookEndpoint) -> WebhookEndpointOut:
    return WebhookEndpointOut(**_endpoint_fields(endpoint))


def endpoint_created_out(endpoint: WebhookEndpoint, secret: str) -> WebhookEndpointCreatedOut:
    return WebhookEndpointCreatedOut(**_endpoint_fields(endpoint), secret=secret)


def _endpoint_fields(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id, "url": endpoint.url, "events": list(endpoint.events), "description": endpoint.description,
        "disabled": endpoint.disabled_at is not None, "disabled_reason": endpoint.disabled_reason,
        "disabled_at": utc_or_none(endpoint.disabled_at), "failing_since": utc_or_none(endpoint.failing_since),
        "previous_secret_expires_at": utc_or_none(endpoint.previous_secret_until) if endpoint.previous_secret else None,
        "created_at": utc(endpoint.created_at), "updated_at": utc_or_none(endpoint.updated_at),
    }


class AttemptOut(msgspec.Struct, kw_only=True):
    attempted_at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    next_attempt_at: datetime | None


class DeliveryOut(msgspec.Struct, kw_only=True):
    id: str
    webhook_id: str
    event_type: str
    job_id: str
    endpoint_id: str | None  # None: the job's own webhook_url
    url: str | None  # the job's own webhook_url; an endpoint's URL is on the endpoint
    status: DeliveryStatus
    attempts: list[AttemptOut]
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    replay_of: str | None
    created_at: datetime


class DeliveryList(msgspec.Struct, kw_only=True):
    items: list[DeliveryOut]
    next_cursor: str | None = None


def attempt_out(attempt: DeliveryAttempt) -> AttemptOut:
    return AttemptOut(attempted_at=utc(attempt.attempted_at), status_code=attempt.status_code,
                      duration_ms=attempt.duration_ms, error=attempt.error,
                      next_attempt_at=utc_or_none(attempt.next_attempt_at))


def delivery_out(delivery: WebhookDelivery, attempts: list[DeliveryAttempt]) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id, webhook_id=delivery.message_id, event_type=delivery.event_type, job_id=delivery.job_id,
        endpoint_id=delivery.endpoint_id, url=delivery.url,
        status=delivery.status, attempts=[attempt_out(a) for a in attempts],
        next_attempt_at=utc_or_none(delivery.next_attempt_at), last_status_code=delivery.last_status_code,
        last_error=delivery.last_error, delivered_at=utc_or_none(delivery.delivered_at),
        replay_of=delivery.replay_of, created_at=utc(delivery.created_at))


def delivery_list(log: DeliveryLog) -> DeliveryList:
    return DeliveryList(items=[delivery_out(d, log.attempts.get(d.id, [])) for d in log.deliveries.items],
                        next_cursor=log.deliveries.next_cursor)


# ---------------------------------------------------------------- the delivered body


class ResultAssetOut(AssetOut, kw_only=True):
    content_url: str  # GET it with a bearer token; absolute when PIXRELAY_PUBLIC_URL is set


class EventData(msgspec.Struct, kw_only=True):
    job: JobOut | None  # None only when the job was deleted before the first attempt
    assets: list[ResultAssetOut]


class WebhookPayload(msgspec.Struct, kw_only=True):
    """Standard Webhooks' recommended shape: `type`, `timestamp` (of the event), `data`."""

    type: str
    timestamp: datetime
    data: EventData


class JsonPayloads:
    """The delivery body: the job as `GET /v1/jobs/{id}` shows it, and its result assets with
    where to fetch their bytes."""

    def __init__(self, public_url: str | None = None) -> None:
        self._base = (public_url or "").rstrip("/")

    def render(self, delivery: WebhookDelivery, job: Job | None, assets: list[Asset]) -> bytes:
        by_id = {a.id: a for a in assets}
        ordered = [by_id[i] for i in (job.result_asset_ids if job else ()) if i in by_id]
        results = [ResultAssetOut(**msgspec.structs.asdict(asset_out(a)),
                                  content_url=f"{self._base}/v1/assets/{a.id}/content") for a in ordered]
        payload = WebhookPayload(type=delivery.event_type, timestamp=utc(job.completed_at or job.created_at)
                                 if job else utc(delivery.created_at),
                                 data=EventData(job=job_out(job) if job else None, assets=results))
        return msgspec.json.encode(payload)
