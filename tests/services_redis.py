"""The Redis test server, shared with other test runs: tests only touch their own keys."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio
import redis.exceptions

from tests.service_check import unavailable

DEFAULT_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("PIXRELAY_TEST_REDIS_URL", DEFAULT_URL)
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2) as client:
            client.ping()
    except redis.exceptions.RedisError as error:
        unavailable(f"Redis at {url}", error)
    return url


class RedisNamespace:
    """A key prefix of one's own on the shared server, and clients for it.

    Clients are made on demand (`async with namespace.client() as redis: ...`) so that
    they live in the event loop of the test that uses them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"pixrelay-test:{uuid.uuid4().hex}:"

    def client(self) -> redis.asyncio.Redis:
        return redis.asyncio.Redis.from_url(self.url)

    def key(self, name: str) -> str:
        return self.prefix + name


@pytest.fixture
def redis_namespace(redis_url: str) -> Iterator[RedisNamespace]:
    """Deletes the keys under its prefix afterwards; never FLUSHDB (runs share the server)."""
    namespace = RedisNamespace(redis_url)
    yield namespace
    with redis.Redis.from_url(redis_url) as client:
        keys = list(client.scan_iter(match=namespace.prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
