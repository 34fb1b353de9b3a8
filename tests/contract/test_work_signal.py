"""The WorkSignal contract, passed by every adapter: in-process, Redis pub/sub and Postgres
LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import asyncpg
import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from adapters.memory.signal import InProcessWorkSignal
from adapters.redis.work_signal import CHANNEL, RedisWorkSignal
from adapters.sql.notify_signal import CHANNEL as PG_CHANNEL
from adapters.sql.notify_signal import PostgresWorkSignal, plain_dsn
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


def pg_channel() -> str:
    """A channel of this test's own: the Postgres server is shared with other test runs."""
    return f"pixrelay_work_test_{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def postgres_subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    signal = PostgresWorkSignal(request.getfixturevalue("pg_server_url"), channel=pg_channel())
    try:
        yield Subject(signal, lambda: signal.wait(0.01))
    finally:
        await signal.aclose()


SUBJECTS = {"memory": memory_subject, "redis": redis_subject, "postgres": postgres_subject}


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis),
                        pytest.param("postgres", marks=pytest.mark.postgres)])
def subject(request: pytest.FixtureRequest, runner: asyncio.Runner) -> Iterator[Subject]:
    make = SUBJECTS[request.param]
    if request.param == "postgres":
        request.getfixturevalue("pg_server_url")  # checks the server outside the test's loop
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


# ------------------------------------------------------------------ Postgres only


@pytest.mark.postgres
def test_a_notify_from_another_process_wakes_the_waiter_after_commit_only(pg_server_url: str,
                                                                           runner: asyncio.Runner) -> None:
    """Another connection's NOTIFY wakes the waiter; one sent inside a transaction is held
    until that commits (Postgres' rule: why notify() always runs outside the caller's)."""
    async def scenario() -> tuple[bool, bool, bool]:
        channel = pg_channel()
        waiting = PostgresWorkSignal(pg_server_url, channel=channel)
        notifying = PostgresWorkSignal(pg_server_url, channel=channel)
        other = await asyncpg.connect(plain_dsn(pg_server_url))
        try:
            assert await waiting.wait(0.01) is False
            await notifying.notify()
            woken = await waiting.wait(WAKE_TIMEOUT)
            async with other.transaction():
                await other.execute(f'NOTIFY "{channel}"')
                during = await waiting.wait(0.2)
            after = await waiting.wait(WAKE_TIMEOUT)
            return woken, during, after
        finally:
            await other.close()
            await waiting.aclose()
            await notifying.aclose()

    assert runner.run(scenario()) == (True, False, True)


@pytest.mark.postgres
def test_the_default_postgres_channel_is_pixrelay_work(pg_server_url: str, runner: asyncio.Runner) -> None:
    async def scenario() -> list[str]:
        heard: list[str] = []
        arrived = asyncio.Event()

        def hear(_connection: object, _pid: int, channel: str, _payload: str) -> None:
            heard.append(channel)
            arrived.set()
        listener = await asyncpg.connect(plain_dsn(pg_server_url))
        try:
            await listener.add_listener("pixrelay_work", hear)
            signal = PostgresWorkSignal(pg_server_url)
            await signal.notify()
            await signal.aclose()
            await asyncio.wait_for(arrived.wait(), WAKE_TIMEOUT)
        finally:
            await listener.close()
        return heard

    assert PG_CHANNEL == "pixrelay_work"
    assert runner.run(scenario())[:1] == ["pixrelay_work"]


@pytest.mark.postgres
def test_its_own_notify_wakes_it_once_not_twice(pg_server_url: str, runner: asyncio.Runner) -> None:
    """API and worker in one process: the notify wakes the local waiter directly, and the
    same NOTIFY coming back from Postgres is not a second wake-up (a second claim)."""
    async def scenario() -> tuple[bool, bool]:
        signal = PostgresWorkSignal(pg_server_url, channel=pg_channel())
        try:
            assert await signal.wait(0.01) is False
            await signal.notify()
            first = await signal.wait(WAKE_TIMEOUT)
            return first, await signal.wait(0.3)
        finally:
            await signal.aclose()

    assert runner.run(scenario()) == (True, False)


@pytest.mark.postgres
def test_concurrent_notifies_coalesce_and_each_returns_after_a_notify_it_asked_for(
        pg_server_url: str, runner: asyncio.Runner) -> None:
    async def scenario() -> tuple[int, int]:
        channel = pg_channel()
        heard: list[int] = []
        listener = await asyncpg.connect(plain_dsn(pg_server_url))
        signal = PostgresWorkSignal(pg_server_url, channel=channel)
        try:
            await listener.add_listener(channel, lambda _c, pid, _ch, _m: heard.append(pid))
            await signal.notify()  # opens the connection
            before = len(await _settled(heard))
            await asyncio.gather(*(signal.notify() for _ in range(50)))
            return before, len(await _settled(heard)) - before
        finally:
            await listener.close()
            await signal.aclose()

    before, burst = runner.run(scenario())
    assert before == 1
    assert 1 <= burst < 50


async def _settled(heard: list[int]) -> list[int]:
    """What was heard once nothing more arrives for a moment."""
    count = -1
    while count != len(heard):
        count = len(heard)
        await asyncio.sleep(0.2)
    return heard


@pytest.mark.postgres
def test_a_lost_listen_connection_is_reopened_and_wakes_the_waiter_once(pg_server_url: str,
                                                                        runner: asyncio.Runner) -> None:
    async def scenario() -> tuple[bool, bool, int]:
        channel = pg_channel()
        waiting = PostgresWorkSignal(pg_server_url, channel=channel, keepalive_seconds=0.2)
        notifying = PostgresWorkSignal(pg_server_url, channel=channel)
        admin = await asyncpg.connect(plain_dsn(pg_server_url))
        try:
            assert await waiting.wait(0.01) is False
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1",
                f'LISTEN "{channel}"')
            assert killed == 1
            reopened = await waiting.wait(WAKE_TIMEOUT * 2)  # notifies may have been lost: look once
            await asyncio.sleep(0.05)
            waiter = asyncio.create_task(waiting.wait(WAKE_TIMEOUT))
            await asyncio.sleep(0.05)
            await notifying.notify()
            return reopened, await waiter, waiting.reconnects
        finally:
            await admin.close()
            await waiting.aclose()
            await notifying.aclose()

    assert runner.run(scenario()) == (True, True, 1)


def test_without_postgres_notify_is_quiet_and_wait_polls(runner: asyncio.Runner,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[bool, bool, float]:
        signal = PostgresWorkSignal(f"postgresql://postgres@127.0.0.1:{closed_port()}/none")
        try:
            await signal.notify()  # logged, never raised: the job is committed, workers poll
            first = await signal.wait(0.01)  # a notify of this instance still wakes its own waiter
            started = time.monotonic()
            woken = await signal.wait(0.3)
            return first, woken, time.monotonic() - started
        finally:
            await signal.aclose()

    first, woken, elapsed = runner.run(scenario())
    assert first is True and woken is False and 0.3 <= elapsed < 10
    assert "work.notify_failed" in caplog.text and "work.listen_failed" in caplog.text
