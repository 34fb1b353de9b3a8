"""The SessionCache contract, passed by the memory and Redis adapters; the no-op cache
only promises to miss and never to fail."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from adapters.memory.session_cache import InMemorySessionCache, NoSessionCache
from adapters.redis.session_cache import RedisSessionCache
from domain.ports import CachedSession, SessionCache
from domain.users import Role
from entrypoints.runtime import session_cache_for
from entrypoints.settings import Settings
from tests.services_redis import RedisNamespace

GUARD = 1  # seconds a forgotten session or user refuses puts, short so tests can outwait it
EXPIRES = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def entry(user_id: str = "u1", role: Role = Role.USER) -> CachedSession:
    return CachedSession(user_id=user_id, role=role, expires_at=EXPIRES)


@dataclass
class Subject:
    cache: SessionCache
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

    yield Subject(InMemorySessionCache(clock, guard_seconds=GUARD), wait)


@asynccontextmanager
async def redis_subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    namespace: RedisNamespace = request.getfixturevalue("redis_namespace")
    async with namespace.client() as client:
        yield Subject(RedisSessionCache(client, prefix=namespace.prefix, guard_seconds=GUARD),
                      asyncio.sleep)


SUBJECTS = {"memory": memory_subject, "redis": redis_subject}


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def subject(request: pytest.FixtureRequest, runner: asyncio.Runner) -> Iterator[Subject]:
    stack = AsyncExitStack()
    subject = runner.run(stack.enter_async_context(SUBJECTS[request.param](request)))
    try:
        yield subject
    finally:
        runner.run(stack.aclose())


async def present(cache: SessionCache, *session_ids: str) -> list[bool]:
    return [await cache.get(s) is not None for s in session_ids]


def test_a_put_entry_is_read_back_whole(subject: Subject, runner: asyncio.Runner) -> None:
    cache = subject.cache
    assert runner.run(cache.get("s1")) is None
    runner.run(cache.put("s1", entry("u1", Role.ADMIN), 30))
    assert runner.run(cache.get("s1")) == entry("u1", Role.ADMIN)
    assert runner.run(cache.get("s2")) is None


def test_a_put_replaces_the_entry(subject: Subject, runner: asyncio.Runner) -> None:
    runner.run(subject.cache.put("s1", entry(role=Role.USER), 30))
    runner.run(subject.cache.put("s1", entry(role=Role.ADMIN), 30))
    assert runner.run(subject.cache.get("s1")) == entry(role=Role.ADMIN)


def test_an_entry_expires_after_its_ttl(subject: Subject, runner: asyncio.Runner) -> None:
    runner.run(subject.cache.put("short", entry(), 1))
    runner.run(subject.cache.put("long", entry(), 30))
    runner.run(subject.wait(1.2))
    assert runner.run(present(subject.cache, "short", "long")) == [False, True]


def test_forget_drops_only_the_named_sessions(subject: Subject, runner: asyncio.Runner) -> None:
    for session_id in ("s1", "s2", "s3"):
        runner.run(subject.cache.put(session_id, entry(), 30))
    runner.run(subject.cache.forget(["s1", "s3"]))
    runner.run(subject.cache.forget([]))
    assert runner.run(present(subject.cache, "s1", "s2", "s3")) == [False, True, False]


def test_forget_user_drops_every_session_of_that_user_only(subject: Subject, runner: asyncio.Runner) -> None:
    runner.run(subject.cache.put("a1", entry("alice"), 30))
    runner.run(subject.cache.put("a2", entry("alice"), 30))
    runner.run(subject.cache.put("b1", entry("bob"), 30))
    runner.run(subject.cache.forget_user("alice"))
    assert runner.run(present(subject.cache, "a1", "a2", "b1")) == [False, False, True]
    runner.run(subject.cache.forget_user("nobody"))  # no sessions: nothing to do, no error


def test_a_forgotten_session_or_user_refuses_puts_for_a_while(subject: Subject, runner: asyncio.Runner) -> None:
    """A put built from a database read made before a revocation arrives after the forget:
    it must not bring the revoked session back."""
    runner.run(subject.cache.forget(["s1"]))
    runner.run(subject.cache.forget_user("bob"))
    runner.run(subject.cache.put("s1", entry("alice"), 30))
    runner.run(subject.cache.put("b1", entry("bob"), 30))
    runner.run(subject.cache.put("a2", entry("alice"), 30))
    assert runner.run(present(subject.cache, "s1", "b1", "a2")) == [False, False, True]

    runner.run(subject.wait(GUARD + 0.2))
    runner.run(subject.cache.put("s1", entry("alice"), 30))
    runner.run(subject.cache.put("b1", entry("bob"), 30))
    assert runner.run(present(subject.cache, "s1", "b1")) == [True, True]


def test_forget_user_reaches_sessions_put_with_different_ttls(subject: Subject, runner: asyncio.Runner) -> None:
    runner.run(subject.cache.put("a1", entry("alice"), 30))
    runner.run(subject.cache.put("a2", entry("alice"), 2))  # must not shorten the user's index
    runner.run(subject.wait(GUARD + 1.2))
    assert runner.run(present(subject.cache, "a1", "a2")) == [True, False]
    runner.run(subject.cache.forget_user("alice"))
    assert runner.run(present(subject.cache, "a1")) == [False]


def test_the_memory_cache_forgets_expired_entries_and_guards_as_it_goes() -> None:
    clock = FakeClock()
    cache = InMemorySessionCache(clock, guard_seconds=GUARD)

    async def churn() -> None:
        await cache.forget(["old"])
        for number in range(3000):
            await cache.put(f"s{number}", entry(f"u{number}"), 1)
            clock.now += 0.01

    asyncio.run(churn())
    assert len(cache._entries) < 2000 and len(cache._by_user) < 2000
    assert "s:old" not in cache._forgotten


def test_no_session_cache_always_misses_and_never_fails() -> None:
    async def scenario() -> CachedSession | None:
        cache = NoSessionCache()
        await cache.put("s1", entry(), 30)
        await cache.forget(["s1"])
        await cache.forget_user("u1")
        return await cache.get("s1")

    assert asyncio.run(scenario()) is None


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _down_client() -> Redis:
    return Redis(host="127.0.0.1", port=_unused_port(), retry=Retry(NoBackoff(), 0))


def test_with_redis_down_every_call_is_a_miss_or_a_no_op(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> CachedSession | None:
        async with _down_client() as client:
            cache = RedisSessionCache(client)
            await cache.put("s1", entry(), 30)
            await cache.forget(["s1"])
            await cache.forget_user("u1")
            return await cache.get("s1")

    with caplog.at_level(logging.WARNING, logger="adapters.redis.session_cache"):
        assert asyncio.run(scenario()) is None
    assert "session cache unavailable" in caplog.text


@pytest.mark.redis
def test_after_a_failed_forget_the_process_ignores_the_cache_until_the_guard_passes(
        redis_namespace: RedisNamespace, caplog: pytest.LogCaptureFixture) -> None:
    """A forget can fail while Redis stays up for reads (a blip, an error in the script),
    leaving the revoked session in Redis: this process must not serve it."""
    now = [1000.0]

    async def scenario() -> list[bool]:
        async with redis_namespace.client() as client:
            cache = RedisSessionCache(client, prefix=redis_namespace.prefix, guard_seconds=5,
                                      clock=lambda: now[0])
            await cache.put("s1", entry("u1"), 30)
            # break the user's index so the forget fails on the server (WRONGTYPE)
            await client.set(redis_namespace.key("u:u1"), "not a set")
            await cache.forget_user("u1")
            seen = [await cache.get("s1") is not None]
            now[0] += 5
            seen.append(await cache.get("s1") is not None)
            return seen

    with caplog.at_level(logging.WARNING, logger="adapters.redis.session_cache"):
        assert asyncio.run(scenario()) == [False, True]
    assert "revocation not forwarded" in caplog.text


@pytest.mark.parametrize(("database_url", "with_redis", "expected"), [
    (None, False, InMemorySessionCache),  # embedded: one API process
    ("sqlite:///pixrelay.db", False, InMemorySessionCache),
    ("postgresql://db/pixrelay", False, NoSessionCache),  # replicas, nothing shared to cache in
    ("postgresql://db/pixrelay", True, RedisSessionCache),
    (None, True, RedisSessionCache),
])
def test_each_configuration_gets_a_cache_no_replica_can_see_stale(
        database_url: str | None, with_redis: bool, expected: type) -> None:
    redis = Redis() if with_redis else None  # not connected: choosing makes no call
    assert type(session_cache_for(Settings(database_url=database_url), redis)) is expected
