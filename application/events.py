"""Domain events wait for their unit of work to commit, then are published, best effort.

Not the transactional webhook outbox (adapters/*/outbound.py): these events are
fire-and-forget notifications for live listeners (job event streams, metrics)."""

from __future__ import annotations

from domain.events import DomainEvent
from domain.ports import EventBus


class AfterCommit:
    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def add(self, event: DomainEvent) -> None:
        self.events.append(event)

    async def flush(self, bus: EventBus) -> None:
        events, self.events = self.events, []
        for event in events:
            await bus.publish(event)
