"""An EventBus decorator that writes one structured log line per pipeline event."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

import msgspec

from domain.events import DomainEvent, event_name
from domain.ports import EventBus

log = logging.getLogger("pixrelay.pipeline")

STAGES = {
    "job.created": "job.created",
    "job.started": "pipeline.start",
    "account.selected": "pipeline.account",
    "provider.submitted": "provider.submit",
    "provider.completed": "provider.complete",
    "asset.created": "pipeline.artifact",
    "job.completed": "pipeline.complete",
    "job.retrying": "pipeline.retry",
    "job.failed": "pipeline.fail",
    "job.cancelled": "pipeline.cancel",
}


class LoggingEventBus:
    def __init__(self, inner: EventBus) -> None:
        self._inner = inner

    async def publish(self, event: DomainEvent) -> None:
        fields = msgspec.structs.asdict(event)
        fields.pop("at", None)
        log.info(STAGES.get(event_name(event), event_name(event)), extra=fields)
        await self._inner.publish(event)

    def subscribe(self, job_id: str) -> AbstractAsyncContextManager[AsyncIterator[DomainEvent]]:
        return self._inner.subscribe(job_id)
