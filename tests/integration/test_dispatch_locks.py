"""Dispatch's row locks against the pipeline's other writers, on Postgres: no deadlock.

A claim locks the accounts of its candidates' providers, then their users. A completing
job first inserts its assets (a foreign key: the insert takes a key-share lock on the
user's row), then frees its account's slot. Were the claim to lock the user FOR UPDATE, it
would wait on that key-share lock while holding the account the completing job waits for:
a cycle, which Postgres breaks by killing one of them. FOR NO KEY UPDATE (the lock any
UPDATE takes) does not conflict with key-share locks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from adapters.sql.engine import create_engine
from adapters.sql.uow import SqlUnitOfWorkFactory
from domain.accounts import PreferPrivateThenPriority
from domain.quotas import QuotaPolicy
from tests.contract.builders import T0, account, asset, job, user

pytestmark = pytest.mark.postgres


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


@pytest.fixture
def factory(pg_clean_url: str, runner: asyncio.Runner) -> Iterator[SqlUnitOfWorkFactory]:
    async def make() -> SqlUnitOfWorkFactory:
        return SqlUnitOfWorkFactory(create_engine(pg_clean_url))

    made = runner.run(make())
    yield made
    runner.run(made.engine.dispose())


def test_a_claim_and_a_completing_job_of_the_same_user_never_deadlock(
        factory: SqlUnitOfWorkFactory, runner: asyncio.Runner) -> None:
    owner = user(quota=QuotaPolicy(max_concurrent_jobs=None))
    pool = account(max_concurrent_jobs=5, current_jobs=1)
    waiting = job(owner.id)

    async def claim() -> list[str]:
        async with factory() as uow:
            claimed = await uow.jobs.claim_and_reserve(T0, "claimer", T0.replace(hour=13), 5,
                                                       PreferPrivateThenPriority())
            await uow.commit()
        return [j.id for j in claimed.jobs]

    async def scenario() -> None:
        async with factory() as uow:
            assert await uow.users.add(owner)
            await uow.accounts.add(pool)
            assert await uow.jobs.add(waiting)
            await uow.commit()
        async with factory() as completing:
            assert await completing.assets.add(asset(owner.id))  # key-share lock on the user's row
            claiming = asyncio.create_task(claim())
            await asyncio.sleep(0.5)  # the claim holds the account and reaches the user's row
            await completing.accounts.free_slot(pool.id, 0)  # waits for the claim's account lock
            await completing.commit()
        assert await asyncio.wait_for(claiming, 10) == [waiting.id]
        async with factory() as uow:
            after = await uow.accounts.get(pool.id)
        assert after is not None and after.current_jobs == 1  # one slot freed, one reserved

    runner.run(scenario())
