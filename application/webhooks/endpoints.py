"""A user's outbound webhook endpoints: create, read, change, rotate the secret, remove."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime

import msgspec
from returns.result import Failure, Result, Success

from application.actor import Actor
from application.audit import AuditTrail
from application.policy import WebhookPolicy
from domain.errors import DomainError, conflict, not_found, validation
from domain.outbound import (
    ALL_EVENTS,
    MAX_ENDPOINTS_PER_USER,
    ROTATION_OVERLAP,
    SECRET_BYTES,
    HookEvent,
    WebhookEndpoint,
    check_target,
    new_secret,
)
from domain.ports import Clock, IdGenerator, RandomSource, UnitOfWork, UnitOfWorkFactory


def fresh_secret(random: RandomSource) -> str:
    token = random.token(SECRET_BYTES)  # url-safe base64 of that many random bytes
    return new_secret(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def checked_events(events: Sequence[str] | None) -> Result[tuple[str, ...], DomainError]:
    if events is None:
        return Success(tuple(str(e) for e in ALL_EVENTS))
    known = {str(e) for e in HookEvent}
    unknown = sorted(set(events) - known)
    if unknown:
        return Failure(validation(f"unknown events {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                                  "events"))
    if not events:
        return Failure(validation("name at least one event", "events"))
    return Success(tuple(dict.fromkeys(events)))


def checked_url(url: str, policy: WebhookPolicy) -> Result[str, DomainError]:
    why = check_target(url, policy.allow_private)
    return Failure(validation(why, "url")) if why else Success(url)


async def owned(uow: UnitOfWork, actor: Actor, endpoint_id: str) -> WebhookEndpoint | None:
    endpoint = await uow.hook_endpoints.get(endpoint_id)
    return endpoint if endpoint is not None and endpoint.user_id == actor.user_id else None


class CreatedEndpoint(msgspec.Struct, frozen=True):
    endpoint: WebhookEndpoint
    secret: str


class CreateWebhookEndpoint:
    """Register a URL that receives the caller's job events, signed per Standard Webhooks.

    - `url`: https and a public host (loopback and private hosts only where the server allows
      them); checked again, with its DNS answer, before every delivery.
    - `events` default to every event: `job.completed`, `job.failed`, `job.cancelled`.
    - The signing secret (`whsec_...`) is in this answer only; it is stored encrypted.
    - At most 20 endpoints per user.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, random: RandomSource,
                 policy: WebhookPolicy, audit: AuditTrail) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._random = random
        self._policy = policy
        self._audit = audit

    async def __call__(self, actor: Actor, url: str, events: Sequence[str] | None = None,
                       description: str | None = None) -> Result[CreatedEndpoint, DomainError]:
        checked = checked_url(url, self._policy).bind(lambda _: checked_events(events))
        if isinstance(checked, Failure):
            return Failure(checked.failure())
        secret = fresh_secret(self._random)
        endpoint = WebhookEndpoint(id=self._ids.new_id(), user_id=actor.user_id, url=url, events=checked.unwrap(),
                                   secret=secret, created_at=self._clock.now(), description=description)
        async with self._uow() as uow:
            if len(await uow.hook_endpoints.for_user(actor.user_id)) >= MAX_ENDPOINTS_PER_USER:
                return Failure(conflict(f"a user has at most {MAX_ENDPOINTS_PER_USER} webhook endpoints"))
            await uow.hook_endpoints.add(endpoint)
            await self._audit.record(uow, actor.user_id, "webhook_endpoint.create", "webhook_endpoint", endpoint.id,
                                     url=url, events=list(endpoint.events))
            await uow.commit()
        return Success(CreatedEndpoint(endpoint, secret))


class ListWebhookEndpoints:
    """The caller's webhook endpoints, oldest first (at most 20, so one page). No secrets."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor) -> Result[list[WebhookEndpoint], DomainError]:
        async with self._uow() as uow:
            return Success(await uow.hook_endpoints.for_user(actor.user_id))


class GetWebhookEndpoint:
    """One of the caller's endpoints (another user's is NOT_FOUND), with why it is disabled."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, endpoint_id: str) -> Result[WebhookEndpoint, DomainError]:
        async with self._uow() as uow:
            endpoint = await owned(uow, actor, endpoint_id)
        return Success(endpoint) if endpoint else Failure(not_found("webhook endpoint"))


class UpdateWebhookEndpoint:
    """Change an endpoint's `url`, `events` or `description`, or disable / re-enable it.

    - `disabled: true` stops its deliveries (they wait); `false` re-enables it, clears the
      reason and the failure streak, and its waiting deliveries go out again.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, policy: WebhookPolicy, audit: AuditTrail) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy
        self._audit = audit

    async def __call__(self, actor: Actor, endpoint_id: str, *, url: str | None = None,
                       events: Sequence[str] | None = None, description: str | None = None,
                       disabled: bool | None = None) -> Result[WebhookEndpoint, DomainError]:
        if url is not None and isinstance(checked := checked_url(url, self._policy), Failure):
            return Failure(checked.failure())
        chosen = checked_events(events) if events is not None else None
        if isinstance(chosen, Failure):
            return Failure(chosen.failure())
        now = self._clock.now()
        async with self._uow() as uow:
            endpoint = await owned(uow, actor, endpoint_id)
            if endpoint is None:
                return Failure(not_found("webhook endpoint"))
            changed = msgspec.structs.replace(
                endpoint, url=url or endpoint.url, events=chosen.unwrap() if chosen else endpoint.events,
                description=description if description is not None else endpoint.description, updated_at=now)
            changed = _with_disabled(changed, disabled, now)
            await uow.hook_endpoints.update(changed)
            await self._audit.record(uow, actor.user_id, "webhook_endpoint.update", "webhook_endpoint", endpoint.id,
                                     url=changed.url, events=list(changed.events), disabled=changed.disabled_at is not None)
            await uow.commit()
        return Success(changed)


def _with_disabled(endpoint: WebhookEndpoint, disabled: bool | None, now: datetime) -> WebhookEndpoint:
    if disabled is True and endpoint.disabled_at is None:
        return msgspec.structs.replace(endpoint, disabled_at=now, disabled_reason="disabled by its owner")
    if disabled is False:
        return msgspec.structs.replace(endpoint, disabled_at=None, disabled_reason=None, failing_since=None)
    return endpoint


class DeleteWebhookEndpoint:
    """Remove one of the caller's endpoints, with its delivery log."""

    def __init__(self, uow: UnitOfWorkFactory, audit: AuditTrail) -> None:
        self._uow = uow
        self._audit = audit

    async def __call__(self, actor: Actor, endpoint_id: str) -> Result[None, DomainError]:
        async with self._uow() as uow:
            endpoint = await owned(uow, actor, endpoint_id)
            if endpoint is None:
                return Failure(not_found("webhook endpoint"))
            await uow.hook_endpoints.delete(endpoint_id)
            await self._audit.record(uow, actor.user_id, "webhook_endpoint.delete", "webhook_endpoint", endpoint_id)
            await uow.commit()
        return Success(None)


class RotateWebhookSecret:
    """Give an endpoint a new signing secret, shown in this answer only.

    - For 24 hours the old secret keeps signing beside the new one (two signatures in
      `webhook-signature`), so receivers can switch without losing a delivery.
    - Rotating again within those 24 hours drops the oldest secret.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, random: RandomSource, audit: AuditTrail) -> None:
        self._uow = uow
        self._clock = clock
        self._random = random
        self._audit = audit

    async def __call__(self, actor: Actor, endpoint_id: str) -> Result[CreatedEndpoint, DomainError]:
        now = self._clock.now()
        secret = fresh_secret(self._random)
        async with self._uow() as uow:
            endpoint = await owned(uow, actor, endpoint_id)
            if endpoint is None:
                return Failure(not_found("webhook endpoint"))
            rotated = msgspec.structs.replace(endpoint, secret=secret, previous_secret=endpoint.secret,
                                              previous_secret_until=now + ROTATION_OVERLAP, updated_at=now)
            await uow.hook_endpoints.update(rotated)
            await self._audit.record(uow, actor.user_id, "webhook_endpoint.rotate_secret", "webhook_endpoint",
                                     endpoint_id)
            await uow.commit()
        return Success(CreatedEndpoint(rotated, secret))


class GetSigningSecret:
    """The caller's default signing secret: it signs the deliveries to a job's own
    `webhook_url`. Made on first use (here, or at the first such delivery); the same after."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, random: RandomSource) -> None:
        self._uow = uow
        self._clock = clock
        self._random = random

    async def __call__(self, actor: Actor) -> Result[str, DomainError]:
        async with self._uow() as uow:
            secret = await uow.hook_endpoints.signing_key(actor.user_id, fresh_secret(self._random), self._clock.now())
            await uow.commit()
        return Success(secret)
