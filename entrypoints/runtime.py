"""Open the real ports for a configuration, and close them again.

Embedded (no configuration): SQLite and blobs under the data dir, in-memory rate limiter,
event bus and work signal, the sim provider. Scale-out: Postgres, Redis and S3 from the
environment; the same code.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis

from adapters.blobs.disk import LocalDiskBlobStore
from adapters.blobs.s3 import S3BlobStore
from adapters.event_log import LoggingEventBus
from adapters.memory.event_bus import InMemoryEventBus
from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.memory.signal import InProcessWorkSignal
from adapters.providers.guarded import GuardedProvider
from adapters.providers.registry import StaticProviderRegistry
from adapters.redis.event_bus import RedisEventBus
from adapters.redis.rate_limiter import RedisRateLimiter
from adapters.security.passwords import Argon2PasswordHasher
from adapters.security.tokens import JwtTokenIssuer
from adapters.sql.engine import create_engine
from adapters.sql.migrate import migrate
from adapters.sql.uow import SqlUnitOfWorkFactory
from adapters.system import SecureRandom, SystemClock, TimeOrderedIds
from application.policy import AuthPolicy, Policies
from domain.ports import BlobStore, EventBus, RateLimiter
from entrypoints.bootstrap import Ports
from entrypoints.providers import build_providers, http_client
from entrypoints.settings import Settings, persistent_secret

log = logging.getLogger("pixrelay")


@dataclass(frozen=True)
class Runtime:
    ports: Ports
    policies: Policies
    providers: list[GuardedProvider]


def policies_for(settings: Settings) -> Policies:
    return Policies(auth=AuthPolicy(signup_credits=settings.signup_credits,
                                    refresh_ttl=timedelta(days=30)))


@asynccontextmanager
async def open_runtime(settings: Settings, *, run_migrations: bool) -> AsyncIterator[Runtime]:
    async with AsyncExitStack() as stack:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        url = settings.effective_database_url
        if run_migrations:
            await migrate(url)
        engine = create_engine(url)
        stack.push_async_callback(engine.dispose)
        redis = None
        if settings.redis_url:
            redis = Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=2,
                                   retry_on_timeout=False)
            stack.push_async_callback(redis.aclose)
        blobs = await _blob_store(settings, stack)
        rate_limiter: RateLimiter = RedisRateLimiter(redis) if redis else InMemoryRateLimiter()
        events: EventBus = RedisEventBus(redis) if redis else InMemoryEventBus()
        clock = SystemClock()
        http = await stack.enter_async_context(http_client())
        providers = build_providers(settings, http, clock.now)
        jwt_secret = settings.jwt_secret or persistent_secret(settings.data_dir, "jwt_secret")
        ports = Ports(
            uow=SqlUnitOfWorkFactory(engine), blobs=blobs, providers=StaticProviderRegistry(providers),
            clock=clock, ids=TimeOrderedIds(), random=SecureRandom(), hasher=Argon2PasswordHasher(),
            tokens=JwtTokenIssuer(jwt_secret, ttl_seconds=settings.access_token_ttl),
            rate_limiter=rate_limiter, events=LoggingEventBus(events), signal=InProcessWorkSignal(),
        )
        yield Runtime(ports, policies_for(settings), providers)


async def _blob_store(settings: Settings, stack: AsyncExitStack) -> BlobStore:
    if settings.s3_bucket:
        return await stack.enter_async_context(S3BlobStore.connect(
            settings.s3_endpoint_url, settings.s3_bucket, settings.s3_region,
            settings.s3_access_key_id, settings.s3_secret_access_key))
    return LocalDiskBlobStore(settings.data_dir / "blobs")
