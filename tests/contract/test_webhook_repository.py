"""The WebhookRepository contract (replay protection), passed by memory, SQLite and Postgres."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from domain.ports import UnitOfWorkFactory

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def remember(factory: UnitOfWorkFactory, provider_id: str, webhook_id: str, commit: bool = True) -> bool:
    async with factory() as uow:
        fresh = await uow.webhooks.remember(provider_id, webhook_id, AT)
        if commit:
            await uow.commit()
        return fresh


def test_a_delivery_is_new_once_per_provider(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        assert await remember(uow_factory, "replicate", "msg_1")
        assert not await remember(uow_factory, "replicate", "msg_1")
        assert await remember(uow_factory, "fal", "msg_1")  # ids are per provider
        assert await remember(uow_factory, "replicate", "msg_2")

    runner.run(scenario())


def test_a_rolled_back_delivery_is_not_remembered(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        assert await remember(uow_factory, "replicate", "msg_9", commit=False)
        assert await remember(uow_factory, "replicate", "msg_9")

    runner.run(scenario())
