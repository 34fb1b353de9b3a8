"""Per-job events across processes through Redis pub/sub."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from adapters.redis.client import log_failure
from domain.events import DomainEvent, JobCreated, decode, encode

log = logging.getLogger(__name__)

_SUBSCRIBE_TIMEOUT = 5.0


def channel(job_id: str) -> str:
    return f"pixrelay:job:{job_id}"


class RedisEventBus:
    """Best effort, like every pub/sub: events published while nobody listens are gone,
    and a failed publish is logged, not raised. The database is the truth; events are
    the live view of it."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def publish(self, event: DomainEvent) -> None:
        if isinstance(event, JobCreated):
            # Nobody can follow a job before its creation is answered (its id is not known
            # yet), so the event would reach no one: one Redis command less per submit.
            return
        try:
            await self._redis.publish(channel(event.job_id), encode(event))
        except RedisError as error:
            log_failure(log, "events.publish_failed", error, event_type=type(event).__name__, job_id=event.job_id)

    @asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[AsyncIterator[DomainEvent]]:
        """Entered once Redis has confirmed the subscription, so every event published
        after entering is delivered."""
        async with self._redis.pubsub() as pubsub:
            await pubsub.subscribe(channel(job_id))
            await _confirmed(pubsub)
            yield _events(pubsub)


async def _confirmed(pubsub: PubSub) -> None:
    async with asyncio.timeout(_SUBSCRIBE_TIMEOUT):
        while True:
            message = await pubsub.get_message(timeout=_SUBSCRIBE_TIMEOUT)
            if message is not None and message["type"] == "subscribe":
                return


async def _events(pubsub: PubSub) -> AsyncIterator[DomainEvent]:
    async for message in pubsub.listen():
        if message["type"] != "message":
            continue
        try:
            event = decode(message["data"])
        except msgspec.DecodeError as error:  # ValidationError is a DecodeError
            log.warning("undecodable event on %r skipped: %s", message["channel"], error)
            continue
        yield event
