"""The AccountRepository contract, passed by every adapter: memory, SQLite, Postgres.

Reservations are where money and concurrency meet: never more than max_concurrent_jobs
taken, credits never below zero, under any interleaving."""

from __future__ import annotations

import asyncio

import msgspec

from domain.accounts import AccountStatus, ProviderAccount
from domain.ports import UnitOfWorkFactory
from tests.contract.builders import T0, account, add_user, at


async def add_accounts(factory: UnitOfWorkFactory, *accounts: ProviderAccount) -> None:
    async with factory() as uow:
        for a in accounts:
            await uow.accounts.add(a)
        await uow.commit()


async def reserve(factory: UnitOfWorkFactory, account_id: str, cost: int = 1,
                  now_seconds: float = 0) -> ProviderAccount | None:
    async with factory() as uow:
        reserved = await uow.accounts.try_reserve(account_id, cost, at(now_seconds))
        await uow.commit()
        return reserved


async def stored(factory: UnitOfWorkFactory, account_id: str) -> ProviderAccount:
    async with factory() as uow:
        found = await uow.accounts.get(account_id)
    assert found is not None
    return found


def test_an_account_reads_back_as_it_was_added(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        full = account(owner_user_id=owner.id, credits=7, max_concurrent_jobs=4, current_jobs=2,
                       priority=-3, status=AccountStatus.COOLING_DOWN, cooldown_until=at(30),
                       consecutive_failures=2, success_count=10, failure_count=3, last_used_at=at(-5),
                       avg_generation_seconds=12.25)
        await add_accounts(uow_factory, full)
        assert await stored(uow_factory, full.id) == full
        async with uow_factory() as uow:
            assert await uow.accounts.get("missing") is None

    runner.run(scenario())


def test_find_and_candidates_separate_the_pool_from_private_accounts(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        ann, bob = await add_user(uow_factory), await add_user(uow_factory)
        shared = account(created_at=at(2))
        anns = account(owner_user_id=ann.id, created_at=at(1))
        bobs = account(owner_user_id=bob.id, created_at=at(3))
        elsewhere = account(provider_id="fal", created_at=at(0))
        await add_accounts(uow_factory, shared, anns, bobs, elsewhere)
        async with uow_factory() as uow:
            assert await uow.accounts.find() == [elsewhere, anns, shared, bobs]
            assert await uow.accounts.find(provider_id="sim") == [anns, shared, bobs]
            assert await uow.accounts.find(owner_user_id=ann.id) == [anns]
            assert await uow.accounts.find(shared_only=True) == [elsewhere, shared]
            assert await uow.accounts.candidates("sim", ann.id) == [anns, shared]
            assert await uow.accounts.candidates("fal", bob.id) == [elsewhere]
            assert await uow.accounts.count_owned(ann.id) == 1
            assert await uow.accounts.delete(anns.id)
            assert not await uow.accounts.delete(anns.id)
            assert await uow.accounts.count_owned(ann.id) == 0

    runner.run(scenario())


def test_update_writes_admin_fields_only(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        original = account(credits=50, max_concurrent_jobs=3, current_jobs=1)
        await add_accounts(uow_factory, original)
        edited = msgspec.structs.replace(
            original, label="renamed", secret="sk-new", status=AccountStatus.DISABLED, priority=9,
            max_concurrent_jobs=5, cooldown_until=at(60), credits=0, current_jobs=0, success_count=99)
        async with uow_factory() as uow:
            await uow.accounts.update(edited)
            await uow.commit()
        assert await stored(uow_factory, original.id) == msgspec.structs.replace(
            edited, credits=50, current_jobs=1, success_count=0)

    runner.run(scenario())


def test_save_health_writes_health_fields_only(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        original = account(credits=50)
        await add_accounts(uow_factory, original)
        assert await reserve(uow_factory, original.id, cost=5) is not None
        health = msgspec.structs.replace(
            original, status=AccountStatus.COOLING_DOWN, cooldown_until=at(90), consecutive_failures=1,
            success_count=4, failure_count=2, avg_generation_seconds=3.5, label="ignored", credits=1)
        async with uow_factory() as uow:
            await uow.accounts.save_health(health)
            await uow.commit()
        assert await stored(uow_factory, original.id) == msgspec.structs.replace(
            health, label=original.label, credits=45, current_jobs=1, last_used_at=T0)

    runner.run(scenario())


def test_a_reservation_takes_a_slot_and_the_cost(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        original = account(credits=10, max_concurrent_jobs=2)
        await add_accounts(uow_factory, original)
        first = await reserve(uow_factory, original.id, cost=4, now_seconds=7)
        assert first == msgspec.structs.replace(original, current_jobs=1, credits=6, last_used_at=at(7))
        assert await stored(uow_factory, original.id) == first
        assert await reserve(uow_factory, original.id, cost=6) is not None  # exactly the credits left
        assert await reserve(uow_factory, original.id, cost=0) is None  # both slots taken
        assert await stored(uow_factory, original.id) == msgspec.structs.replace(
            original, current_jobs=2, credits=0, last_used_at=at(0))

    runner.run(scenario())


def test_a_reservation_never_takes_credits_below_zero(uow_factory: UnitOfWorkFactory,
                                                      runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        poor = account(credits=3, max_concurrent_jobs=5)
        await add_accounts(uow_factory, poor)
        assert await reserve(uow_factory, poor.id, cost=4) is None
        assert await reserve(uow_factory, poor.id, cost=-1) is None
        assert await reserve(uow_factory, "missing") is None
        assert await stored(uow_factory, poor.id) == poor

    runner.run(scenario())


def test_only_usable_accounts_are_reserved(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        disabled = account(status=AccountStatus.DISABLED)
        exhausted = account(status=AccountStatus.EXHAUSTED)
        cooling = account(status=AccountStatus.COOLING_DOWN, cooldown_until=at(60))
        await add_accounts(uow_factory, disabled, exhausted, cooling)
        assert await reserve(uow_factory, disabled.id) is None
        assert await reserve(uow_factory, exhausted.id) is None
        assert await reserve(uow_factory, cooling.id, now_seconds=59) is None
        reserved = await reserve(uow_factory, cooling.id, now_seconds=60)  # the cooldown has run out
        assert reserved is not None and reserved.current_jobs == 1

    runner.run(scenario())


def test_concurrent_reservations_never_pass_the_maximum(uow_factory: UnitOfWorkFactory,
                                                        runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        pool = account(credits=100, max_concurrent_jobs=3)
        await add_accounts(uow_factory, pool)
        results = await asyncio.gather(*(reserve(uow_factory, pool.id, cost=2) for _ in range(12)))
        assert sum(r is not None for r in results) == 3
        after = await stored(uow_factory, pool.id)
        assert (after.current_jobs, after.credits) == (3, 94)

    runner.run(scenario())


def test_release_gives_back_the_slot_and_the_refund(uow_factory: UnitOfWorkFactory,
                                                    runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        original = account(credits=10, max_concurrent_jobs=1)
        await add_accounts(uow_factory, original)
        assert await reserve(uow_factory, original.id, cost=4) is not None
        async with uow_factory() as uow:
            await uow.accounts.free_slot(original.id, refund=3)
            await uow.accounts.free_slot(original.id, refund=-5)  # a negative refund takes nothing
            await uow.accounts.free_slot("missing", refund=1)
            await uow.commit()
        after = await stored(uow_factory, original.id)
        assert (after.current_jobs, after.credits) == (0, 9)

    runner.run(scenario())


def test_credits_are_added_and_taken_but_never_below_zero(uow_factory: UnitOfWorkFactory,
                                                          runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        original = account(credits=5)
        await add_accounts(uow_factory, original)
        async with uow_factory() as uow:
            added = await uow.accounts.try_add_credits(original.id, 10)
            assert added is not None and added.credits == 15
            assert await uow.accounts.try_add_credits(original.id, -16) is None
            emptied = await uow.accounts.try_add_credits(original.id, -15)
            assert emptied == msgspec.structs.replace(original, credits=0)
            assert await uow.accounts.try_add_credits("missing", 1) is None
            await uow.commit()
        assert (await stored(uow_factory, original.id)).credits == 0

    runner.run(scenario())
