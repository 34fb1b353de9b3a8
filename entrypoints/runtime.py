"""Open the real ports for a configuration, and close them again.

Embedded (no configuration): SQLite and blobs under the data dir, in-memory rate limiter,
event bus and work signal, the sim provider. Scale-out: Postgres, Redis (rate limits, job
events, waking workers in every process) and S3 from the environment; the same code. On
Postgres without Redis, workers in every process wake through LISTEN/NOTIFY.
"""

from __future__ import annotations

import base64
import hashlib
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
from adapters.memory.session_cache import InMemorySessionCache, NoSessionCache
from adapters.memory.signal import InProcessWorkSignal
from adapters.providers.guarded import GuardedProvider
from adapters.providers.registry import StaticProviderRegistry
from adapters.redis.client import redis_client
from adapters.redis.event_bus import RedisEventBus
from adapters.redis.rate_limiter import RedisRateLimiter
from adapters.redis.session_cache import RedisSessionCache
from adapters.redis.work_signal import RedisWorkSignal
from adapters.security.passwords import Argon2PasswordHasher
from adapters.security.secret_box import FernetSecretBox
from adapters.security.tokens import JwtTokenIssuer
from adapters.sql.engine import create_engine, is_sqlite
from adapters.sql.migrate import migrate
from adapters.sql.notify_signal import PostgresWorkSignal
from adapters.sql.uow import SqlUnitOfWorkFactory
from adapters.system import SecureRandom, SystemClock, TimeOrderedIds
from adapters.webhooks.sender import HttpWebhookSender, webhook_client
from application.policy import (
    AuthPolicy,
    CatalogPolicy,
    OpenAICompatPolicy,
    PipelinePolicy,
    Policies,
    WebhookPolicy,
)
from domain.ports import BlobStore, EventBus, RateLimiter, SessionCache
from entrypoints.bootstrap import Ports
from entrypoints.private_files import private_database
from entrypoints.providers import build_providers, download_client, http_client
from entrypoints.settings import Settings, persistent_secret
from entrypoints.startup import database_errors, reachable_database, usable_data_dir

log = logging.getLogger("pixrelay")


@dataclass(frozen=True)
class Runtime:
    ports: Ports
    policies: Policies
    providers: list[GuardedProvider]
    redis: Redis | None = None  # for the readiness check


def policies_for(settings: Settings) -> Policies:
    return Policies(
        auth=AuthPolicy(signup_credits=settings.signup_credits, refresh_ttl=timedelta(days=30)),
        pipeline=PipelinePolicy(lease=timedelta(seconds=settings.lease_seconds),
                                poll_interval=timedelta(seconds=settings.poll_seconds)),
        webhooks=webhook_policy(settings),
        openai=OpenAICompatPolicy(wait_seconds=settings.openai_wait_seconds),
        catalog=CatalogPolicy(cache_seconds=settings.model_cache_seconds),
    )


def webhook_policy(settings: Settings) -> WebhookPolicy:
    defaults = WebhookPolicy()
    return WebhookPolicy(retry_schedule=settings.webhook_retries or defaults.retry_schedule,
                         disable_after=timedelta(seconds=settings.webhook_disable_after_seconds),
                         lease=timedelta(seconds=settings.lease_seconds),
                         allow_private=settings.allow_private_webhooks, public_url=settings.public_url)


def secret_box(settings: Settings) -> FernetSecretBox:
    """Provider keys are sealed at rest with PIXRELAY_SECRETS_KEY; without it, with a key
    derived from the JWT secret every replica shares (scale-out), or generated once and kept
    in the data dir (embedded)."""
    if settings.secrets_key:
        return FernetSecretBox(settings.secrets_key)
    if settings.jwt_secret:
        digest = hashlib.sha256(b"pixrelay provider secrets\0" + settings.jwt_secret.encode()).digest()
        return FernetSecretBox(base64.urlsafe_b64encode(digest).decode())
    return FernetSecretBox(persistent_secret(settings.data_dir, "secrets_key", factory=FernetSecretBox.new_key))


@asynccontextmanager
async def open_runtime(settings: Settings, *, run_migrations: bool) -> AsyncIterator[Runtime]:
    async with AsyncExitStack() as stack:
        usable_data_dir(settings.data_dir)
        url = settings.effective_database_url
        async with database_errors(url):
            private_database(url)
        engine = create_engine(url)
        stack.push_async_callback(engine.dispose)
        await reachable_database(engine, url)
        if run_migrations:
            async with database_errors(url):
                await migrate(url)
                private_database(url)
        redis = None
        if settings.redis_url:
            redis = redis_client(settings.redis_url)
            stack.push_async_callback(redis.aclose)
        blobs = await _blob_store(settings, stack)
        rate_limiter: RateLimiter = RedisRateLimiter(redis) if redis else InMemoryRateLimiter()
        events: EventBus = RedisEventBus(redis) if redis else InMemoryEventBus()
        signal = work_signal_for(url, redis)
        if not isinstance(signal, InProcessWorkSignal):
            stack.push_async_callback(signal.aclose)  # before the Redis client closes
        clock = SystemClock()
        http = await stack.enter_async_context(http_client())
        downloads = await stack.enter_async_context(download_client(settings))
        providers = build_providers(settings, http, clock.now, downloads)
        hooks = await stack.enter_async_context(webhook_client(allow_private=settings.allow_private_webhooks))
        jwt_secret = settings.jwt_secret or persistent_secret(settings.data_dir, "jwt_secret")
        ports = Ports(
            uow=SqlUnitOfWorkFactory(engine, secret_box(settings)), blobs=blobs, providers=StaticProviderRegistry(providers),
            clock=clock, ids=TimeOrderedIds(), random=SecureRandom(), hasher=Argon2PasswordHasher(max_concurrent=settings.max_concurrent_hashes),
            tokens=JwtTokenIssuer(jwt_secret, ttl_seconds=settings.access_token_ttl),
            rate_limiter=rate_limiter, events=LoggingEventBus(events), signal=signal,
            session_cache=session_cache_for(settings, redis),
            webhook_sender=HttpWebhookSender(hooks, allow_private=settings.allow_private_webhooks),
        )
        yield Runtime(ports, policies_for(settings), providers, redis)


def work_signal_for(database_url: str, redis: Redis | None) -> InProcessWorkSignal | RedisWorkSignal | PostgresWorkSignal:
    """Workers in every process wake through Redis pub/sub when there is Redis, else through
    Postgres LISTEN/NOTIFY; embedded SQLite has one process, woken in memory."""
    if redis is not None:
        return RedisWorkSignal(redis)
    if not is_sqlite(database_url):
        return PostgresWorkSignal(database_url)
    return InProcessWorkSignal()


def session_cache_for(settings: Settings, redis: Redis | None) -> SessionCache:
    """Shared through Redis when there is one; in process memory only in embedded mode (one
    API process); none otherwise, since a per-process cache would let a replica that did not
    see a revocation serve the revoked session until the entry expires."""
    if redis is not None:
        return RedisSessionCache(redis)
    if settings.embedded:
        return InMemorySessionCache()
    return NoSessionCache()


async def _blob_store(settings: Settings, stack: AsyncExitStack) -> BlobStore:
    if settings.s3_bucket:
        return await stack.enter_async_context(S3BlobStore.connect(
            settings.s3_endpoint_url, settings.s3_bucket, settings.s3_region,
            settings.s3_access_key_id, settings.s3_secret_access_key))
    return LocalDiskBlobStore(settings.data_dir / "blobs")
