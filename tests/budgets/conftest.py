"""The API as deployed for scale-out, under the TestClient: Postgres for the data, Redis for
rate limits, events, wake-ups and the session cache (the keys under a test prefix)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from adapters.redis.client import redis_client
from adapters.redis.event_bus import RedisEventBus
from adapters.redis.rate_limiter import RedisRateLimiter
from adapters.redis.session_cache import RedisSessionCache
from adapters.redis.work_signal import RedisWorkSignal
from adapters.sql.engine import create_engine
from adapters.sql.uow import SqlUnitOfWorkFactory
from application.policy import Policies
from entrypoints.bootstrap import Ports, build_container
from entrypoints.http.app import create_app
from tests.e2e.http.conftest import ROOMY_AUTH, Api
from tests.services_redis import RedisNamespace
from tests.support.wiring import Wiring, memory_wiring


def sql_api(database_url: str, namespace: RedisNamespace | None) -> Iterator[Api]:
    base = memory_wiring()
    engine = create_engine(database_url)
    swapped: dict[str, object] = {"uow": SqlUnitOfWorkFactory(engine)}
    redis = signal = None
    if namespace is not None:
        redis = redis_client(namespace.url)
        signal = RedisWorkSignal(redis, channel=namespace.key("work"))
        swapped |= {"rate_limiter": RedisRateLimiter(redis, prefix=namespace.key("rl:")),
                    "events": RedisEventBus(redis), "signal": signal,
                    "session_cache": RedisSessionCache(redis, prefix=namespace.key("sc:"))}
    ports: Ports = dataclasses.replace(base.ports, **swapped)  # type: ignore[arg-type]
    wiring = Wiring(build_container(ports, Policies(auth=ROOMY_AUTH)), ports, base.clock, base.sim)
    with TestClient(create_app(wiring.container)) as client:
        api = Api(client, wiring)
        try:
            yield api
        finally:
            if signal is not None:
                api.run(signal.aclose)
            if redis is not None:
                api.run(redis.aclose)
            api.run(engine.dispose)


@pytest.fixture
def pg_api(pg_clean_url: str, redis_namespace: RedisNamespace) -> Iterator[Api]:
    yield from sql_api(pg_clean_url, redis_namespace)


@pytest.fixture
def sqlite_api(sqlite_url: str, tmp_path: Path) -> Iterator[Api]:
    yield from sql_api(sqlite_url, None)
