"""Provider callbacks: verified, deduplicated, and turned into an immediate poll."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from returns.result import Failure, Result, Success

from application.audit import AuditTrail
from domain.errors import DomainError, not_found
from domain.ports import Clock, ProviderRegistry, UnitOfWorkFactory, WebhookVerifier, WorkSignal


class WebhookOutcome(msgspec.Struct, frozen=True, kw_only=True):
    job_id: str | None  # None when no job of ours has that provider job (yet)
    duplicate: bool = False


class AcceptWebhook:
    """A provider says one of its jobs changed.

    - The provider's signature is the authentication: unsigned, badly signed or stale
      deliveries (outside 5 minutes) are 401 UNAUTHENTICATED; providers that send no
      webhooks are 404.
    - A delivery id seen before is acknowledged and ignored (replays change nothing).
    - The callback does not decide the job's fate: it makes the job's next poll due now
      (without taking the job from the worker that holds it, which polls it within one
      poll cycle) and wakes the workers, so the provider's status API stays the single source of truth
      and polling remains the fallback when webhooks stop.
    """

    def __init__(self, uow: UnitOfWorkFactory, providers: ProviderRegistry, clock: Clock,
                 audit: AuditTrail, signal: WorkSignal) -> None:
        self._uow = uow
        self._providers = providers
        self._clock = clock
        self._audit = audit
        self._signal = signal

    async def __call__(self, provider_id: str, headers: Mapping[str, str],
                       body: bytes) -> Result[WebhookOutcome, DomainError]:
        client = self._providers.get(provider_id)
        if client is None or not isinstance(client, WebhookVerifier):
            return Failure(not_found("provider"))
        now = self._clock.now()
        verified = client.verify_webhook(headers, body, now)
        if isinstance(verified, Failure):
            return Failure(verified.failure())
        event = verified.unwrap()
        async with self._uow() as uow:
            if not await uow.webhooks.remember(provider_id, event.webhook_id, now):
                return Success(WebhookOutcome(job_id=None, duplicate=True))
            job = await uow.jobs.find_by_provider_job_id(provider_id, event.provider_job_id)
            # Held or not: the worker holding a job sees the poke at its next lease renewal.
            poked = job is not None and await uow.jobs.poke(job.id, now)
            await self._audit.record(uow, None, "webhook.receive", "job", job.id if job else event.provider_job_id,
                                     provider_id=provider_id, webhook_id=event.webhook_id)
            await uow.commit()
        if poked:
            await self._signal.notify()
        return Success(WebhookOutcome(job_id=job.id if job else None))
