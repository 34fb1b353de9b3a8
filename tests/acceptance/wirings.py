"""The adapters a scenario runs on. Each wiring is opened and closed inside the scenario's
event loop, so wirings over real services (engines, pools, clients) can be added here as
more branches of `make_wiring` without touching a single step.

To add one: put its name in WIRINGS and a branch in `make_wiring` returning an async context
manager that yields a `tests.support.wiring.Wiring`. What the steps rely on:
- every scenario starts from an empty store, blob store and rate limiter (users, emails and
  login attempts repeat from scenario to scenario);
- `clock` is a ManualClock that every time-dependent port reads (the sim provider, the rate
  limiter, cooldowns, leases): the steps move time, never sleep;
- `sim` is the SimProvider registered in `ports.providers` (steps read its counters).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest

from adapters.blobs.disk import LocalDiskBlobStore
from adapters.blobs.s3 import S3BlobStore
from adapters.redis.client import redis_client
from adapters.redis.event_bus import RedisEventBus
from adapters.redis.rate_limiter import RedisRateLimiter
from adapters.redis.session_cache import RedisSessionCache
from adapters.sql.engine import create_engine
from adapters.sql.uow import SqlUnitOfWorkFactory
from entrypoints.bootstrap import Ports, build_container
from tests.support.wiring import Wiring, memory_wiring

WIRINGS = ("memory", "sqlite", "postgres")


@asynccontextmanager
async def _memory() -> AsyncIterator[Wiring]:
    yield memory_wiring()


@asynccontextmanager
async def _sqlite(database_url: str, blob_root: Path) -> AsyncIterator[Wiring]:
    """The embedded default: SQLite and blobs on local disk."""
    engine = create_engine(database_url)
    try:
        yield _rewired(memory_wiring(), uow=SqlUnitOfWorkFactory(engine), blobs=LocalDiskBlobStore(blob_root))
    finally:
        await engine.dispose()


@asynccontextmanager
async def _postgres(database_url: str, redis_url: str, redis_prefix: str, s3_endpoint: str) -> AsyncIterator[Wiring]:
    """Scale-out: Postgres, Redis (rate limits, events, session cache) and S3 (a bucket per
    scenario)."""
    async with AsyncExitStack() as stack:
        engine = create_engine(database_url)
        stack.push_async_callback(engine.dispose)
        redis = redis_client(redis_url)
        stack.push_async_callback(redis.aclose)
        blobs = await stack.enter_async_context(S3BlobStore.connect(
            s3_endpoint, f"bdd-{uuid.uuid4().hex[:20]}", access_key="test", secret_key="test"))
        yield _rewired(
            memory_wiring(), uow=SqlUnitOfWorkFactory(engine), blobs=blobs,
            rate_limiter=RedisRateLimiter(redis, prefix=redis_prefix + "rl:"),
            events=RedisEventBus(redis),
            session_cache=RedisSessionCache(redis, prefix=redis_prefix + "sc:"))


def _rewired(base: Wiring, **ports: object) -> Wiring:
    """The memory wiring's clock, ids and sim, with some ports swapped for real adapters."""
    swapped: Ports = dataclasses.replace(base.ports, **ports)  # type: ignore[arg-type]
    return Wiring(build_container(swapped), swapped, base.clock, base.sim)


def make_wiring(name: str, request: pytest.FixtureRequest) -> AbstractAsyncContextManager[Wiring]:
    """The async context manager of the wiring called `name`; the services it needs come
    from the session's service fixtures (which skip, or fail under CI=true, when absent)."""
    if name == "memory":
        return _memory()
    if name == "sqlite":
        blob_root: Path = request.getfixturevalue("tmp_path") / "blobs"
        return _sqlite(request.getfixturevalue("sqlite_url"), blob_root)
    if name == "postgres":
        namespace = request.getfixturevalue("redis_namespace")
        return _postgres(request.getfixturevalue("pg_clean_url"), namespace.url, namespace.prefix,
                         request.getfixturevalue("s3_endpoint"))
    raise ValueError(f"unknown wiring {name!r}; known: {', '.join(WIRINGS)}")

