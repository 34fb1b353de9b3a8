"""The RateLimiter contract, passed by every adapter: memory and Redis."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.redis.rate_limiter import RedisRateLimiter
from domain.ports import RateLimiter
from tests.services_redis import RedisNamespace


@dataclass
class Subject:
    limiter: RateLimiter
    wait: Callable[[float], Coroutine[Any, Any, None]]
    """Let time pass: a fake clock for memory, real time for Redis."""


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def memory_subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    clock = FakeClock()

    async def wait(seconds: float) -> None:
        clock.now += seconds

    yield Subject(InMemoryRateLimiter(clock), wait)


@asynccontextmanager
async def redis_subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    namespace: RedisNamespace = request.getfixturevalue("redis_namespace")
    async with namespace.client() as client:
        yield Subject(RedisRateLimiter(client, prefix=namespace.prefix), asyncio.sleep)


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


async def allowed(limiter: RateLimiter, key: str, hits: int, limit: int, window: int) -> list[bool]:
    return [(await limiter.hit(key, limit, window)).allowed for _ in range(hits)]


def test_allows_exactly_the_limit_then_denies_with_a_retry_after(
        subject: Subject, runner: asyncio.Runner) -> None:
    assert runner.run(allowed(subject.limiter, "login:a", 5, limit=3, window=60)) == [True] * 3 + [False] * 2
    denied = runner.run(subject.limiter.hit("login:a", 3, 60))
    assert not denied.allowed
    assert 0 < denied.retry_after <= 60


def test_keys_are_independent(subject: Subject, runner: asyncio.Runner) -> None:
    assert runner.run(allowed(subject.limiter, "login:a", 3, limit=2, window=60)) == [True, True, False]
    assert runner.run(allowed(subject.limiter, "login:b", 3, limit=2, window=60)) == [True, True, False]


def test_hits_leave_the_window_and_denied_hits_do_not_count(
        subject: Subject, runner: asyncio.Runner) -> None:
    assert runner.run(allowed(subject.limiter, "api:u1", 4, limit=2, window=1)) == [True, True, False, False]
    runner.run(subject.wait(1.1))
    assert runner.run(allowed(subject.limiter, "api:u1", 3, limit=2, window=1)) == [True, True, False]


def test_the_window_slides(subject: Subject, runner: asyncio.Runner) -> None:
    """Room comes back hit by hit as each one ages out, not all at once per period."""
    assert runner.run(allowed(subject.limiter, "api:u2", 1, limit=2, window=1)) == [True]
    runner.run(subject.wait(0.6))
    assert runner.run(allowed(subject.limiter, "api:u2", 2, limit=2, window=1)) == [True, False]
    runner.run(subject.wait(0.5))  # the first hit is out, the second still in
    assert runner.run(allowed(subject.limiter, "api:u2", 2, limit=2, window=1)) == [True, False]


def test_memory_retry_after_is_when_the_oldest_hit_leaves() -> None:
    clock = FakeClock()
    limiter = InMemoryRateLimiter(clock)
    asyncio.run(limiter.hit("k", 1, 10))
    clock.now += 3.5
    assert asyncio.run(limiter.hit("k", 1, 10)).retry_after == 7


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_redis_limiter_fails_open_when_redis_is_down(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> list[bool]:
        async with Redis(host="127.0.0.1", port=_unused_port(), retry=Retry(NoBackoff(), 0)) as client:
            return await allowed(RedisRateLimiter(client), "login:a", 3, limit=1, window=60)

    # at debug level: the client logs the outage itself, once (adapters/redis/client.py)
    with caplog.at_level(logging.DEBUG, logger="adapters.redis.rate_limiter"):
        assert asyncio.run(scenario()) == [True, True, True]
    assert "rate_limiter.unavailable_allowing" in caplog.text


def test_undo_takes_back_the_newest_hit(subject: Subject, runner: asyncio.Runner) -> None:
    """A login counts its attempt first and takes it back when it succeeds: only failures stay."""
    limiter = subject.limiter
    assert runner.run(allowed(limiter, "login:c", 2, limit=2, window=60)) == [True, True]
    runner.run(limiter.undo("login:c"))
    assert runner.run(allowed(limiter, "login:c", 2, limit=2, window=60)) == [True, False]
    for _ in range(3):
        runner.run(limiter.undo("login:c"))
    runner.run(limiter.undo("login:never-hit"))  # nothing to take back: no error, no credit
    assert runner.run(allowed(limiter, "login:c", 3, limit=2, window=60)) == [True, True, False]
    assert runner.run(allowed(limiter, "login:never-hit", 3, limit=2, window=60)) == [True, True, False]
