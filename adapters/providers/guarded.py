"""A provider client wrapped in a circuit breaker, with latency stats and stage logs.

After `threshold` consecutive transient failures (5xx, timeouts, malformed answers) the
circuit opens for `open_seconds`: calls fail fast with CIRCUIT_OPEN and never reach the
provider, and the pipeline hands the job back without blaming any account. When the time is
up the circuit is half-open: exactly one probe call is let through, and every other call is
refused as if open until the probe's outcome is known; its success closes the circuit, its
failure (or its cancellation) opens it again for another `open_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from returns.result import Failure, Result

from domain.accounts import FailureKind
from domain.assets import Asset
from domain.errors import DomainError, ErrorCode
from domain.ports import ProviderClient, ProviderRegistry, UploadedInput
from domain.providers import (
    ProviderFailure,
    ProviderInfo,
    ProviderOutput,
    RemoteStatus,
    SubmitRequest,
    WebhookEvent,
)

T = TypeVar("T")
CIRCUIT_OPEN = "CIRCUIT_OPEN"
log = logging.getLogger("pixrelay.provider")


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CallStats:
    """Count and total seconds of calls per operation, for /metrics."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self.failures: dict[str, int] = {}

    def record(self, operation: str, seconds: float, failed: bool) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1
        self.seconds[operation] = self.seconds.get(operation, 0.0) + seconds
        if failed:
            self.failures[operation] = self.failures.get(operation, 0) + 1


class GuardedProvider:
    def __init__(self, inner: ProviderClient, *, threshold: int = 5, open_seconds: float = 30.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._inner = inner
        self._threshold = threshold
        self._open_seconds = open_seconds
        self._monotonic = monotonic
        self._consecutive = 0
        self._opened_at: float | None = None
        self._probing = False  # the half-open probe is in flight
        self.stats = CallStats()

    @property
    def info(self) -> ProviderInfo:
        return self._inner.info

    @property
    def probing(self) -> bool:
        return self._probing

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._monotonic() - self._opened_at >= self._open_seconds:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    async def _guard(self, operation: str, call: Callable[[], Awaitable[Result[T, ProviderFailure]]],
                     **context: str) -> Result[T, ProviderFailure]:
        state = self.state
        if state is CircuitState.OPEN or (state is CircuitState.HALF_OPEN and self._probing):
            return Failure(ProviderFailure(kind=FailureKind.UNAVAILABLE, code=CIRCUIT_OPEN,
                                           message=f"provider {self.info.id} circuit is open"))
        probe = state is CircuitState.HALF_OPEN
        if probe:
            self._probing = True  # no await between the check and this line: one probe only
        started = self._monotonic()
        try:
            result = await call()
        except asyncio.CancelledError:
            # The caller's own timeout gave up on the provider: as much a sign of a hung
            # provider as a timeout of ours, so it counts towards opening the circuit.
            self.stats.record(operation, self._monotonic() - started, True)
            self._observe(True, probe)
            raise
        except BaseException:
            if probe:
                self._probing = False  # a bug in a client must not leave the circuit stuck
            raise
        elapsed = self._monotonic() - started
        failure = result.failure() if isinstance(result, Failure) else None
        transient = failure is not None and failure.kind is FailureKind.TRANSIENT
        self.stats.record(operation, elapsed, failure is not None)
        self._observe(transient, probe)
        log.info("provider.%s", operation, extra={"provider": self.info.id, "seconds": round(elapsed, 4),
                                                   "outcome": failure.code if failure else "ok", **context})
        return result

    def _observe(self, transient_failure: bool, probe: bool) -> None:
        if probe:
            self._probing = False
        if not transient_failure:
            self._consecutive = 0
            self._opened_at = None
            return
        self._consecutive += 1
        if self._consecutive >= self._threshold or probe or self.state is CircuitState.HALF_OPEN:
            self._opened_at = self._monotonic()
            log.warning("provider.circuit_open", extra={"provider": self.info.id,
                                                        "consecutive_failures": self._consecutive})

    async def submit(self, secret: str, request: SubmitRequest) -> Result[str, ProviderFailure]:
        return await self._guard("submit", lambda: self._inner.submit(secret, request), reference=request.reference)

    async def find(self, secret: str, reference: str) -> Result[str | None, ProviderFailure]:
        return await self._guard("find", lambda: self._inner.find(secret, reference), reference=reference)

    async def status(self, secret: str, provider_job_id: str) -> Result[RemoteStatus, ProviderFailure]:
        return await self._guard("status", lambda: self._inner.status(secret, provider_job_id),
                                 provider_job_id=provider_job_id)

    async def cancel(self, secret: str, provider_job_id: str) -> None:
        await self._inner.cancel(secret, provider_job_id)

    async def upload(self, secret: str, asset: Asset, chunks: AsyncIterator[bytes],
                     now: datetime) -> Result[UploadedInput, ProviderFailure]:
        return await self._guard("upload", lambda: self._inner.upload(secret, asset, chunks, now),
                                 asset_id=asset.id)

    def download(self, output: ProviderOutput) -> AsyncIterator[bytes]:
        return self._inner.download(output)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime
                       ) -> Result[WebhookEvent, DomainError]:
        verifier = getattr(self._inner, "verify_webhook", None)
        if verifier is None:
            return Failure(DomainError(ErrorCode.NOT_FOUND, f"provider {self.info.id} sends no webhooks"))
        verified: Result[WebhookEvent, DomainError] = verifier(headers, body, now)
        return verified


class RegistryCircuits:
    """CircuitStates over the registry's guarded clients: open while a breaker refuses calls
    (open, or half-open with its one probe in flight)."""

    def __init__(self, registry: ProviderRegistry) -> None:
        self._registry = registry

    def is_open(self, provider_id: str) -> bool:
        client = self._registry.get(provider_id)
        if not isinstance(client, GuardedProvider):
            return False
        state = client.state
        return state is CircuitState.OPEN or (state is CircuitState.HALF_OPEN and client.probing)
