"""The per-provider circuit breaker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from returns.result import Failure, Success

from adapters.providers.guarded import CIRCUIT_OPEN, CircuitState, GuardedProvider
from adapters.providers.sim import SimProvider
from domain.accounts import FailureKind
from domain.jobs import OperationType
from domain.providers import ProviderFailure, SubmitRequest


class Flaky:
    def __init__(self, inner: SimProvider) -> None:
        self._inner = inner
        self.failing = True
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def submit(self, secret: str, request: SubmitRequest) -> Any:
        self.calls += 1
        if self.failing:
            return Failure(ProviderFailure(kind=FailureKind.TRANSIENT, code="HTTP_503", message="down"))
        return await self._inner.submit(secret, request)


REQUEST = SubmitRequest(reference="r1", operation_type=OperationType.TEXT_TO_IMAGE, params={"prompt": "x"})


def test_opens_after_consecutive_transient_failures_and_half_opens_after_the_wait() -> None:
    async def scenario() -> None:
        now = [0.0]
        sim = SimProvider(clock=lambda: datetime.now(UTC))
        flaky = Flaky(sim)
        guarded = GuardedProvider(flaky, threshold=3, open_seconds=30, monotonic=lambda: now[0])
        for _ in range(3):
            assert (await guarded.submit("k", REQUEST)).failure().code == "HTTP_503"
        assert guarded.state is CircuitState.OPEN
        blocked = await guarded.submit("k", REQUEST)
        assert blocked.failure().code == CIRCUIT_OPEN and blocked.failure().kind is FailureKind.UNAVAILABLE
        assert flaky.calls == 3  # the open circuit did not call the provider
        now[0] = 31
        assert guarded.state is CircuitState.HALF_OPEN
        assert (await guarded.submit("k", REQUEST)).failure().code == "HTTP_503"  # the probe fails
        assert guarded.state is CircuitState.OPEN
        now[0] = 62
        flaky.failing = False
        assert isinstance(await guarded.submit("k", REQUEST), Success)
        assert guarded.state is CircuitState.CLOSED
        assert guarded.stats.calls["submit"] == 5 and guarded.stats.failures["submit"] == 4

    asyncio.run(scenario())


def test_failures_that_are_not_the_providers_fault_do_not_open_it() -> None:
    async def scenario() -> None:
        sim = SimProvider(clock=lambda: datetime.now(UTC))
        guarded = GuardedProvider(sim, threshold=1)
        bad = await guarded.submit("sim-invalid-key", REQUEST)  # AUTH: the account's fault
        assert isinstance(bad, Failure) and guarded.state is CircuitState.CLOSED
        assert guarded.verify_webhook({}, b"", sim._clock()).failure().code == "NOT_FOUND"

    asyncio.run(scenario())
