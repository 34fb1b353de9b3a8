"""In-memory outbound webhooks: endpoints, signing keys, deliveries and attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec

from adapters.memory.jobs import InMemoryJobRepository
from adapters.memory.paging import paginate
from adapters.memory.store import MemoryState
from domain.jobs import Job
from domain.outbound import (
    EVENT_BITS,
    DeliveryAttempt,
    DeliveryStatus,
    TerminalJob,
    WebhookDelivery,
    WebhookEndpoint,
    delivery_id,
    terminal_job,
)
from domain.pagination import Cursor, Page


class InMemoryWebhookEndpointRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, endpoint: WebhookEndpoint) -> None:
        self._state.hook_endpoints[endpoint.id] = endpoint

    async def get(self, endpoint_id: str) -> WebhookEndpoint | None:
        return self._state.hook_endpoints.get(endpoint_id)

    async def for_user(self, user_id: str) -> list[WebhookEndpoint]:
        mine = (e for e in self._state.hook_endpoints.values() if e.user_id == user_id)
        return sorted(mine, key=lambda e: (e.created_at, e.id))

    async def update(self, endpoint: WebhookEndpoint) -> None:
        if endpoint.id in self._state.hook_endpoints:
            self._state.hook_endpoints[endpoint.id] = endpoint

    async def delete(self, endpoint_id: str) -> bool:
        gone = {d.id for d in self._state.hook_deliveries.values() if d.endpoint_id == endpoint_id}
        for key in gone:
            del self._state.hook_deliveries[key]
        self._state.hook_attempts = [a for a in self._state.hook_attempts if a.delivery_id not in gone]
        return self._state.hook_endpoints.pop(endpoint_id, None) is not None

    async def record_success(self, endpoint_id: str) -> None:
        endpoint = self._state.hook_endpoints.get(endpoint_id)
        if endpoint is not None and endpoint.failing_since is not None:
            self._state.hook_endpoints[endpoint_id] = msgspec.structs.replace(endpoint, failing_since=None)

    async def record_failure(self, endpoint_id: str, now: datetime, disable_before: datetime,
                             reason: str) -> bool:
        endpoint = self._state.hook_endpoints.get(endpoint_id)
        if endpoint is None:
            return False
        since = endpoint.failing_since or now
        disabling = endpoint.disabled_at is None and since <= disable_before
        self._state.hook_endpoints[endpoint_id] = msgspec.structs.replace(
            endpoint, failing_since=since,
            disabled_at=now if disabling else endpoint.disabled_at,
            disabled_reason=reason if disabling else endpoint.disabled_reason)
        return disabling

    async def signing_key(self, user_id: str, candidate: str, now: datetime) -> str:
        return self._state.hook_keys.setdefault(user_id, candidate)


class InMemoryWebhookDeliveryRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def enqueue(self, ended: Sequence[TerminalJob]) -> None:
        for job in ended:
            bit = EVENT_BITS[job.event]
            targets: list[tuple[str | None, str | None]] = [
                (e.id, None) for e in self._state.hook_endpoints.values()
                if e.user_id == job.user_id and e.disabled_at is None and e.event_mask & bit]
            if job.wants_job_webhook:
                targets.append((None, job.webhook_url))
            for endpoint_id, url in targets:
                delivery = WebhookDelivery(
                    id=delivery_id(job.job_id, endpoint_id), message_id=job.message_id, user_id=job.user_id,
                    job_id=job.job_id, event_type=str(job.event), created_at=job.at, next_attempt_at=job.at,
                    endpoint_id=endpoint_id, url=url)
                self._state.hook_deliveries.setdefault(delivery.id, delivery)

    async def add(self, delivery: WebhookDelivery) -> None:
        self._state.hook_deliveries[delivery.id] = delivery

    async def get(self, delivery_id: str) -> WebhookDelivery | None:
        return self._state.hook_deliveries.get(delivery_id)

    async def claim_due(self, now: datetime, lease_token: str, lease_until: datetime,
                        limit: int) -> list[WebhookDelivery]:
        endpoints = self._state.hook_endpoints

        def claimable(d: WebhookDelivery) -> bool:
            endpoint = endpoints.get(d.endpoint_id) if d.endpoint_id else None
            return (d.status is DeliveryStatus.PENDING and d.next_attempt_at is not None
                    and d.next_attempt_at <= now
                    and (d.endpoint_id is None or (endpoint is not None and endpoint.disabled_at is None)))

        due = sorted(filter(claimable, self._state.hook_deliveries.values()),
                     key=lambda d: (d.next_attempt_at or now, d.id))[:max(limit, 0)]
        leased = [msgspec.structs.replace(d, lease_token=lease_token, next_attempt_at=lease_until) for d in due]
        for delivery in leased:
            self._state.hook_deliveries[delivery.id] = delivery
        return sorted(leased, key=lambda d: (d.created_at, d.id))

    async def save(self, delivery: WebhookDelivery, lease_token: str) -> bool:
        stored = self._state.hook_deliveries.get(delivery.id)
        if stored is None or stored.lease_token != lease_token:
            return False
        self._state.hook_deliveries[delivery.id] = delivery
        return True

    async def add_attempt(self, attempt: DeliveryAttempt) -> None:
        self._state.hook_attempts.append(attempt)

    async def page(self, endpoint_id: str, after: Cursor | None, limit: int) -> Page[WebhookDelivery]:
        mine = (d for d in self._state.hook_deliveries.values() if d.endpoint_id == endpoint_id)
        return paginate(mine, lambda d: (d.created_at, d.id), after, limit)

    async def for_job(self, job_id: str) -> list[WebhookDelivery]:
        return sorted((d for d in self._state.hook_deliveries.values() if d.job_id == job_id),
                      key=lambda d: (d.created_at, d.id))

    async def attempts(self, delivery_ids: Sequence[str]) -> list[DeliveryAttempt]:
        wanted = set(delivery_ids)
        return sorted((a for a in self._state.hook_attempts if a.delivery_id in wanted),
                      key=lambda a: (a.attempted_at, a.id))


class OutboxJobRepository(InMemoryJobRepository):
    """Jobs that note each job saved in a terminal state, for the unit of work's outbox."""

    def __init__(self, state: MemoryState, ended: list[TerminalJob]) -> None:
        super().__init__(state)
        self._ended = ended

    async def save(self, job: Job, expected_version: int) -> bool:
        saved = await super().save(job, expected_version)
        entry = terminal_job(job) if saved else None
        if entry is not None:
            self._ended.append(entry)
        return saved
