"""An endpoint's delivery log, and sending a delivery again."""

from __future__ import annotations

import msgspec
from returns.result import Failure, Result, Success

from application.actor import Actor
from application.webhooks.endpoints import owned
from domain.errors import DomainError, not_found, validation
from domain.outbound import DeliveryAttempt, DeliveryStatus, WebhookDelivery
from domain.pagination import Page, clamp_limit, decode_cursor
from domain.ports import Clock, IdGenerator, UnitOfWorkFactory


class DeliveryLog(msgspec.Struct, frozen=True):
    deliveries: Page[WebhookDelivery]
    attempts: dict[str, list[DeliveryAttempt]]


class ListDeliveries:
    """An endpoint's deliveries, newest first, each with every attempt: when, the status
    code or the error, how long it took, and when the next attempt is due.

    - Another user's endpoint is NOT_FOUND; `limit` 1..100; a malformed cursor is 422.
    """

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, endpoint_id: str, cursor: str | None = None,
                       limit: int | None = None) -> Result[DeliveryLog, DomainError]:
        after = decode_cursor(cursor)
        if isinstance(after, ValueError):
            return Failure(validation(str(after), "cursor"))
        async with self._uow() as uow:
            if await owned(uow, actor, endpoint_id) is None:
                return Failure(not_found("webhook endpoint"))
            page = await uow.hook_deliveries.page(endpoint_id, after, clamp_limit(limit))
            attempts = await uow.hook_deliveries.attempts([d.id for d in page.items])
        by_delivery: dict[str, list[DeliveryAttempt]] = {d.id: [] for d in page.items}
        for attempt in attempts:
            by_delivery[attempt.delivery_id].append(attempt)
        return Success(DeliveryLog(page, by_delivery))


class ListJobDeliveries:
    """Every webhook delivery of one of the caller's jobs (to endpoints and to the job's own
    `webhook_url`), oldest first, each with every attempt. Another user's job is NOT_FOUND."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, job_id: str) -> Result[DeliveryLog, DomainError]:
        async with self._uow() as uow:
            job = await uow.jobs.get(job_id)
            if job is None or job.user_id != actor.user_id:
                return Failure(not_found("job"))
            found = await uow.hook_deliveries.for_job(job_id)
            attempts = await uow.hook_deliveries.attempts([d.id for d in found])
        by_delivery: dict[str, list[DeliveryAttempt]] = {d.id: [] for d in found}
        for attempt in attempts:
            by_delivery[attempt.delivery_id].append(attempt)
        return Success(DeliveryLog(Page(items=found), by_delivery))


class ReplayDelivery:
    """Send one of an endpoint's deliveries again, now, as a new delivery.

    - Same `webhook-id` and the same body as the original (receivers that de-duplicate on
      the id see a repeat); a fresh signature and timestamp; retried like any delivery.
    - Another user's endpoint, or a delivery of another endpoint, is NOT_FOUND.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    async def __call__(self, actor: Actor, endpoint_id: str, delivery_id: str) -> Result[WebhookDelivery, DomainError]:
        now = self._clock.now()
        async with self._uow() as uow:
            endpoint = await owned(uow, actor, endpoint_id)
            original = await uow.hook_deliveries.get(delivery_id) if endpoint else None
            if original is None or original.endpoint_id != endpoint_id:
                return Failure(not_found("delivery"))
            replay = msgspec.structs.replace(
                original, id=f"dlv_{self._ids.new_id()}", created_at=now, next_attempt_at=now,
                status=DeliveryStatus.PENDING, attempts=0, lease_token=None, last_status_code=None,
                last_error=None, delivered_at=None, replay_of=original.id)
            await uow.hook_deliveries.add(replay)
            await uow.commit()
        return Success(replay)
