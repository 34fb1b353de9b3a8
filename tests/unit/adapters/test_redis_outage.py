"""An unreachable Redis is logged once per outage and tried again with growing pauses, not on
every call; its return is logged once too."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from adapters.redis.client import MAX_OUTAGE_PAUSE_SECONDS, Outage, redis_client
from adapters.redis.rate_limiter import RedisRateLimiter
from adapters.redis.session_cache import RedisSessionCache
from adapters.redis.work_signal import RedisWorkSignal


def allowed(outage: Outage) -> bool:
    try:
        outage.check()
    except RedisConnectionError:
        return False
    return True


def test_the_pause_doubles_with_each_failed_try_and_resets_when_redis_answers(
        caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    outage = Outage(1.0, clock=lambda: now[0], max_pause_seconds=8.0)
    caplog.set_level(logging.DEBUG, logger="pixrelay.redis")
    tries = []
    while now[0] < 40:
        if allowed(outage):
            tries.append(now[0])
            outage.begin(ConnectionRefusedError())
            outage.begin(ConnectionRefusedError())  # a second call of the same try fails too
        now[0] = round(now[0] + 0.25, 2)
    assert tries == [0.0, 1.0, 3.0, 7.0, 15.0, 23.0, 31.0, 39.0]  # pauses 1, 2, 4, 8, 8, ...
    outage.end()
    outage.end()
    assert allowed(outage) and not outage.down
    outage.begin(ConnectionRefusedError())
    now[0] += 1.0
    assert allowed(outage)  # a new outage starts again from the shortest pause
    events = [r.getMessage() for r in caplog.records if r.name == "pixrelay.redis"]
    assert events == ["redis.unreachable", "redis.reachable", "redis.unreachable"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_worker_and_api_calls_against_a_dead_redis_log_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> int:
        redis = redis_client(f"redis://127.0.0.1:{closed_port()}/0", pause_seconds=0.05)
        signal = RedisWorkSignal(redis)
        limiter = RedisRateLimiter(redis)
        cache = RedisSessionCache(redis)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 1.5
            while loop.time() < deadline:  # a worker waiting for work, requests coming in
                await signal.wait(0.02)
                assert (await limiter.hit("k", 1, 60)).allowed
                assert await cache.get("s") is None
                await signal.notify()
            tries: int = redis.connection_pool.connection_kwargs["outage"].tries_failed
            return tries
        finally:
            await signal.aclose()
            await redis.aclose()

    tries = asyncio.run(scenario())
    assert 2 <= tries <= 6, tries  # 0.05 + 0.1 + 0.2 + 0.4 + 0.8 s: a handful of tries, not hundreds
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in loud] == ["redis.unreachable"], [(r.name, r.getMessage()) for r in loud]
    assert MAX_OUTAGE_PAUSE_SECONDS >= 5
