"""Authenticate through the session cache: a hit spares the database, and every use case
that ends a session or changes what it grants is seen by the very next request, on the
memory and the Redis cache alike."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from types import TracebackType
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from adapters.redis.session_cache import RedisSessionCache
from application.auth.authenticate import Authenticate, Principal
from application.auth.login import LoginResult
from application.policy import AuthPolicy
from domain.errors import ErrorCode
from domain.ports import CachedSession, SessionCache, UnitOfWork, UnitOfWorkFactory
from domain.quotas import QuotaPatch
from domain.users import Role
from tests.services_redis import RedisNamespace
from tests.unit.application.auth_world import ADMIN_EMAIL, ADMIN_PASSWORD, World, failure_code

# ------------------------------------------------------------------ counting the database


class CountingRepository:
    """Counts `get` calls on the repository it wraps; everything else passes through."""

    def __init__(self, inner: Any, count: Callable[[], None]) -> None:
        self._inner = inner
        self._count = count

    async def get(self, key: str) -> Any:
        self._count()
        return await self._inner.get(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class CountingUnitOfWork:
    def __init__(self, inner: UnitOfWork, factory: CountingUnitOfWorkFactory) -> None:
        self._inner = inner
        self._factory = factory

    async def __aenter__(self) -> UnitOfWork:
        factory = self._factory
        factory.opened += 1
        uow = await self._inner.__aenter__()
        uow.sessions = CountingRepository(uow.sessions, factory.count_session_read)
        uow.users = CountingRepository(uow.users, factory.count_user_read)
        return uow

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)
        hook, self._factory.after_close = self._factory.after_close, None
        if hook is not None:
            await hook()


class CountingUnitOfWorkFactory:
    """How often Authenticate opened a unit of work and read sessions and users; and a
    hook that runs once, right after the next unit of work closes (to interleave a
    revocation between Authenticate's database read and its cache put)."""

    def __init__(self, inner: UnitOfWorkFactory) -> None:
        self._inner = inner
        self.opened = self.session_reads = self.user_reads = 0
        self.after_close: Callable[[], Awaitable[Any]] | None = None

    def __call__(self) -> CountingUnitOfWork:
        return CountingUnitOfWork(self._inner(), self)

    def count_session_read(self) -> None:
        self.session_reads += 1

    def count_user_read(self) -> None:
        self.user_reads += 1


# ------------------------------------------------------------------ worlds over each cache


class Counted:
    """A World whose Authenticate reads the database through a counting unit of work."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.db = CountingUnitOfWorkFactory(world.uow)
        world.authenticate = Authenticate(self.db, world.clock, world.tokens, world.cache, world.policy)

    def authenticate(self, tokens: LoginResult) -> Principal:
        return self.world.run(self.world.authenticate(tokens.access_token)).unwrap()

    def rejected(self, tokens: LoginResult) -> bool:
        result = self.world.run(self.world.authenticate(tokens.access_token))
        return failure_code(result) is ErrorCode.UNAUTHENTICATED

    def warm(self, tokens: LoginResult) -> Principal:
        """Authenticate twice: the first reads the database, the second must be a hit."""
        first = self.authenticate(tokens)
        opened = self.db.opened
        assert self.authenticate(tokens) == first
        assert self.db.opened == opened, "the second request should have been a cache hit"
        return first


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def counted_world(request: pytest.FixtureRequest, runner: asyncio.Runner, kind: str,
                  policy: AuthPolicy | None = None) -> Iterator[Counted]:
    if kind == "memory":
        yield Counted(World(runner, policy))
        return
    if kind == "redis":
        namespace: RedisNamespace = request.getfixturevalue("redis_namespace")
        client = namespace.client()
        cache: SessionCache = RedisSessionCache(client, prefix=namespace.prefix)
    else:  # "redis-down": every cache call fails
        client = Redis(host="127.0.0.1", port=_unused_port(), retry=Retry(NoBackoff(), 0))
        cache = RedisSessionCache(client)
    try:
        yield Counted(World(runner, policy, cache))
    finally:
        runner.run(client.aclose())


CACHES = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


@pytest.fixture(params=CACHES)
def counted(request: pytest.FixtureRequest, runner: asyncio.Runner) -> Iterator[Counted]:
    yield from counted_world(request, runner, request.param)


# ------------------------------------------------------------------ hits


def test_a_cache_hit_skips_the_session_and_user_reads(counted: Counted) -> None:
    alice = counted.world.signup()
    tokens = counted.world.log_in()

    first = counted.authenticate(tokens)
    assert (counted.db.opened, counted.db.session_reads, counted.db.user_reads) == (1, 1, 1)
    for _ in range(3):
        assert counted.authenticate(tokens) == first == Principal(alice.id, tokens.session_id, Role.USER)
    assert (counted.db.opened, counted.db.session_reads, counted.db.user_reads) == (1, 1, 1)


def test_each_session_is_cached_on_its_own(counted: Counted) -> None:
    counted.world.signup()
    phone, laptop = counted.world.log_in(), counted.world.log_in()
    counted.warm(phone)
    opened = counted.db.opened
    counted.authenticate(laptop)
    assert counted.db.opened == opened + 1


# ------------------------------------------------------------------ every path that ends a session


def _log_out(w: World, tokens: LoginResult, admin: Principal) -> object:
    return w.run(w.logout(tokens.session_id)).unwrap()


def _revoke_one(w: World, tokens: LoginResult, admin: Principal) -> object:
    user_id = w.principal(w.log_in()).user_id  # from another session of the same user
    return w.run(w.revoke_session(user_id, tokens.session_id)).unwrap()


def _revoke_all(w: World, tokens: LoginResult, admin: Principal) -> object:
    user_id = w.state.sessions[tokens.session_id].user_id
    return w.run(w.revoke_all(user_id)).unwrap()


def _reuse_refresh_token(w: World, tokens: LoginResult, admin: Principal) -> object:
    w.run(w.refresh(tokens.refresh_token)).unwrap()
    return failure_code(w.run(w.refresh(tokens.refresh_token)))  # the old one again: theft


def _deactivate(w: World, tokens: LoginResult, admin: Principal) -> object:
    user_id = w.state.sessions[tokens.session_id].user_id
    return w.run(w.update_user(admin, user_id, is_active=False)).unwrap()


ENDINGS = {"log out": _log_out, "revoke one": _revoke_one, "revoke all": _revoke_all,
           "refresh token reuse": _reuse_refresh_token, "deactivate the user": _deactivate}


@pytest.mark.parametrize("end", list(ENDINGS.values()), ids=list(ENDINGS))
def test_a_revocation_is_seen_by_the_very_next_request(
        counted: Counted, end: Callable[[World, LoginResult, Principal], object]) -> None:
    world = counted.world
    admin = world.admin()
    world.signup()
    tokens = world.log_in()
    counted.warm(tokens)

    end(world, tokens, admin)

    assert counted.rejected(tokens)


def test_a_promotion_applies_to_the_very_next_request(counted: Counted) -> None:
    world = counted.world
    admin = world.admin()
    alice = world.signup()
    tokens = world.log_in()
    assert counted.warm(tokens).role is Role.USER

    world.run(world.update_user(admin, alice.id, role="admin")).unwrap()

    assert counted.authenticate(tokens).role is Role.ADMIN


def test_a_demotion_applies_to_the_very_next_request(counted: Counted) -> None:
    world = counted.world
    root = world.admin()
    bob = world.run(world.register("bob@example.com", "bob", "bob password 1")).unwrap()
    world.run(world.update_user(root, bob.id, role="admin")).unwrap()
    bob_admin = world.principal(world.log_in("bob@example.com", "bob password 1"))
    root_tokens = world.log_in(ADMIN_EMAIL, ADMIN_PASSWORD, client_ip="10.9.9.8")
    assert counted.warm(root_tokens).role is Role.ADMIN

    world.run(world.update_user(bob_admin, root.user_id, role="user")).unwrap()

    assert counted.authenticate(root_tokens).role is Role.USER


def test_a_quota_change_keeps_the_cached_sessions(counted: Counted) -> None:
    world = counted.world
    admin = world.admin()
    alice = world.signup()
    tokens = world.log_in()
    counted.warm(tokens)
    opened = counted.db.opened

    world.run(world.update_user(admin, alice.id, quota=QuotaPatch(max_jobs_per_day=5))).unwrap()

    counted.authenticate(tokens)
    assert counted.db.opened == opened


# ------------------------------------------------------------------ revocations racing a miss


def test_a_put_built_from_a_read_made_before_a_log_out_is_dropped(counted: Counted) -> None:
    """Authenticate read the live session; the log-out commits and forgets before
    Authenticate puts what it read: that put must not bring the session back."""
    world = counted.world
    world.signup()
    tokens = world.log_in()
    counted.db.after_close = lambda: world.logout(tokens.session_id)

    counted.authenticate(tokens)  # in flight before the log-out: it may still pass

    assert counted.rejected(tokens)


def test_a_put_built_from_a_read_made_before_a_demotion_is_dropped(counted: Counted) -> None:
    world = counted.world
    root = world.admin()
    bob = world.run(world.register("bob@example.com", "bob", "bob password 1")).unwrap()
    world.run(world.update_user(root, bob.id, role="admin")).unwrap()
    tokens = world.log_in("bob@example.com", "bob password 1")
    counted.db.after_close = lambda: world.update_user(root, bob.id, role="user")

    assert counted.authenticate(tokens).role is Role.ADMIN  # read before the demotion

    assert counted.authenticate(tokens).role is Role.USER


# ------------------------------------------------------------------ what a cached entry may not do


def test_a_cached_session_is_not_trusted_past_its_own_expiry(
        request: pytest.FixtureRequest, runner: asyncio.Runner) -> None:
    policy = AuthPolicy(refresh_ttl=timedelta(seconds=10), session_cache_seconds=300)
    for counted in counted_world(request, runner, "memory", policy):
        counted.world.signup()
        tokens = counted.world.log_in()
        counted.warm(tokens)
        counted.world.clock.advance(11)  # the access token lives on; its session does not
        assert counted.rejected(tokens)


def test_an_entry_naming_another_user_is_not_trusted(counted: Counted) -> None:
    world = counted.world
    alice = world.signup()
    tokens = world.log_in()
    forged = CachedSession(user_id="mallory", role=Role.ADMIN,
                           expires_at=world.clock.now() + timedelta(days=1))
    world.run(world.cache.put(tokens.session_id, forged, 30))

    assert counted.authenticate(tokens) == Principal(alice.id, tokens.session_id, Role.USER)
    assert counted.db.opened == 1


def test_an_entry_is_trusted_for_session_cache_seconds_only(runner: asyncio.Runner,
                                                            request: pytest.FixtureRequest) -> None:
    for counted in counted_world(request, runner, "memory", AuthPolicy(session_cache_seconds=30)):
        counted.world.signup()
        tokens = counted.world.log_in()
        counted.warm(tokens)
        counted.world.clock.advance(29)
        counted.authenticate(tokens)
        assert counted.db.opened == 1
        counted.world.clock.advance(2)
        counted.authenticate(tokens)
        assert counted.db.opened == 2


def test_a_zero_cache_time_reads_the_database_every_time(runner: asyncio.Runner,
                                                        request: pytest.FixtureRequest) -> None:
    for counted in counted_world(request, runner, "memory", AuthPolicy(session_cache_seconds=0)):
        counted.world.signup()
        tokens = counted.world.log_in()
        for _ in range(3):
            counted.authenticate(tokens)
        assert counted.db.opened == 3
        assert counted.world.run(counted.world.cache.get(tokens.session_id)) is None


def test_with_the_cache_down_every_request_checks_the_database(runner: asyncio.Runner,
                                                               request: pytest.FixtureRequest) -> None:
    for counted in counted_world(request, runner, "redis-down"):
        world = counted.world
        alice = world.signup()
        tokens = world.log_in()
        assert counted.authenticate(tokens) == Principal(alice.id, tokens.session_id, Role.USER)
        assert counted.authenticate(tokens).user_id == alice.id
        assert counted.db.opened == 2
        world.run(world.logout(tokens.session_id)).unwrap()
        assert counted.rejected(tokens)
