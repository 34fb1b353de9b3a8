"""The WorkSignal contract, passed by every adapter: in-process and Redis pub/sub."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from adapters.memory.signal import InProcessWorkSignal
from adapters.redis.work_signal import CHANNEL, RedisWorkSignal
from domain.ports import WorkSignal
from tests.services_redis import RedisNamespace

WAKE_TIMEOUT = 2.0


@dataclass
class Subject:
    signal: WorkSignal
    warm_up: Callable[[], object]
    """Makes the signal listen (Redis subscribes on the first wait)."""


@asynccontextmanager
async def memory_subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    signal = InProcessWorkSignal()
    yield Subject(signal, lambda: signal.wait(0.01))


@asynccontextmanager
async def redis_subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    namespace: RedisNamespace = request.getfixturevalue("redis_namespace")
    async with namespace.client() as client:
        signal = RedisWorkSignal(client, channel=namespace.key("work"))
        try:
            yield Subject(signal, lambda: signal.wait(0.01))
        finally:
            await signal.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def subject(request: pytest.FixtureRequest, runner: asyncio.Runner) -> Iterator[Subject]:
    make = memory_subject if request.param == "memory" else redis_subject
    stack = AsyncExitStack()
    subject = runner.run(stack.enter_async_context(make(request)))
    try:
        yield subject
    finally:
        runner.run(stack.aclose())


async def listening(subject: Subject) -> None:
    assert await subject.warm_up() is False  # type: ignore[misc]


def test_notify_wakes_a_waiter(subject: Subject, runner: asyncio.Runner) -> None:
    async def scenario() -> bool:
        await listening(subject)
        waiter = asyncio.create_task(subject.signal.wait(WAKE_TIMEOUT))
        await asyncio.sleep(0.05)
        await subject.signal.notify()
        return await waiter

    started = time.monotonic()
    assert runner.run(scenario()) is True
    assert time.monotonic() - started < WAKE_TIMEOUT


def test_wait_times_out_with_false(subject: Subject, runner: asyncio.Runner) -> None:
    runner.run(listening(subject))
    started = time.monotonic()
    assert runner.run(subject.signal.wait(0.2)) is False
    assert 0.15 <= time.monotonic() - started < 1.5


def test_a_notify_nobody_waited_for_wakes_the_next_wait_once(subject: Subject, runner: asyncio.Runner) -> None:
    async def scenario() -> tuple[bool, bool]:
        await listening(subject)
        await subject.signal.notify()
        await subject.signal.notify()
        await asyncio.sleep(0.1)  # both delivered before anyone waits
        return await subject.signal.wait(WAKE_TIMEOUT), await subject.signal.wait(0.2)

    assert runner.run(scenario()) == (True, False)


def test_a_cancelled_waiter_leaves_the_signal_working(subject: Subject, runner: asyncio.Runner) -> None:
    async def scenario() -> bool:
        await listening(subject)
        abandoned = asyncio.create_task(subject.signal.wait(WAKE_TIMEOUT))
        await asyncio.sleep(0.05)
        abandoned.cancel()  # the worker does this whenever a job ends before a wake-up
        await asyncio.gather(abandoned, return_exceptions=True)
        waiter = asyncio.create_task(subject.signal.wait(WAKE_TIMEOUT))
        await asyncio.sleep(0.05)
        await subject.signal.notify()
        return await waiter

    assert runner.run(scenario()) is True


# ------------------------------------------------------------------ Redis only


@pytest.mark.redis
def test_a_notify_from_another_client_wakes_the_waiter(redis_namespace: RedisNamespace,
                                                       runner: asyncio.Runner) -> None:
    async def scenario() -> tuple[bool, int]:
        async with redis_namespace.client() as worker_side, redis_namespace.client() as api_side:
            channel = redis_namespace.key("work")
            waiting = RedisWorkSignal(worker_side, channel=channel)
            notifying = RedisWorkSignal(api_side, channel=channel)
            try:
                assert await waiting.wait(0.01) is False
                waiter = asyncio.create_task(waiting.wait(WAKE_TIMEOUT))
                await asyncio.sleep(0.05)
                await notifying.notify()
                woken = await waiter
            finally:
                await waiting.aclose()
            [(_, subscribers)] = await api_side.pubsub_numsub(channel)
            return woken, int(subscribers)

    assert runner.run(scenario()) == (True, 0)  # and aclose let go of the subscription


@pytest.mark.redis
def test_the_default_channel_is_pixrelay_work(redis_url: str, runner: asyncio.Runner) -> None:
    async def scenario() -> object:
        async with Redis.from_url(redis_url) as client, client.pubsub() as pubsub:
            await pubsub.subscribe("pixrelay:work")
            assert (await pubsub.get_message(timeout=WAKE_TIMEOUT) or {}).get("type") == "subscribe"
            await RedisWorkSignal(client).notify()
            message = await pubsub.get_message(timeout=WAKE_TIMEOUT)
            return message and message["channel"]

    assert CHANNEL == "pixrelay:work"
    assert runner.run(scenario()) == b"pixrelay:work"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_without_redis_notify_is_quiet_and_wait_polls(runner: asyncio.Runner,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[bool, float]:
        async with Redis(host="127.0.0.1", port=closed_port(), socket_connect_timeout=0.5,
                         retry=Retry(NoBackoff(), 0)) as client:
            signal = RedisWorkSignal(client)
            await signal.notify()
            started = time.monotonic()
            woken = await signal.wait(0.3)
            elapsed = time.monotonic() - started
            await signal.aclose()
            return woken, elapsed

    caplog.set_level(logging.DEBUG, logger="adapters.redis.work_signal")
    woken, elapsed = runner.run(scenario())
    assert woken is False and 0.3 <= elapsed < 10
    assert "work.notify_failed" in caplog.text and "work.subscribe_failed" in caplog.text
