"""The ledger history and usage range contracts, passed by every adapter: memory, SQLite,
Postgres."""

from __future__ import annotations

import asyncio
from datetime import date

from domain.ledger import TxKind, capture, grant, place_hold, release
from domain.ports import UnitOfWorkFactory, UsageDelta
from tests.contract.builders import add_user, at, new_id


def test_history_is_newest_first_with_the_balance_after_each(uow_factory: UnitOfWorkFactory,
                                                              runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner, other = await add_user(uow_factory), await add_user(uow_factory)
        hold1, hold_tx1 = place_hold(new_id("t"), new_id("h"), owner.id, 30, at(2), job_id="j1").unwrap()
        hold2, hold_tx2 = place_hold(new_id("t"), new_id("h"), owner.id, 20, at(3), job_id="j2").unwrap()
        _, captured = capture(hold1, 10, (new_id("t"), new_id("t")), at(4)).unwrap()
        _, released = release(hold2, new_id("t"), at(5)).unwrap()
        async with uow_factory() as uow:
            for tx in (grant(new_id("t"), owner.id, 100, at(0)).unwrap(), grant(new_id("t"), other.id, 7, at(1)).unwrap(),
                       hold_tx1, hold_tx2, *captured, released):
                assert await uow.ledger.apply(tx)
            await uow.commit()
        async with uow_factory() as uow:
            everything = await uow.ledger.history(owner.id, None, 100)
            first_page = await uow.ledger.history(owner.id, None, 2)
            rest = await uow.ledger.history(owner.id, first_page[-1].seq, 100)
            assert await uow.ledger.history(owner.id, everything[-1].seq, 100) == []
        kinds = [e.tx.kind for e in everything]
        assert kinds == [TxKind.RELEASE, TxKind.RELEASE, TxKind.CAPTURE, TxKind.HOLD, TxKind.HOLD, TxKind.GRANT]
        assert [(e.available_after, e.held_after) for e in everything] == [
            (90, 0), (70, 20), (50, 40), (50, 50), (70, 30), (100, 0)]
        assert [e.available_change for e in everything] == [20, 20, 0, -20, -30, 100]
        assert [e.tx.job_id for e in everything][:3] == ["j2", "j1", "j1"]
        assert first_page + rest == everything
        assert [e.seq for e in everything] == sorted((e.seq for e in everything), reverse=True)

    runner.run(scenario())


def test_usage_between_two_days(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner, other = await add_user(uow_factory), await add_user(uow_factory)
        async with uow_factory() as uow:
            for day in (date(2026, 1, 1), date(2026, 1, 3), date(2026, 1, 5)):
                await uow.usage.add(owner.id, day, UsageDelta(credits_spent=day.day))
            await uow.usage.add(other.id, date(2026, 1, 3), UsageDelta(credits_spent=99))
            assert await uow.usage.try_count_job(owner.id, date(2026, 1, 3), None)
            await uow.commit()
        async with uow_factory() as uow:
            found = await uow.usage.between(owner.id, date(2026, 1, 2), date(2026, 1, 5))
        assert [(u.day.day, u.credits_spent, u.jobs_created) for u in found] == [(3, 3, 1), (5, 5, 0)]

    runner.run(scenario())
