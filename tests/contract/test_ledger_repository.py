"""The LedgerRepository contract, passed by every adapter: memory, SQLite, Postgres.

A transaction that would take a user's available or held balance below zero is refused
whole: no balance moves and no transaction is recorded."""

from __future__ import annotations

import asyncio

from domain.ledger import (
    CreditBalance,
    CreditHold,
    LedgerTransaction,
    capture,
    grant,
    invariant_violations,
    place_hold,
    release,
)
from domain.ports import UnitOfWorkFactory
from tests.contract.builders import add_user, at, new_id


def granted(user_id: str, amount: int) -> LedgerTransaction:
    return grant(new_id("tx"), user_id, amount, at(0), memo="signup").unwrap()


def held(user_id: str, amount: int) -> tuple[CreditHold, LedgerTransaction]:
    return place_hold(new_id("tx"), new_id("hold"), user_id, amount, at(1), job_id=new_id("j")).unwrap()


async def apply(factory: UnitOfWorkFactory, *txs: LedgerTransaction) -> list[bool]:
    async with factory() as uow:
        results = [await uow.ledger.apply(tx) for tx in txs]
        await uow.commit()
        return results


async def balance(factory: UnitOfWorkFactory, user_id: str) -> CreditBalance:
    async with factory() as uow:
        return await uow.ledger.balance(user_id)


def test_grants_and_holds_move_the_balance(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        assert await balance(uow_factory, owner.id) == CreditBalance(owner.id, 0, 0)
        _, hold_tx = held(owner.id, 30)
        assert await apply(uow_factory, granted(owner.id, 100), hold_tx) == [True, True]
        assert await balance(uow_factory, owner.id) == CreditBalance(owner.id, 70, 30)

    runner.run(scenario())


def test_a_transaction_that_would_go_negative_writes_nothing(uow_factory: UnitOfWorkFactory,
                                                             runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner, newcomer = await add_user(uow_factory), await add_user(uow_factory)
        first = granted(owner.id, 10)
        assert await apply(uow_factory, first) == [True]
        too_much = held(owner.id, 11)[1]
        nothing_yet = held(newcomer.id, 1)[1]  # no balance row at all
        assert await apply(uow_factory, too_much, nothing_yet) == [False, False]
        assert await balance(uow_factory, owner.id) == CreditBalance(owner.id, 10, 0)
        assert await balance(uow_factory, newcomer.id) == CreditBalance(newcomer.id, 0, 0)
        async with uow_factory() as uow:
            assert await uow.ledger.transactions() == [first]
            assert await uow.ledger.transactions(newcomer.id) == []

    runner.run(scenario())


def test_a_zero_hold_is_recorded(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        _, free = held(owner.id, 0)
        assert await apply(uow_factory, free) == [True]
        async with uow_factory() as uow:
            assert await uow.ledger.transactions(owner.id) == [free]

    runner.run(scenario())


def test_holds_settle_exactly_once(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner, other = await add_user(uow_factory), await add_user(uow_factory)
        hold, hold_tx = held(owner.id, 8)
        other_hold, other_tx = held(other.id, 0)
        async with uow_factory() as uow:
            assert await uow.ledger.apply(granted(owner.id, 20))
            assert await uow.ledger.apply(hold_tx)
            await uow.ledger.add_hold(hold)
            assert await uow.ledger.apply(other_tx)
            await uow.ledger.add_hold(other_hold)
            await uow.commit()
        captured, capture_txs = capture(hold, 5, (new_id("tx"), new_id("tx")), at(10)).unwrap()
        released, _ = release(hold, new_id("tx"), at(11)).unwrap()
        async with uow_factory() as uow:
            assert await uow.ledger.get_hold(hold.id) == hold
            assert await uow.ledger.settle_hold(captured)
            for tx in capture_txs:
                assert await uow.ledger.apply(tx)
            assert not await uow.ledger.settle_hold(released)  # already captured
            assert not await uow.ledger.settle_hold(CreditHold(id="missing", user_id=owner.id, amount=1,
                                                               created_at=at(0)))
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.ledger.get_hold(hold.id) == captured
            assert await uow.ledger.get_hold("missing") is None
            assert await uow.ledger.holds(owner.id) == [captured]
            assert {h.id for h in await uow.ledger.holds()} == {hold.id, other_hold.id}
            assert await uow.ledger.balance(owner.id) == CreditBalance(owner.id, 15, 0)
            txs = await uow.ledger.transactions(owner.id)
            assert [t.kind for t in txs] == ["grant", "hold", "capture", "release"]
            assert txs[2:] == capture_txs
            assert invariant_violations(await uow.ledger.transactions(), await uow.ledger.holds()) == []

    runner.run(scenario())


def test_a_rolled_back_transaction_leaves_no_trace(uow_factory: UnitOfWorkFactory,
                                                   runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        async with uow_factory() as uow:
            assert await uow.ledger.apply(granted(owner.id, 5))
        assert await balance(uow_factory, owner.id) == CreditBalance(owner.id, 0, 0)
        async with uow_factory() as uow:
            assert await uow.ledger.transactions() == []

    runner.run(scenario())


def test_concurrent_holds_never_overdraw(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def debit(user_id: str) -> bool:
        async with uow_factory() as uow:
            ok = await uow.ledger.apply(held(user_id, 1)[1])
            await uow.commit()
            return ok

    async def scenario() -> None:
        owner = await add_user(uow_factory)
        await apply(uow_factory, granted(owner.id, 5))
        results = await asyncio.gather(*(debit(owner.id) for _ in range(12)))
        assert sum(results) == 5
        assert await balance(uow_factory, owner.id) == CreditBalance(owner.id, 0, 5)
        async with uow_factory() as uow:
            assert len(await uow.ledger.transactions(owner.id)) == 6

    runner.run(scenario())
