"""Failover of a routed job: after a provider-side failure it goes to its next candidate
provider (the rules are domain/routing.py), in the transaction that hands it back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from application.jobs.routing import fail_over
from application.models.catalog import ModelCatalog
from domain.jobs import Job
from domain.models import Model
from domain.ports import CircuitStates, UnitOfWork
from domain.providers import ProviderFailure


class Reroute:
    def __init__(self, catalog: ModelCatalog, circuits: CircuitStates) -> None:
        self._catalog = catalog
        self._circuits = circuits

    async def ready(self) -> ReadyReroute:
        """The catalog read (or cached) before the transaction opens."""
        return ReadyReroute(await self._catalog.models(), self._circuits)


class ReadyReroute:
    def __init__(self, models: Sequence[Model], circuits: CircuitStates) -> None:
        self._models = models
        self._circuits = circuits

    async def __call__(self, uow: UnitOfWork, job: Job, moved: Job, failure: ProviderFailure,
                       now: datetime) -> Job:
        """`moved` is `job` handed back to pending; one read (the accounts' health)."""
        return await fail_over(uow, self._circuits, self._models, job, moved, failure.kind, failure.code, now)
