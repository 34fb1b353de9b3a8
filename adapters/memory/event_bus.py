"""Per-job event fan-out inside one process."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from domain.events import DomainEvent


class InMemoryEventBus:
    """Each subscriber gets its own bounded queue. A subscriber that falls `queue_size`
    events behind loses the oldest ones: publishers never wait for readers (events are a
    live view; the job itself is the truth)."""

    def __init__(self, queue_size: int = 256) -> None:
        self._queue_size = queue_size
        self._queues: defaultdict[str, set[asyncio.Queue[DomainEvent]]] = defaultdict(set)

    async def publish(self, event: DomainEvent) -> None:
        for queue in self._queues.get(event.job_id, ()):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    def subscriber_count(self, job_id: str) -> int:
        return len(self._queues.get(job_id, ()))

    @asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[AsyncIterator[DomainEvent]]:
        queue: asyncio.Queue[DomainEvent] = asyncio.Queue(self._queue_size)
        self._queues[job_id].add(queue)
        try:
            yield _drain(queue)
        finally:
            subscribers = self._queues[job_id]
            subscribers.discard(queue)
            if not subscribers:
                del self._queues[job_id]


async def _drain(queue: asyncio.Queue[DomainEvent]) -> AsyncIterator[DomainEvent]:
    while True:
        yield await queue.get()
