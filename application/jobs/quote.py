"""Price a job without creating it."""

from __future__ import annotations

import msgspec
from returns.result import Failure, Result, Success

from application.jobs.create import JobRequest, price_request
from application.models.catalog import ModelCatalog
from domain.errors import DomainError


class Quote(msgspec.Struct, frozen=True):
    credits: int


class QuoteJob:
    """Estimate the credits a job would cost.

    - The same checks as creating a job: model (or provider), operation and params; the
      model's price rule; a routed request (alias over several providers, or
      `provider_id: "auto"`) is quoted what it holds: the most any candidate costs.
    - Nothing is held, counted or stored.
    """

    def __init__(self, catalog: ModelCatalog) -> None:
        self._catalog = catalog

    async def __call__(self, request: JobRequest) -> Result[Quote, DomainError]:
        priced = price_request(await self._catalog.models(), request)
        if isinstance(priced, Failure):
            return Failure(priced.failure())
        return Success(Quote(priced.unwrap().held))
