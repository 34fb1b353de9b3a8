"""Test wirings: the same composition root over in-memory ports (or real ones swapped in)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import punq

from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.event_bus import InMemoryEventBus
from adapters.memory.passwords import PlainTestPasswordHasher
from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.memory.session_cache import InMemorySessionCache
from adapters.memory.signal import InProcessWorkSignal
from adapters.memory.system import ManualClock, SeededRandom, SequentialIds
from adapters.memory.uow import InMemoryUnitOfWorkFactory
from adapters.providers.registry import StaticProviderRegistry
from adapters.providers.sim import SimProvider
from adapters.security.tokens import JwtTokenIssuer
from application.policy import Policies
from entrypoints.bootstrap import Ports, build_container

T = TypeVar("T")

TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


@dataclass
class Wiring:
    """A container plus the controllable pieces tests reach for."""

    container: punq.Container
    ports: Ports
    clock: ManualClock
    sim: SimProvider

    def get(self, use_case: type[T]) -> T:
        resolved: T = self.container.resolve(use_case)
        return resolved


def memory_ports(clock: ManualClock, sim: SimProvider, seed: int = 0) -> Ports:
    return Ports(
        uow=InMemoryUnitOfWorkFactory(),
        blobs=InMemoryBlobStore(),
        providers=StaticProviderRegistry([sim]),
        clock=clock,
        ids=SequentialIds(),
        random=SeededRandom(seed),
        hasher=PlainTestPasswordHasher(),
        tokens=JwtTokenIssuer(TEST_JWT_SECRET),
        rate_limiter=InMemoryRateLimiter(clock=lambda: clock.now().timestamp()),
        events=InMemoryEventBus(),
        signal=InProcessWorkSignal(),
        session_cache=InMemorySessionCache(clock=lambda: clock.now().timestamp()),
    )


def memory_wiring(seed: int = 0, policies: Policies | None = None) -> Wiring:
    clock = ManualClock()
    sim = SimProvider(clock=clock.now)
    ports = memory_ports(clock, sim, seed)
    return Wiring(build_container(ports, policies), ports, clock, sim)
