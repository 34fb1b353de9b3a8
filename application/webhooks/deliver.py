"""Deliver due webhooks: claim with a lease, sign, send, record the attempt, retry or give up."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import msgspec

from application.policy import WebhookPolicy
from application.webhooks.endpoints import fresh_secret
from application.webhooks.payload import PayloadRenderer
from domain.outbound import (
    DeliveryAttempt,
    SendResult,
    WebhookDelivery,
    WebhookEndpoint,
    after_failure,
    after_success,
    disable_reason,
    signature_header,
)
from domain.ports import Clock, IdGenerator, RandomSource, UnitOfWorkFactory, WebhookSender

log = logging.getLogger("pixrelay.webhooks")


class Target(msgspec.Struct, frozen=True):
    url: str
    secrets: list[str]
    delivery: WebhookDelivery  # with its payload


class DeliverWebhooks:
    """One round of the delivery loop; how many deliveries it attempted.

    - Claims due deliveries with a lease (a worker killed mid-delivery loses nothing: the
      lease runs out and another worker sends it again; at least once).
    - The body is made at the first attempt and kept, so every retry and replay sends the
      same bytes; every attempt is signed afresh (`webhook-id`, `webhook-timestamp`,
      `webhook-signature` with every valid secret of the endpoint).
    - Each attempt is logged. A 2xx is delivered; anything else is retried on the schedule
      (over a day by default), then the delivery is failed.
    - An endpoint failing without a break for `disable_after` is disabled, with the reason;
      its pending deliveries wait until it is enabled again.
    """

    def __init__(self, uow: UnitOfWorkFactory, sender: WebhookSender, renderer: PayloadRenderer, clock: Clock,
                 ids: IdGenerator, random: RandomSource, policy: WebhookPolicy) -> None:
        self._uow = uow
        self._sender = sender
        self._renderer = renderer
        self._clock = clock
        self._ids = ids
        self._random = random
        self._policy = policy

    async def __call__(self, limit: int | None = None) -> int:
        now = self._clock.now()
        token = self._ids.new_id()
        async with self._uow() as uow:
            claimed = await uow.hook_deliveries.claim_due(now, token, now + self._policy.lease,
                                                          limit or self._policy.claim_batch)
            await uow.commit()
        outcomes = await asyncio.gather(*(self._deliver(d, token) for d in claimed), return_exceptions=True)
        for delivery, outcome in zip(claimed, outcomes, strict=True):
            if isinstance(outcome, Exception):  # its lease runs out and it is tried again
                log.error("webhook.delivery_crashed", exc_info=outcome, extra={"delivery_id": delivery.id})
            elif isinstance(outcome, BaseException):
                raise outcome
        return len(claimed)

    async def _deliver(self, delivery: WebhookDelivery, token: str) -> None:
        target = await self._target(delivery)
        if target is None:
            return
        body = (target.delivery.payload or "").encode()
        now = self._clock.now()
        timestamp = int(now.timestamp())
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(target.secrets, delivery.message_id, timestamp, body),
        }
        result = await self._sender.send(target.url, headers, body)
        await self._record(target.delivery, token, result, self._clock.now())

    async def _target(self, delivery: WebhookDelivery) -> Target | None:
        """Where to, signed with what, saying what; None when there is nothing to send
        (the endpoint was removed, or disabled since the claim: the delivery waits)."""
        now = self._clock.now()
        async with self._uow() as uow:
            endpoint: WebhookEndpoint | None = None
            if delivery.endpoint_id is not None:
                endpoint = await uow.hook_endpoints.get(delivery.endpoint_id)
                if endpoint is None or endpoint.disabled_at is not None:
                    return None
                secrets = endpoint.signing_secrets(now)
            else:
                secrets = [await uow.hook_endpoints.signing_key(delivery.user_id, fresh_secret(self._random), now)]
            if delivery.payload is None:
                job = await uow.jobs.get(delivery.job_id)
                assets = await uow.assets.many(job.result_asset_ids) if job else []
                delivery = msgspec.structs.replace(
                    delivery, payload=self._renderer.render(delivery, job, assets).decode())
            await uow.commit()
        url = endpoint.url if endpoint is not None else delivery.url
        return Target(url or "", secrets, delivery)

    async def _record(self, delivery: WebhookDelivery, token: str, result: SendResult, now: datetime) -> None:
        schedule = self._policy.retry_schedule
        done = after_success(delivery, result, now) if result.ok else after_failure(delivery, result, now, schedule)
        async with self._uow() as uow:
            if not await uow.hook_deliveries.save(done, token):
                return  # the lease ran out meanwhile: the delivery is another worker's now
            await uow.hook_deliveries.add_attempt(DeliveryAttempt(
                id=self._ids.new_id(), delivery_id=delivery.id, attempted_at=now, duration_ms=result.duration_ms,
                status_code=result.status_code, error=result.error, next_attempt_at=done.next_attempt_at))
            disabled = False
            if delivery.endpoint_id is not None and result.ok:
                await uow.hook_endpoints.record_success(delivery.endpoint_id)
            elif delivery.endpoint_id is not None:
                disabled = await uow.hook_endpoints.record_failure(
                    delivery.endpoint_id, now, now - self._policy.disable_after,
                    disable_reason(self._policy.disable_after, result))
            await uow.commit()
        log.info("webhook.attempt", extra={
            "delivery_id": delivery.id, "job_id": delivery.job_id, "endpoint_id": delivery.endpoint_id,
            "status_code": result.status_code, "error": result.error, "duration_ms": result.duration_ms,
            "attempt": done.attempts, "outcome": str(done.status)})
        if disabled:
            log.warning("webhook.endpoint_disabled", extra={"endpoint_id": delivery.endpoint_id})
