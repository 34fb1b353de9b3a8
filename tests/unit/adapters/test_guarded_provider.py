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


class Gated(Flaky):
    """Holds every submit until `gate` opens, so calls overlap."""

    def __init__(self, inner: SimProvider) -> None:
        super().__init__(inner)
        self.gate = asyncio.Event()

    async def submit(self, secret: str, request: SubmitRequest) -> Any:
        self.calls += 1
        await self.gate.wait()
        if self.failing:
            return Failure(ProviderFailure(kind=FailureKind.TRANSIENT, code="HTTP_503", message="down"))
        return await self._inner.submit(secret, request)


def half_open_circuit(outcome_fails: bool) -> None:
    async def scenario() -> None:
        now = [0.0]
        gated = Gated(SimProvider(clock=lambda: datetime.now(UTC)))
        guarded = GuardedProvider(gated, threshold=1, open_seconds=30, monotonic=lambda: now[0])
        gated.gate.set()
        await guarded.submit("k", REQUEST)  # opens the circuit
        assert guarded.state is CircuitState.OPEN
        now[0] = 31
        gated.gate.clear()
        gated.failing = outcome_fails
        gated.calls = 0
        calls = [asyncio.create_task(guarded.submit("k", REQUEST)) for _ in range(10)]
        await asyncio.sleep(0.01)  # every call has reached the breaker; the probe waits at the gate
        assert gated.calls == 1, "half-open lets exactly one probe through"
        refused = [c for c in calls if c.done()]
        assert len(refused) == 9
        assert all(c.result().failure().code == CIRCUIT_OPEN for c in refused)
        assert guarded.state is CircuitState.HALF_OPEN  # still waiting for the probe's outcome
        assert (await guarded.submit("k", REQUEST)).failure().code == CIRCUIT_OPEN
        gated.gate.set()
        await asyncio.gather(*calls)
        assert gated.calls == 1
        if outcome_fails:
            assert guarded.state is CircuitState.OPEN
        else:
            assert guarded.state is CircuitState.CLOSED
            assert isinstance(await guarded.submit("k", REQUEST), Success)
            assert gated.calls == 2

    asyncio.run(scenario())


def test_half_open_lets_one_probe_through_and_closes_when_it_succeeds() -> None:
    half_open_circuit(outcome_fails=False)


def test_half_open_lets_one_probe_through_and_reopens_when_it_fails() -> None:
    half_open_circuit(outcome_fails=True)


def test_a_cancelled_probe_reopens_the_circuit_instead_of_leaving_it_stuck() -> None:
    async def scenario() -> None:
        now = [0.0]
        gated = Gated(SimProvider(clock=lambda: datetime.now(UTC)))
        guarded = GuardedProvider(gated, threshold=1, open_seconds=30, monotonic=lambda: now[0])
        gated.gate.set()
        await guarded.submit("k", REQUEST)
        now[0] = 31
        gated.gate.clear()
        probe = asyncio.create_task(guarded.submit("k", REQUEST))
        await asyncio.sleep(0.01)
        probe.cancel()
        await asyncio.gather(probe, return_exceptions=True)
        assert guarded.state is CircuitState.OPEN
        now[0] = 62
        gated.gate.set()
        gated.failing = False
        assert isinstance(await guarded.submit("k", REQUEST), Success)  # a new probe may go

    asyncio.run(scenario())
