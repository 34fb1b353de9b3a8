"""Events are published only after their unit of work commits, best effort."""

from __future__ import annotations

from domain.events import DomainEvent
from domain.ports import EventBus


class Outbox:
    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def add(self, event: DomainEvent) -> None:
        self.events.append(event)

    async def flush(self, bus: EventBus) -> None:
        events, self.events = self.events, []
        for event in events:
            await bus.publish(event)
