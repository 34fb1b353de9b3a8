"""The AuditRepository contract, passed by every adapter: memory, SQLite, Postgres."""

from __future__ import annotations

import asyncio

from domain.audit import AuditEntry, AuditFilter
from domain.pagination import Cursor, decode_cursor
from domain.ports import UnitOfWorkFactory
from tests.contract.builders import at, new_id


def entry(seconds: float, actor: str | None = "admin", action: str = "account.update",
          resource: tuple[str, str] = ("account", "a1")) -> AuditEntry:
    return AuditEntry(id=new_id("au"), at=at(seconds), actor_id=actor, action=action,
                      resource_type=resource[0], resource_id=resource[1],
                      details={"changed": ["label"], "nested": {"n": 1.5, "ok": True}})


async def everything(factory: UnitOfWorkFactory, where: AuditFilter, limit: int) -> list[AuditEntry]:
    found: list[AuditEntry] = []
    cursor: Cursor | None = None
    async with factory() as uow:
        while True:
            page = await uow.audit.page(where, cursor, limit)
            assert len(page.items) <= limit
            found += page.items
            if page.next_cursor is None:
                return found
            decoded = decode_cursor(page.next_cursor)
            assert isinstance(decoded, Cursor)
            cursor = decoded


def test_entries_filter_and_page_newest_first(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    entries = [
        entry(0), entry(10, actor=None, action="job.reap", resource=("job", "j1")),
        entry(10, action="user.grant_credits", resource=("user", "u1")), entry(10), entry(20),
        entry(30, actor="other", resource=("account", "a2")),
    ]
    newest_first = sorted(entries, key=lambda e: (e.at, e.id), reverse=True)

    async def scenario() -> None:
        async with uow_factory() as uow:
            for e in entries:
                await uow.audit.add(e)
            await uow.commit()
        assert await everything(uow_factory, AuditFilter(), 2) == newest_first
        assert await everything(uow_factory, AuditFilter(actor_id="admin"), 10) == [
            e for e in newest_first if e.actor_id == "admin"]
        assert await everything(uow_factory, AuditFilter(action="job.reap"), 10) == [entries[1]]
        by_resource = AuditFilter(resource_type="account", resource_id="a1")
        assert await everything(uow_factory, by_resource, 10) == [
            e for e in newest_first if e.resource_id == "a1"]
        assert len(await everything(uow_factory, by_resource, 10)) == 3
        window = AuditFilter(since=at(10), until=at(30))  # half open: 10 <= at < 30
        assert await everything(uow_factory, window, 1) == [e for e in newest_first if at(10) <= e.at < at(30)]
        assert await everything(uow_factory, AuditFilter(actor_id="nobody"), 5) == []

    runner.run(scenario())
