"""The read steps (AtomicSteps.read_* and page_*), the same on every adapter: the credential
checked with the read, another user's or a deleted row absent, and pages equal to the
repositories' own pages (Postgres answers them from one hand-written statement)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import msgspec

from domain.assets import Asset, AssetSource, MediaType
from domain.credentials import Credential
from domain.jobs import Job, JobStatus
from domain.ledger import grant
from domain.pagination import Cursor, Page, decode_cursor
from domain.ports import AssetFilter, Authorized, JobFilter, UnitOfWork, UnitOfWorkFactory
from domain.quotas import DailyUsage
from domain.users import Session
from tests.contract.builders import T0, account, add_user, asset, at, in_uow, job


async def live_session(factory: UnitOfWorkFactory, user_id: str, revoked: bool = False) -> Credential:
    session = Session(id=uuid.uuid4().hex, user_id=user_id, refresh_hash="h", created_at=T0,
                      expires_at=T0 + timedelta(days=1), last_used_at=T0, revoked_at=T0 if revoked else None)

    async def work(uow: UnitOfWork) -> None:
        await uow.sessions.add(session)

    await in_uow(factory, work)
    return Credential.of_session(user_id, session.id)


def test_single_reads_check_the_credential_and_ownership(uow_factory: UnitOfWorkFactory,
                                                         runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        alice, bob = await add_user(uow_factory), await add_user(uow_factory)
        mine, theirs = job(alice.id), job(bob.id)
        kept, gone = asset(alice.id), asset(alice.id, deleted_at=T0)

        async def work(uow: UnitOfWork) -> None:
            for j in (mine, theirs):
                assert await uow.jobs.add(j)
            for a in (kept, gone):
                assert await uow.assets.add(a)
            assert await uow.ledger.apply(grant("g1", alice.id, 70, T0).unwrap())
            await uow.usage.try_count_job(alice.id, T0.date(), None)

        await in_uow(uow_factory, work)
        live, revoked = await live_session(uow_factory, alice.id), await live_session(uow_factory, alice.id, True)
        assert await uow_factory.read_job(live, mine.id, T0) == Authorized(True, mine)
        assert await uow_factory.read_job(live, theirs.id, T0) == Authorized(True, None)
        assert await uow_factory.read_job(live, "missing", T0) == Authorized(True, None)
        assert await uow_factory.read_asset(live, kept.id, T0) == Authorized(True, kept)
        assert await uow_factory.read_asset(live, gone.id, T0) == Authorized(True, None)
        standing = (await uow_factory.read_standing(live, T0)).value
        assert standing is not None and standing.user == alice
        assert (standing.balance.available, standing.balance.held) == (70, 0)
        assert standing.today == DailyUsage(user_id=alice.id, day=T0.date(), jobs_created=1)
        empty_day = (await uow_factory.read_standing(live, T0 + timedelta(hours=20))).value
        assert empty_day is not None and empty_day.today == DailyUsage(user_id=alice.id, day=at(72_000).date())
        for refused, now in ((revoked, T0), (live, T0 + timedelta(days=1)),
                             (Credential.of_session(bob.id, live.session_id or ""), T0),
                             (Credential.of_user("nobody"), T0)):
            assert await uow_factory.read_job(refused, mine.id, now) == Authorized(False)
            assert await uow_factory.read_asset(refused, kept.id, now) == Authorized(False)
            assert await uow_factory.read_standing(refused, now) == Authorized(False)
            assert (await uow_factory.page_jobs(refused, JobFilter(), None, 5, now)).granted is False
            assert (await uow_factory.page_assets(refused, AssetFilter(owner_id=alice.id), None, 5, now)
                    ).granted is False

    runner.run(scenario())


def test_pages_are_the_repositories_pages(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        alice, bob = await add_user(uow_factory), await add_user(uow_factory)
        statuses = [JobStatus.PENDING, JobStatus.COMPLETED]
        jobs = [job(alice.id, created_at=at(i // 2), status=statuses[i % 2], provider_id=("sim", "fal")[i % 3 == 0],
                    workspace_id=("w1", None)[i % 2]) for i in range(13)] + [job(bob.id)]
        assets = [asset(alice.id, created_at=at(i // 3), media_type=(MediaType.IMAGE, MediaType.VIDEO)[i % 2],
                        source=(AssetSource.UPLOADED, AssetSource.GENERATED)[i % 3 == 0])
                  for i in range(11)] + [asset(alice.id, deleted_at=T0), asset(bob.id)]

        async def work(uow: UnitOfWork) -> None:
            for j in jobs:
                assert await uow.jobs.add(j)
            for a in assets:
                assert await uow.assets.add(a)

        await in_uow(uow_factory, work)
        credential = await live_session(uow_factory, alice.id)
        job_filters = [JobFilter(), JobFilter(status=JobStatus.PENDING), JobFilter(provider_id="fal"),
                       JobFilter(operation_type="text_to_image", workspace_id="w1")]
        for where in job_filters:
            after: Cursor | None = None
            while True:
                got = await uow_factory.page_jobs(credential, msgspec.structs.replace(where, user_id="x"),
                                                  after, 4, T0)

                async def expected(uow: UnitOfWork, where: JobFilter = where,
                                   after: Cursor | None = after) -> Page[Job]:
                    return await uow.jobs.page(msgspec.structs.replace(where, user_id=alice.id), after, 4)

                assert got == Authorized(True, await in_uow(uow_factory, expected, commit=False))
                assert got.value is not None
                if got.value.next_cursor is None:
                    break
                decoded = decode_cursor(got.value.next_cursor)
                assert isinstance(decoded, Cursor)
                after = decoded
        for asset_where in [AssetFilter(owner_id="x"), AssetFilter(owner_id="x", media_type=MediaType.VIDEO),
                            AssetFilter(owner_id="x", source=AssetSource.GENERATED)]:
            got_assets = await uow_factory.page_assets(credential, asset_where, None, 100, T0)

            async def expected_assets(uow: UnitOfWork, where: AssetFilter = asset_where) -> Page[Asset]:
                return await uow.assets.page(msgspec.structs.replace(where, owner_id=alice.id), None, 100)

            assert got_assets == Authorized(True, await in_uow(uow_factory, expected_assets, commit=False))

    runner.run(scenario())


def test_a_routed_jobs_accounts_are_its_providers_shared_ones_and_the_users_own_without_secrets(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        alice, bob = await add_user(uow_factory), await add_user(uow_factory)
        pool, hers = account(created_at=at(1)), account(owner_user_id=alice.id, created_at=at(2), credits=5)
        busy = account(provider_id="sim_b", created_at=at(3), current_jobs=2)
        others = (account(owner_user_id=bob.id, created_at=at(4)), account(provider_id="fal", created_at=at(5)))

        async def work(uow: UnitOfWork) -> None:
            for each in (pool, hers, busy, *others):
                await uow.accounts.add(each)

        await in_uow(uow_factory, work)
        read = await uow_factory.read_route_accounts(["sim", "sim_b"], alice.id)
        assert read == [msgspec.structs.replace(a, secret="") for a in (pool, hers, busy)]
        assert await uow_factory.read_route_accounts(["veo"], alice.id) == []

    runner.run(scenario())
