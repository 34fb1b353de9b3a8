"""The SessionRepository contract, passed by every adapter: memory, SQLite, Postgres."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import msgspec

from domain.ports import UnitOfWorkFactory
from domain.users import Session, revoke, rotate
from tests.contract.builders import T0, add_user, at, new_id


def session(user_id: str, **changes: Any) -> Session:
    values: dict[str, Any] = {
        "id": new_id("s"), "user_id": user_id, "refresh_hash": "h" * 64, "created_at": T0,
        "expires_at": T0 + timedelta(days=30), "last_used_at": T0,
    }
    return Session(**{**values, **changes})


def test_a_session_reads_back_and_updates(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        created = session(owner.id, user_agent="curl/8", client_ip="203.0.113.9")
        async with uow_factory() as uow:
            await uow.sessions.add(created)
            await uow.commit()
        rotated = rotate(created, "a-new-secret-of-some-length", at(60))
        async with uow_factory() as uow:
            assert await uow.sessions.get(created.id) == created
            await uow.sessions.update(rotated)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.sessions.get(created.id) == rotated
            assert await uow.sessions.get("missing") is None

    runner.run(scenario())


def test_live_sessions_exclude_revoked_and_expired_newest_first(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner, other = await add_user(uow_factory), await add_user(uow_factory)
        old = session(owner.id, created_at=at(0))
        new = session(owner.id, created_at=at(100))
        expired = session(owner.id, created_at=at(50), expires_at=at(500))
        revoked = revoke(session(owner.id, created_at=at(60)), at(70))
        foreign = session(other.id)
        async with uow_factory() as uow:
            for s in (old, new, expired, revoked, foreign):
                await uow.sessions.add(s)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.sessions.list_live(owner.id, at(499)) == [new, expired, old]
            assert await uow.sessions.list_live(owner.id, at(500)) == [new, old]

    runner.run(scenario())


def test_revoke_all_counts_only_sessions_still_open(uow_factory: UnitOfWorkFactory,
                                                    runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner, other = await add_user(uow_factory), await add_user(uow_factory)
        already = revoke(session(owner.id), at(1))
        opened = [session(owner.id) for _ in range(3)]
        foreign = session(other.id)
        async with uow_factory() as uow:
            for s in (already, *opened, foreign):
                await uow.sessions.add(s)
            assert await uow.sessions.revoke_all(owner.id, at(10)) == 3
            assert await uow.sessions.revoke_all(owner.id, at(20)) == 0
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.sessions.get(already.id) == already
            for s in opened:
                assert await uow.sessions.get(s.id) == msgspec.structs.replace(s, revoked_at=at(10))
            assert await uow.sessions.get(foreign.id) == foreign

    runner.run(scenario())


def test_whether_a_user_logged_in_from_a_client_since_a_time(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    """Revoked and expired sessions count: logging out does not make a client a stranger."""
    async def scenario() -> None:
        owner, other = await add_user(uow_factory), await add_user(uow_factory)
        async with uow_factory() as uow:
            await uow.sessions.add(revoke(session(owner.id, client_ip="203.0.113.9", created_at=at(100)), at(101)))
            await uow.sessions.add(session(owner.id, client_ip="198.51.100.7", created_at=at(10)))
            await uow.sessions.add(session(other.id, client_ip="192.0.2.1", created_at=at(100)))
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.sessions.seen_from(owner.id, "203.0.113.9", at(100))
            assert not await uow.sessions.seen_from(owner.id, "203.0.113.9", at(101))
            assert await uow.sessions.seen_from(owner.id, "198.51.100.7", at(0))
            assert not await uow.sessions.seen_from(owner.id, "198.51.100.7", at(11))
            assert not await uow.sessions.seen_from(owner.id, "192.0.2.1", at(0))
            assert not await uow.sessions.seen_from("nobody", "203.0.113.9", at(0))

    runner.run(scenario())
