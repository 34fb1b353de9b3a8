"""The EventBus contract, passed by every adapter: memory and Redis pub/sub."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from adapters.memory.event_bus import InMemoryEventBus
from adapters.redis.event_bus import RedisEventBus, channel
from domain.events import DomainEvent, JobCancelled, JobStarted
from domain.ports import EventBus
from tests.services_redis import RedisNamespace

AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DELIVERY_TIMEOUT = 2.0


@dataclass
class Subject:
    bus: EventBus
    subscribers: Callable[[str], Coroutine[Any, Any, int]]
    """How many subscriptions the backend holds for a job."""


@asynccontextmanager
async def memory_subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    bus = InMemoryEventBus()

    async def subscribers(job_id: str) -> int:
        return bus.subscriber_count(job_id)

    yield Subject(bus, subscribers)


@asynccontextmanager
async def redis_subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    namespace: RedisNamespace = request.getfixturevalue("redis_namespace")
    async with namespace.client() as client:
        async def subscribers(job_id: str) -> int:
            [(_, count)] = await client.pubsub_numsub(channel(job_id))
            return int(count)

        yield Subject(RedisEventBus(client), subscribers)


SUBJECTS = {"memory": memory_subject, "redis": redis_subject}


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


@pytest.fixture(params=list(SUBJECTS))
def subject(request: pytest.FixtureRequest, runner: asyncio.Runner) -> Iterator[Subject]:
    stack = AsyncExitStack()
    subject = runner.run(stack.enter_async_context(SUBJECTS[request.param](request)))
    try:
        yield subject
    finally:
        runner.run(stack.aclose())


def new_job() -> str:
    return f"job-{uuid4().hex}"  # unique: the Redis server may be shared with other runs


def started(job_id: str, attempt: int) -> JobStarted:
    return JobStarted(job_id=job_id, user_id="u1", at=AT, attempt=attempt)


async def receive(events: AsyncIterator[DomainEvent], count: int) -> list[DomainEvent]:
    async with asyncio.timeout(DELIVERY_TIMEOUT):
        return [await anext(events) for _ in range(count)]


def test_a_subscriber_gets_its_jobs_events_in_order(subject: Subject, runner: asyncio.Runner) -> None:
    mine, other = new_job(), new_job()
    sent: list[DomainEvent] = [started(mine, 1), started(other, 1), started(mine, 2),
            JobCancelled(job_id=mine, user_id="u1", at=AT)]

    async def scenario() -> list[DomainEvent]:
        async with subject.bus.subscribe(mine) as events:
            for event in sent:
                await subject.bus.publish(event)
            return await receive(events, 3)

    # The other job's event was published before two of mine: had it leaked, it would be here.
    assert runner.run(scenario()) == [sent[0], sent[2], sent[3]]


def test_every_subscriber_gets_every_event(subject: Subject, runner: asyncio.Runner) -> None:
    job = new_job()
    sent = [started(job, 1), started(job, 2)]

    async def scenario() -> tuple[list[DomainEvent], list[DomainEvent]]:
        async with subject.bus.subscribe(job) as first, subject.bus.subscribe(job) as second:
            for event in sent:
                await subject.bus.publish(event)
            return await receive(first, 2), await receive(second, 2)

    assert runner.run(scenario()) == (sent, sent)


def test_leaving_the_subscription_stops_delivery(subject: Subject, runner: asyncio.Runner) -> None:
    job = new_job()

    async def scenario() -> tuple[int, int, list[DomainEvent]]:
        async with subject.bus.subscribe(job) as staying:
            async with subject.bus.subscribe(job):
                during = await subject.subscribers(job)
            after = await subject.subscribers(job)
            await subject.bus.publish(started(job, 1))
            return during, after, await receive(staying, 1)

    assert runner.run(scenario()) == (2, 1, [started(job, 1)])
    assert runner.run(subject.subscribers(job)) == 0


def test_events_published_before_subscribing_are_not_replayed(
        subject: Subject, runner: asyncio.Runner) -> None:
    job = new_job()

    async def scenario() -> list[DomainEvent]:
        await subject.bus.publish(started(job, 1))
        async with subject.bus.subscribe(job) as events:
            await subject.bus.publish(started(job, 2))
            return await receive(events, 1)

    assert runner.run(scenario()) == [started(job, 2)]


def test_memory_bus_drops_the_oldest_events_of_a_slow_subscriber() -> None:
    bus = InMemoryEventBus(queue_size=2)
    job = new_job()

    async def scenario() -> list[DomainEvent]:
        async with bus.subscribe(job) as events:
            for attempt in (1, 2, 3):
                await bus.publish(started(job, attempt))
            return await receive(events, 2)

    assert asyncio.run(scenario()) == [started(job, 2), started(job, 3)]


def test_redis_bus_publish_survives_redis_being_down(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def scenario() -> None:
        async with Redis(host="127.0.0.1", port=port, retry=Retry(NoBackoff(), 0)) as client:
            await RedisEventBus(client).publish(started(new_job(), 1))

    with caplog.at_level(logging.DEBUG, logger="adapters.redis.event_bus"):
        asyncio.run(scenario())
    assert "events.publish_failed" in caplog.text
