"""The UsageRepository contract, passed by every adapter: memory, SQLite, Postgres."""

from __future__ import annotations

import asyncio
from datetime import date

from domain.ports import UnitOfWorkFactory, UsageDelta
from domain.quotas import DailyUsage
from tests.contract.builders import add_user

DAY = date(2025, 3, 1)
NEXT_DAY = date(2025, 3, 2)


async def count_jobs(factory: UnitOfWorkFactory, user_id: str, day: date, limit: int | None,
                     times: int) -> list[bool]:
    async with factory() as uow:
        results = [await uow.usage.try_count_job(user_id, day, limit) for _ in range(times)]
        await uow.commit()
        return results


def test_jobs_are_counted_up_to_the_daily_limit(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        assert await count_jobs(uow_factory, owner.id, DAY, 3, 5) == [True] * 3 + [False] * 2
        assert await count_jobs(uow_factory, owner.id, DAY, 4, 2) == [True, False]  # a raised limit
        assert await count_jobs(uow_factory, owner.id, DAY, 0, 1) == [False]
        async with uow_factory() as uow:
            assert (await uow.usage.get(owner.id, DAY)).jobs_created == 4

    runner.run(scenario())


def test_no_limit_means_unlimited(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        assert await count_jobs(uow_factory, owner.id, DAY, None, 25) == [True] * 25

    runner.run(scenario())


def test_days_and_users_count_independently(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        ann, bob = await add_user(uow_factory), await add_user(uow_factory)
        assert await count_jobs(uow_factory, ann.id, DAY, 1, 2) == [True, False]
        assert await count_jobs(uow_factory, ann.id, NEXT_DAY, 1, 2) == [True, False]
        assert await count_jobs(uow_factory, bob.id, DAY, 1, 1) == [True]

    runner.run(scenario())


def test_other_counters_accumulate(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        async with uow_factory() as uow:
            assert await uow.usage.get(owner.id, DAY) == DailyUsage(user_id=owner.id, day=DAY)
            await uow.usage.add(owner.id, DAY, UsageDelta(jobs_completed=1, assets_created=2,
                                                          credits_spent=5, bytes_stored=1000))
            assert await uow.usage.try_count_job(owner.id, DAY, 10)
            await uow.usage.add(owner.id, DAY, UsageDelta(jobs_completed=1, bytes_stored=24))
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.usage.get(owner.id, DAY) == DailyUsage(
                user_id=owner.id, day=DAY, jobs_created=1, jobs_completed=2, assets_created=2,
                credits_spent=5, bytes_stored=1024)
            assert await uow.usage.get(owner.id, NEXT_DAY) == DailyUsage(user_id=owner.id, day=NEXT_DAY)

    runner.run(scenario())


def test_concurrent_counting_accepts_exactly_the_limit(uow_factory: UnitOfWorkFactory,
                                                       runner: asyncio.Runner) -> None:
    async def one(user_id: str) -> bool:
        return (await count_jobs(uow_factory, user_id, DAY, 4, 1))[0]

    async def scenario() -> None:
        owner = await add_user(uow_factory)
        results = await asyncio.gather(*(one(owner.id) for _ in range(12)))
        assert sum(results) == 4

    runner.run(scenario())
