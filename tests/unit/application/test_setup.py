"""First-run setup and operator lookups."""

from __future__ import annotations

import asyncio

from returns.result import Failure

from application.setup import GENERATED_ADMIN_EMAIL, FirstRunSetup
from application.users.lookup import FindUserByEmail
from domain.errors import ErrorCode
from tests.support.seed import ActorStub, add_user
from tests.support.wiring import memory_wiring


def test_first_start_generates_an_admin_once_and_fills_the_pool_once() -> None:
    async def scenario() -> None:
        w = memory_wiring()
        setup = w.get(FirstRunSetup)
        first = (await setup(admin_email=None, admin_password=None, pools={"sim": 3})).unwrap()
        assert first.admin_email == GENERATED_ADMIN_EMAIL and first.generated_password
        assert first.accounts_created == 3
        again = (await setup(admin_email=None, admin_password=None, pools={"sim": 3})).unwrap()
        assert again.generated_password is None and again.accounts_created == 0
        async with w.ports.uow() as uow:
            admin = await uow.users.get_by_email(GENERATED_ADMIN_EMAIL)
            pool = await uow.accounts.find("sim", shared_only=True)
        assert admin is not None and admin.is_admin
        assert await w.ports.hasher.verify(admin.password_hash, first.generated_password or "")
        assert len(pool) == 3 and all(a.secret for a in pool) and len({a.secret for a in pool}) == 3

    asyncio.run(scenario())


def test_a_configured_admin_is_created_and_no_password_is_generated() -> None:
    async def scenario() -> None:
        w = memory_wiring()
        report = (await w.get(FirstRunSetup)(admin_email="Boss@Example.com", admin_password="s3cret-enough",
                                             pools={})).unwrap()
        assert report.admin_email == "Boss@Example.com" and report.generated_password is None
        async with w.ports.uow() as uow:
            assert await uow.users.count() == 1
            assert (await uow.users.get_by_email("boss@example.com")) is not None

    asyncio.run(scenario())


def test_an_installation_with_users_gets_no_generated_admin() -> None:
    async def scenario() -> None:
        w = memory_wiring()
        await add_user(w)
        report = (await w.get(FirstRunSetup)(admin_email=None, admin_password=None, pools={})).unwrap()
        assert report.admin_email is None and report.generated_password is None

    asyncio.run(scenario())


def test_a_bad_configured_admin_is_a_typed_failure() -> None:
    async def scenario() -> None:
        w = memory_wiring()
        result = await w.get(FirstRunSetup)(admin_email="not-an-email", admin_password="whatever1", pools={})
        assert isinstance(result, Failure) and result.failure().code is ErrorCode.VALIDATION_ERROR

    asyncio.run(scenario())


def test_find_user_by_email_is_for_admins_and_case_insensitive() -> None:
    async def scenario() -> None:
        w = memory_wiring()
        alice = await add_user(w)
        find = w.get(FindUserByEmail)
        found = (await find(ActorStub("op", is_admin=True), "ALICE@example.com")).unwrap()
        assert found.id == alice.user_id
        missing = await find(ActorStub("op", is_admin=True), "nobody@example.com")
        assert isinstance(missing, Failure) and missing.failure().code is ErrorCode.NOT_FOUND
        refused = await find(alice, "alice@example.com")
        assert isinstance(refused, Failure) and refused.failure().code is ErrorCode.FORBIDDEN

    asyncio.run(scenario())
