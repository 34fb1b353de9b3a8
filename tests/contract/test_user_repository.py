"""The UserRepository contract, passed by every adapter: memory, SQLite, Postgres."""

from __future__ import annotations

import asyncio

import msgspec

from domain.pagination import Cursor, decode_cursor
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.quotas import ADMIN_DEFAULT, QuotaPolicy
from domain.users import Role, User
from tests.contract.builders import add_user, at, in_uow, user


async def _get(factory: UnitOfWorkFactory, user_id: str) -> User | None:
    async def work(uow: UnitOfWork) -> User | None:
        return await uow.users.get(user_id)

    return await in_uow(factory, work, commit=False)


def test_a_user_reads_back_as_it_was_added(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    admin = user(role=Role.ADMIN, quota=ADMIN_DEFAULT, is_active=False, storage_bytes=5, running_jobs=1)
    custom = user(quota=QuotaPolicy(max_jobs_per_day=3, max_concurrent_jobs=None,
                                    max_storage_bytes=10**12, max_private_accounts=0))

    async def scenario() -> None:
        async with uow_factory() as uow:
            assert await uow.users.add(admin)
            assert await uow.users.add(custom)
            await uow.commit()
        assert await _get(uow_factory, admin.id) == admin
        assert await _get(uow_factory, custom.id) == custom
        assert await _get(uow_factory, "nobody") is None

    runner.run(scenario())


def test_email_lookup_ignores_case(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        created = await add_user(uow_factory, email="mixed@example.com")
        async with uow_factory() as uow:
            assert await uow.users.get_by_email("MiXeD@Example.COM") == created
            assert await uow.users.get_by_email("other@example.com") is None

    runner.run(scenario())


def test_email_and_username_are_unique_ignoring_case(uow_factory: UnitOfWorkFactory,
                                                     runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        first = await add_user(uow_factory, email="ann@example.com", username="Ann")
        async with uow_factory() as uow:
            assert not await uow.users.add(user(email="ann@example.com"))
            assert not await uow.users.add(user(username="aNN"))
            assert await uow.users.add(user(username="Ann2"))
            # a refused add leaves the unit of work usable
            assert await uow.users.count() == 2
            await uow.commit()
        assert await _get(uow_factory, first.id) == first

    runner.run(scenario())


def test_update_changes_the_profile_but_never_the_usage_counters(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        created = await add_user(uow_factory)
        async with uow_factory() as uow:
            assert await uow.users.try_add_storage(created.id, 500, None)
            await uow.commit()
        changed = msgspec.structs.replace(
            created, role=Role.ADMIN, is_active=False, password_hash="new-hash",
            quota=QuotaPolicy(max_jobs_per_day=None, max_concurrent_jobs=1),
            storage_bytes=0, running_jobs=9,
        )
        async with uow_factory() as uow:
            await uow.users.update(changed)
            await uow.commit()
        assert await _get(uow_factory, created.id) == msgspec.structs.replace(
            changed, storage_bytes=500, running_jobs=0)

    runner.run(scenario())


def test_pages_run_newest_first_with_ids_breaking_ties(uow_factory: UnitOfWorkFactory,
                                                       runner: asyncio.Runner) -> None:
    times = [at(0), at(10), at(10), at(10), at(20), at(5), at(30)]

    async def scenario() -> None:
        made = [await add_user(uow_factory, created_at=t) for t in times]
        expected = [u.id for u in sorted(made, key=lambda u: (u.created_at, u.id), reverse=True)]
        seen: list[str] = []
        cursor: Cursor | None = None
        async with uow_factory() as uow:
            assert await uow.users.count() == len(times)
            while True:
                page = await uow.users.page(cursor, 2)
                assert len(page.items) <= 2
                seen += [u.id for u in page.items]
                if page.next_cursor is None:
                    break
                decoded = decode_cursor(page.next_cursor)
                assert isinstance(decoded, Cursor)
                cursor = decoded
        assert seen == expected

    runner.run(scenario())


def test_a_page_that_ends_exactly_has_no_next_cursor(uow_factory: UnitOfWorkFactory,
                                                    runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        for i in range(2):
            await add_user(uow_factory, created_at=at(i))
        async with uow_factory() as uow:
            page = await uow.users.page(None, 2)
            assert len(page.items) == 2
            assert page.next_cursor is None
            assert (await uow.users.page(None, 1)).next_cursor is not None

    runner.run(scenario())


def test_storage_grows_up_to_the_limit_and_never_below_zero(uow_factory: UnitOfWorkFactory,
                                                            runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        created = await add_user(uow_factory)
        async with uow_factory() as uow:
            storage = uow.users.try_add_storage
            assert await storage(created.id, 60, 100)
            assert await storage(created.id, 40, 100)  # exactly at the limit
            assert not await storage(created.id, 1, 100)
            assert await storage(created.id, 10**10, None)  # unlimited
            assert await storage(created.id, -(10**11), 100)  # shrinking is always allowed
            assert not await storage("nobody", 1, None)
            await uow.commit()
        stored = await _get(uow_factory, created.id)
        assert stored is not None and stored.storage_bytes == 0

    runner.run(scenario())


def test_releasing_a_run_slot_never_goes_below_zero(uow_factory: UnitOfWorkFactory,
                                                    runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        created = await add_user(uow_factory)
        async with uow_factory() as uow:
            await uow.users.release_run_slot(created.id)
            await uow.users.release_run_slot("nobody")
            await uow.commit()
        stored = await _get(uow_factory, created.id)
        assert stored is not None and stored.running_jobs == 0

    runner.run(scenario())


def test_concurrent_storage_additions_never_pass_the_limit(uow_factory: UnitOfWorkFactory,
                                                           runner: asyncio.Runner) -> None:
    async def add_bytes(user_id: str) -> bool:
        async with uow_factory() as uow:
            added = await uow.users.try_add_storage(user_id, 30, 100)
            await uow.commit()
            return added

    async def scenario() -> None:
        created = await add_user(uow_factory)
        results = await asyncio.gather(*(add_bytes(created.id) for _ in range(8)))
        assert sum(results) == 3
        stored = await _get(uow_factory, created.id)
        assert stored is not None and stored.storage_bytes == 90

    runner.run(scenario())
