"""The delivery loop a worker runs beside its jobs: deliver what is due, else wait a moment."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from application.webhooks.deliver import DeliverWebhooks
from entrypoints.faults import is_infrastructure_fault

log = logging.getLogger("pixrelay.webhooks")


class WebhookLoop:
    """Claims due deliveries in batches while there are any; idle, looks again every
    `idle_seconds`. A database fault backs off; a bug in one round is logged, not fatal.
    On stop, the round in flight finishes (attempts are short: 10 s at most)."""

    def __init__(self, deliver: DeliverWebhooks, *, idle_seconds: float = 1.0) -> None:
        self._deliver = deliver
        self._idle_seconds = idle_seconds

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                sent = await self._deliver()
                failures = 0
            except Exception as error:
                failures += 1
                if is_infrastructure_fault(error):
                    log.warning("webhook.round_failed", extra={"error": repr(error), "failures": failures})
                else:
                    log.exception("webhook.round_crashed")
                await self._sleep(stop, min(30.0, 0.5 * 2**failures))
                continue
            if not sent:
                await self._sleep(stop, self._idle_seconds)

    async def _sleep(self, stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
