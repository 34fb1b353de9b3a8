"""Wake idle workers in every process through Redis pub/sub."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from adapters.redis.client import log_failure

log = logging.getLogger(__name__)

CHANNEL = "pixrelay:work"
_SUBSCRIBE_TIMEOUT = 2.0


class RedisWorkSignal:
    """`notify` publishes on one channel; each instance keeps one subscription to it, opened
    by the first `wait` and read by a background task, so a waiter that is cancelled (the
    worker does that whenever a job ends first) never interrupts a read from Redis.

    Best effort, like the in-process signal: workers poll anyway. A failed publish is logged;
    while Redis is unreachable `wait` sleeps its full time (plain polling) and the next wait
    subscribes again. A notify that arrives while nobody waits wakes the next wait, and
    several of those wake it once."""

    def __init__(self, redis: Redis, channel: str = CHANNEL) -> None:
        self._redis = redis
        self._channel = channel
        self._woken = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self._opening = asyncio.Lock()

    async def notify(self) -> None:
        try:
            await self._redis.publish(self._channel, b"work")
        except RedisError as error:
            log_failure(log, "work.notify_failed", error)

    async def wait(self, seconds: float) -> bool:
        if not await self._listening():
            await asyncio.sleep(seconds)
            return False
        try:
            await asyncio.wait_for(self._woken.wait(), seconds)
        except TimeoutError:
            return False
        self._woken.clear()
        return True

    async def aclose(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listening(self) -> bool:
        async with self._opening:
            if self._listener is not None and not self._listener.done():
                return True
            pubsub = self._redis.pubsub()
            try:
                async with asyncio.timeout(_SUBSCRIBE_TIMEOUT):
                    await pubsub.subscribe(self._channel)
                    await _confirmed(pubsub)
            except (RedisError, OSError, TimeoutError) as error:
                log_failure(log, "work.subscribe_failed", error)
                await _close(pubsub)
                return False
            self._listener = asyncio.create_task(self._listen(pubsub), name="work-signal")
            return True

    async def _listen(self, pubsub: PubSub) -> None:
        try:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    self._woken.set()
        except (RedisError, OSError) as error:
            log_failure(log, "work.subscription_lost", error)
        finally:
            await _close(pubsub)


async def _confirmed(pubsub: PubSub) -> None:
    """Returns once Redis has confirmed the subscription: every later notify reaches us."""
    while True:
        message = await pubsub.get_message(timeout=_SUBSCRIBE_TIMEOUT)
        if message is not None and message["type"] == "subscribe":
            return


async def _close(pubsub: PubSub) -> None:
    with contextlib.suppress(RedisError, OSError):
        await pubsub.aclose()  # type: ignore[no-untyped-call]
