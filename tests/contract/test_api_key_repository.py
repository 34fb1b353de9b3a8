"""The ApiKeyRepository contract, passed by every adapter: memory, SQLite, Postgres."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import msgspec

from domain.api_keys import ApiKey, KeyOwner, Scope, hash_key_secret
from domain.ports import UnitOfWorkFactory
from domain.users import Role
from tests.contract.builders import T0, add_user, at, new_id


def api_key(user_id: str, **changes: Any) -> ApiKey:
    key_id = changes.pop("id", None) or new_id("k")
    values: dict[str, Any] = {
        "id": key_id, "user_id": user_id, "name": "backend", "secret_hash": hash_key_secret("s" * 40),
        "prefix": f"pxr_{key_id}_ssss", "scopes": (Scope.JOBS_READ, Scope.JOBS_WRITE), "created_at": T0,
    }
    return ApiKey(**{**values, **changes})


async def add(factory: UnitOfWorkFactory, *keys: ApiKey) -> None:
    async with factory() as uow:
        for key in keys:
            await uow.api_keys.add(key)
        await uow.commit()


def test_a_key_reads_back_with_its_owner(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory, role=Role.ADMIN)
        key = api_key(owner.id, expires_at=at(3600), created_by="someone",
                      scopes=(Scope.ADMIN, Scope.ASSETS_READ))
        await add(uow_factory, key)
        async with uow_factory() as uow:
            assert await uow.api_keys.get(key.id) == key
            found = await uow.api_keys.with_owner(key.id)
            assert found == (key, KeyOwner(role=Role.ADMIN, is_active=True))
            assert found is not None and found[1].role is Role.ADMIN and all(type(s) is Scope for s in found[0].scopes)
            assert await uow.api_keys.get("missing") is None
            assert await uow.api_keys.with_owner("missing") is None

    runner.run(scenario())


def test_the_owner_read_with_the_key_is_current(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        key = api_key(owner.id)
        await add(uow_factory, key)
        async with uow_factory() as uow:
            await uow.users.update(msgspec.structs.replace(owner, is_active=False))
            await uow.commit()
        async with uow_factory() as uow:
            found = await uow.api_keys.with_owner(key.id)
        assert found is not None and found[1] == KeyOwner(role=Role.USER, is_active=False)

    runner.run(scenario())


def test_live_keys_exclude_revoked_ones_newest_first(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner, other = await add_user(uow_factory), await add_user(uow_factory)
        old, new = api_key(owner.id, created_at=at(0)), api_key(owner.id, created_at=at(100))
        expired = api_key(owner.id, created_at=at(50), expires_at=at(60))
        doomed, foreign = api_key(owner.id, created_at=at(70)), api_key(other.id)
        await add(uow_factory, old, new, expired, doomed, foreign)
        async with uow_factory() as uow:
            assert await uow.api_keys.revoke(doomed.id, at(200))
            assert not await uow.api_keys.revoke(doomed.id, at(300))
            assert not await uow.api_keys.revoke("missing", at(300))
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.api_keys.live_for(owner.id) == [new, expired, old]
            assert await uow.api_keys.count_live(owner.id) == 3
            revoked = await uow.api_keys.get(doomed.id)
            assert revoked is not None and revoked.revoked_at == at(200)

    runner.run(scenario())


def test_touch_writes_only_a_stale_last_use(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        key = api_key(owner.id)
        await add(uow_factory, key)

        async def touched(now_s: float) -> Any:
            async with uow_factory() as uow:
                await uow.api_keys.touch(key.id, at(now_s), at(now_s) - timedelta(minutes=1))
                await uow.commit()
                found = await uow.api_keys.get(key.id)
            return found.last_used_at if found else None

        assert await touched(10) == at(10)
        assert await touched(40) == at(10)
        assert await touched(71) == at(71)

    runner.run(scenario())
