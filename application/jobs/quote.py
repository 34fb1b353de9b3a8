"""Price a job without creating it."""

from __future__ import annotations

import msgspec
from returns.result import Failure, Result, Success

from application.jobs.create import JobRequest, price_request
from domain.errors import DomainError
from domain.ports import ProviderRegistry


class Quote(msgspec.Struct, frozen=True):
    credits: int


class QuoteJob:
    """Estimate the credits a job would cost.

    - The same checks as creating a job: provider, operation and params.
    - Nothing is held, counted or stored.
    """

    def __init__(self, providers: ProviderRegistry) -> None:
        self._providers = providers

    async def __call__(self, request: JobRequest) -> Result[Quote, DomainError]:
        priced = price_request(self._providers, request)
        if isinstance(priced, Failure):
            return Failure(priced.failure())
        return Success(Quote(priced.unwrap().cost))
