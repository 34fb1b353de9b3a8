"""The failure codes the pipeline itself gives (providers add their own), and the shared
shapes of a step's outcome."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from enum import StrEnum
from typing import TypeVar

from returns.result import Failure, Result

from domain.accounts import FailureKind
from domain.errors import DomainError, ErrorCode
from domain.providers import ProviderFailure

T = TypeVar("T")


class FailureCode(StrEnum):
    """Why an attempt ended, when the pipeline (not the provider) is the one to say."""

    PROVIDER_TIMEOUT = "PROVIDER_TIMEOUT"  # a call to the provider did not answer in time
    PROVIDER_CANCELLED = "PROVIDER_CANCELLED"  # the provider reports the job cancelled
    PROVIDER_ERROR = ErrorCode.PROVIDER_ERROR.value  # the provider reports a failure without a code
    ACCOUNT_REMOVED = "ACCOUNT_REMOVED"  # the reserved account was deleted meanwhile
    SUBMIT_OUTCOME_UNKNOWN = "SUBMIT_OUTCOME_UNKNOWN"  # answer lost, provider cannot look it up
    JOB_NOT_FOUND = "JOB_NOT_FOUND"  # the provider does not know a job it accepted
    INPUT_UNAVAILABLE = "INPUT_UNAVAILABLE"  # an input asset is gone
    MODEL_GONE = "MODEL_GONE"  # the job's model was removed from the catalog meanwhile


class Step(StrEnum):
    CONTINUE = "continue"  # more to do right away
    WAITING = "waiting"  # back to pending, or waiting on the provider
    DONE = "done"  # terminal


def lease_lost(job_id: str) -> DomainError:
    return DomainError(ErrorCode.LEASE_LOST, f"job {job_id} is no longer leased to this worker")


def timed_out(what: str) -> ProviderFailure:
    return ProviderFailure(kind=FailureKind.TRANSIENT, code=FailureCode.PROVIDER_TIMEOUT,
                           message=f"{what} timed out")


class ProviderCalls:
    """Every outbound call has a timeout; a timeout is a transient provider failure."""

    def __init__(self, timeout_seconds: float) -> None:
        self._timeout = timeout_seconds

    async def call(self, call: Awaitable[Result[T, ProviderFailure]], what: str) -> Result[T, ProviderFailure]:
        try:
            return await asyncio.wait_for(call, self._timeout)
        except TimeoutError:
            return Failure(timed_out(what))

    async def best_effort(self, call: Awaitable[None]) -> None:
        with contextlib.suppress(TimeoutError, OSError):
            await asyncio.wait_for(call, self._timeout)
