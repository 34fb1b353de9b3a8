"""The model catalog as this replica sees it: the built-ins with the stored admin records."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import msgspec

from application.policy import CatalogPolicy
from domain.models import Model, effective, offered
from domain.ports import Clock, ProviderRegistry, UnitOfWork, UnitOfWorkFactory


class BuiltinModels(msgspec.Struct, frozen=True):
    models: tuple[Model, ...]


class ModelCatalog:
    """- The models of the providers this deployment runs: the built-ins, with the admins'
      records (additions, replacements, tombstones) read from the database.
    - The records are read at most once per `CatalogPolicy.cache_seconds` (5 s by default), so a job
      submit costs no extra round trip and an admin's change reaches every replica within
      that time; the replica that made the change sees it at once (`forget`).
    """

    def __init__(self, uow: UnitOfWorkFactory, providers: ProviderRegistry, builtins: BuiltinModels,
                 clock: Clock, policy: CatalogPolicy) -> None:
        self._uow = uow
        self._providers = providers
        self._builtins = builtins.models
        self._clock = clock
        self._ttl = timedelta(seconds=policy.cache_seconds)
        self._models: list[Model] | None = None
        self._read_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def models(self) -> list[Model]:
        cached = self._fresh()
        if cached is not None:
            return cached
        async with self._lock:  # one read per expiry, however many requests are waiting
            cached = self._fresh()
            if cached is not None:
                return cached
            read_at = self._clock.now()
            async with self._uow() as uow:
                models = await self.current(uow)
            self._models = models
            self._read_at = read_at
            return self._models

    async def current(self, uow: UnitOfWork) -> list[Model]:
        """The catalog as stored now, read in `uow` (no cache): what admins change."""
        return offered(effective(self._builtins, await uow.models.all()), self.provider_ids())

    def snapshot(self) -> list[Model]:
        """The catalog as last read (the built-ins before the first read), without waiting:
        for documents such as the served OpenAPI schema."""
        if self._models is not None:
            return self._models
        return offered(effective(self._builtins, []), self.provider_ids())

    def provider_ids(self) -> list[str]:
        return [info.id for info in self._providers.all()]

    def builtin(self, model_id: str) -> Model | None:
        return next((m for m in self._builtins if m.id == model_id), None)

    def _fresh(self) -> list[Model] | None:
        if self._models is None or self._read_at is None:
            return None
        age = self._clock.now() - self._read_at
        return self._models if timedelta(0) <= age < self._ttl else None

    def forget(self) -> None:
        self._models = None
        self._read_at = None
