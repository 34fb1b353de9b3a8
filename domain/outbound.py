"""Outbound webhooks (Standard Webhooks): endpoints, deliveries, signatures, the retry rule.

A job's terminal event becomes one delivery per matching endpoint (and one to the job's own
`webhook_url`), written in the transaction that ends the job. Deliveries are retried on a
schedule that spans more than a day; an endpoint that fails without a break for
`disable_after` is disabled, with the reason kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

import msgspec

from domain.jobs import Job, JobStatus

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
ROTATION_OVERLAP = timedelta(hours=24)
MAX_ENDPOINTS_PER_USER = 20
MAX_URL_LENGTH = 2048
# What Svix (the Standard Webhooks reference) does: about 27.5 hours in all.
DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
DEFAULT_DISABLE_AFTER = timedelta(hours=24)


class HookEvent(StrEnum):
    JOB_COMPLETED = "job.completed"
    JOB_FAILED = "job.failed"
    JOB_CANCELLED = "job.cancelled"


ALL_EVENTS: tuple[HookEvent, ...] = tuple(HookEvent)
EVENT_BITS: dict[HookEvent, int] = {event: 1 << index for index, event in enumerate(HookEvent)}
STATUS_EVENTS: dict[JobStatus, HookEvent] = {
    JobStatus.COMPLETED: HookEvent.JOB_COMPLETED,
    JobStatus.FAILED: HookEvent.JOB_FAILED,
    JobStatus.CANCELLED: HookEvent.JOB_CANCELLED,
}


def event_mask(events: Sequence[str]) -> int:
    """The events as bits (stored beside the list, so SQL can match with one `&`)."""
    mask = 0
    for name in events:
        mask |= EVENT_BITS[HookEvent(name)]
    return mask


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    user_id: str
    url: str
    events: tuple[str, ...]
    secret: str
    created_at: datetime
    description: str | None = None
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None
    updated_at: datetime | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    failing_since: datetime | None = None

    @property
    def event_mask(self) -> int:
        return event_mask(self.events)

    def signing_secrets(self, now: datetime) -> list[str]:
        """The current secret, and the one it replaced while the overlap lasts."""
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            secrets.append(self.previous_secret)
        return secrets


class TerminalJob(msgspec.Struct, frozen=True, kw_only=True):
    """What the unit of work hands the outbox when a job ends."""

    job_id: str
    user_id: str
    event: HookEvent
    at: datetime
    webhook_url: str | None = None
    webhook_events: tuple[str, ...] | None = None

    @property
    def message_id(self) -> str:
        """One per job and event, the same for every endpoint and every retry (receivers
        de-duplicate on it)."""
        return f"msg_{self.job_id}_{self.event.removeprefix('job.')}"

    @property
    def wants_job_webhook(self) -> bool:
        return self.webhook_url is not None and (
            self.webhook_events is None or str(self.event) in self.webhook_events)


def terminal_job(job: Job) -> TerminalJob | None:
    """The outbox entry for a job just saved, when it has ended."""
    event = STATUS_EVENTS.get(job.status)
    if event is None:
        return None
    return TerminalJob(job_id=job.id, user_id=job.user_id, event=event,
                       at=job.completed_at or job.updated_at or job.created_at,
                       webhook_url=job.webhook_url, webhook_events=job.webhook_events)


def delivery_id(job_id: str, endpoint_id: str | None) -> str:
    return f"dlv_{job_id}_{endpoint_id or 'job'}"


class WebhookDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """One message to one target: an endpoint, or a job's own `webhook_url` (endpoint None)."""

    id: str
    message_id: str
    user_id: str
    job_id: str
    event_type: str
    created_at: datetime
    next_attempt_at: datetime | None
    endpoint_id: str | None = None
    url: str | None = None
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    payload: str | None = None
    lease_token: str | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    replay_of: str | None = None


class DeliveryAttempt(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    delivery_id: str
    attempted_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


class SendResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a target answered: a status code, or why there was none."""

    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def new_secret(random_bytes: bytes) -> str:
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the secret's decoded bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_header(secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    """Space-delimited signatures, one per secret (rotation signs with both)."""
    return " ".join(sign(secret, message_id, timestamp, body) for secret in secrets)


def after_failure(delivery: WebhookDelivery, result: SendResult, now: datetime,
                  schedule: Sequence[float]) -> WebhookDelivery:
    """Count the attempt; the next one per the schedule, or FAILED when it is spent."""
    attempts = delivery.attempts + 1
    done = attempts > len(schedule)
    return msgspec.structs.replace(
        delivery, attempts=attempts, lease_token=None, last_status_code=result.status_code,
        last_error=result.error, status=DeliveryStatus.FAILED if done else DeliveryStatus.PENDING,
        next_attempt_at=None if done else now + timedelta(seconds=schedule[attempts - 1]))


def after_success(delivery: WebhookDelivery, result: SendResult, now: datetime) -> WebhookDelivery:
    return msgspec.structs.replace(
        delivery, attempts=delivery.attempts + 1, lease_token=None, last_status_code=result.status_code,
        last_error=None, status=DeliveryStatus.DELIVERED, next_attempt_at=None, delivered_at=now)


def disable_reason(window: timedelta, result: SendResult) -> str:
    last = f"HTTP {result.status_code}" if result.status_code is not None else (result.error or "no answer")
    return f"every delivery failed for {window} without a break (last: {last})"[:500]


def check_target(url: str, allow_private: bool) -> str | None:
    """Why `url` cannot be a webhook target, or None. Names are resolved (and checked again)
    on every attempt by the sender; here only what the URL itself shows."""
    if len(url) > MAX_URL_LENGTH:
        return f"the URL is longer than {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port
    except ValueError as error:
        return f"the URL is malformed: {error}"
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        return "webhook URLs must be https"
    if not host or parts.username is not None or parts.password is not None:
        return "the URL needs a plain host (no user or password)"
    if allow_private:
        return None
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return "webhook URLs must point at a public host"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    return None if address.is_global else "webhook URLs must point at a public address"
