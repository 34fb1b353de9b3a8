"""Quotas, reservations, credits and claims stay exact on Postgres under real contention:
two OS processes, each running many tasks on their own connections, released together."""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import date
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

import pytest

from adapters.sql.engine import create_engine
from adapters.sql.uow import SqlUnitOfWorkFactory
from domain.accounts import PreferPrivateThenPriority
from domain.ledger import CreditBalance, grant, invariant_violations, place_hold
from domain.ports import UnitOfWorkFactory
from domain.quotas import QuotaPolicy
from tests.contract.builders import T0, account, job, user

pytestmark = pytest.mark.postgres

PROCESSES = 2
TASKS = 25  # per process: 50 contenders in all
DAY = date(2025, 3, 1)
SPAWN = multiprocessing.get_context("spawn")  # no inherited event loop or pooled sockets


# ---------------------------------------------------------------- what each process runs


async def create_jobs(factory: UnitOfWorkFactory, user_id: str) -> int:
    async def one() -> bool:
        async with factory() as uow:
            if not await uow.usage.try_count_job(user_id, DAY, 10):
                return False
            assert await uow.jobs.add(job(user_id, id=uuid.uuid4().hex))
            await uow.commit()
            return True

    return sum(await asyncio.gather(*(one() for _ in range(TASKS))))


async def reserve_and_keep(factory: UnitOfWorkFactory, account_id: str) -> int:
    async def one() -> bool:
        async with factory() as uow:
            reserved = await uow.accounts.try_reserve(account_id, 2, T0)
            await uow.commit()
            return reserved is not None

    return sum(await asyncio.gather(*(one() for _ in range(TASKS))))


async def reserve_and_release(factory: UnitOfWorkFactory, account_id: str, held: Any) -> int:
    """Reservations made; `held` is shared by the processes: [held now, most held at once].
    It counts a reservation after its commit and stops before its release, so it never
    shows more than the database holds."""
    made = 0

    async def one() -> None:
        nonlocal made
        for _ in range(4):
            async with factory() as uow:
                reserved = await uow.accounts.try_reserve(account_id, 2, T0)
                await uow.commit()
            if reserved is None:
                await asyncio.sleep(0.002)
                continue
            made += 1
            with held.get_lock():
                held[0] += 1
                held[1] = max(held[1], held[0])
            await asyncio.sleep(0.005)
            with held.get_lock():
                held[0] -= 1
            async with factory() as uow:
                await uow.accounts.free_slot(account_id, refund=2)
                await uow.commit()

    await asyncio.gather(*(one() for _ in range(TASKS)))
    return made


async def debit(factory: UnitOfWorkFactory, user_id: str) -> int:
    async def one() -> bool:
        hold, tx = place_hold(uuid.uuid4().hex, uuid.uuid4().hex, user_id, 1, T0).unwrap()
        async with factory() as uow:
            if not await uow.ledger.apply(tx):
                return False
            await uow.ledger.add_hold(hold)
            await uow.commit()
            return True

    return sum(await asyncio.gather(*(one() for _ in range(TASKS))))


async def claim_all(factory: UnitOfWorkFactory, worker: str) -> list[str]:
    async def claimer(name: str) -> list[str]:
        taken: list[str] = []
        empty = 0
        while empty < 3:
            async with factory() as uow:
                batch = (await uow.jobs.claim_and_reserve(T0, name, T0.replace(hour=13), 25,
                                                          PreferPrivateThenPriority())).jobs
                await uow.commit()
            taken += [j.id for j in batch]
            empty = 0 if batch else empty + 1
            await asyncio.sleep(0 if batch else 0.01)
        return taken

    found = await asyncio.gather(*(claimer(f"{worker}-{n}") for n in range(3)))
    return [job_id for taken in found for job_id in taken]


ROLES: dict[str, Callable[..., Awaitable[Any]]] = {
    "create_jobs": create_jobs, "reserve_and_keep": reserve_and_keep,
    "reserve_and_release": reserve_and_release, "debit": debit, "claim_all": claim_all,
}


def run_role(role: str, url: str, args: tuple[Any, ...], go: Event, results: Queue[Any]) -> None:
    async def main() -> Any:
        engine = create_engine(url, pool_size=TASKS, max_overflow=0)
        try:
            # Open every connection before the start signal, so that the race is on the
            # statements and not on connecting.
            connections = [await engine.connect() for _ in range(TASKS)]
            for connection in connections:
                await connection.close()
            results.put("ready")
            await asyncio.to_thread(go.wait, 60)
            return await ROLES[role](SqlUnitOfWorkFactory(engine), *args)
        finally:
            await engine.dispose()

    results.put(("done", asyncio.run(main())))


def in_processes(role: str, url: str, *args: Any, per_process: Callable[[int], tuple[Any, ...]] | None = None
                 ) -> list[Any]:
    go, results = SPAWN.Event(), SPAWN.Queue()
    processes = [
        SPAWN.Process(target=run_role, args=(role, url, per_process(n) if per_process else args, go, results))
        for n in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            assert results.get(timeout=60) == "ready"
        go.set()
        answers = [results.get(timeout=120) for _ in processes]
    except queue.Empty:
        pytest.fail(f"a {role} process did not answer in time")
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert all(p.exitcode == 0 for p in processes), [p.exitcode for p in processes]
    return [answer for _, answer in answers]


# ---------------------------------------------------------------- the tests


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


def test_fifty_creations_against_a_daily_limit_of_ten_accept_ten(
        pg_clean_url: str, factory: SqlUnitOfWorkFactory, runner: asyncio.Runner) -> None:
    owner = user(quota=QuotaPolicy(max_jobs_per_day=10))

    async def setup() -> None:
        async with factory() as uow:
            assert await uow.users.add(owner)
            await uow.commit()

    runner.run(setup())
    assert sum(in_processes("create_jobs", pg_clean_url, owner.id)) == 10

    async def check() -> None:
        async with factory() as uow:
            assert (await uow.usage.get(owner.id, DAY)).jobs_created == 10
            assert await uow.jobs.count_by_status() == {"pending": 10}

    runner.run(check())


def test_fifty_reservations_of_an_account_with_three_slots_take_three(
        pg_clean_url: str, factory: SqlUnitOfWorkFactory, runner: asyncio.Runner) -> None:
    pool = account(credits=1000, max_concurrent_jobs=3)

    async def setup() -> None:
        async with factory() as uow:
            await uow.accounts.add(pool)
            await uow.commit()

    runner.run(setup())
    assert sum(in_processes("reserve_and_keep", pg_clean_url, pool.id)) == 3

    async def check() -> None:
        async with factory() as uow:
            stored = await uow.accounts.get(pool.id)
            assert stored is not None and (stored.current_jobs, stored.credits) == (3, 994)

    runner.run(check())


def test_reservations_churning_never_hold_more_than_three(
        pg_clean_url: str, factory: SqlUnitOfWorkFactory, runner: asyncio.Runner) -> None:
    pool = account(credits=1000, max_concurrent_jobs=3)

    async def setup() -> None:
        async with factory() as uow:
            await uow.accounts.add(pool)
            await uow.commit()

    runner.run(setup())
    held = SPAWN.Array("i", 2)
    made = in_processes("reserve_and_release", pg_clean_url, pool.id, held)
    assert sum(made) > 3  # slots were taken, given back and taken again
    assert 0 < held[1] <= 3  # never more than three in use at once

    async def check() -> None:
        async with factory() as uow:
            stored = await uow.accounts.get(pool.id)
            assert stored is not None and (stored.current_jobs, stored.credits) == (0, 1000)

    runner.run(check())


def test_fifty_debits_of_one_against_a_balance_of_ten_take_ten(
        pg_clean_url: str, factory: SqlUnitOfWorkFactory, runner: asyncio.Runner) -> None:
    owner = user()

    async def setup() -> None:
        async with factory() as uow:
            assert await uow.users.add(owner)
            assert await uow.ledger.apply(grant("grant-1", owner.id, 10, T0).unwrap())
            await uow.commit()

    runner.run(setup())
    assert sum(in_processes("debit", pg_clean_url, owner.id)) == 10

    async def check() -> None:
        async with factory() as uow:
            assert await uow.ledger.balance(owner.id) == CreditBalance(owner.id, 0, 10)
            assert len(await uow.ledger.holds(owner.id)) == 10
            assert invariant_violations(await uow.ledger.transactions(), await uow.ledger.holds()) == []

    runner.run(check())


def test_two_worker_processes_claim_a_thousand_jobs_each_exactly_once(
        pg_clean_url: str, factory: SqlUnitOfWorkFactory, runner: asyncio.Runner) -> None:
    owners = [user(quota=QuotaPolicy(max_concurrent_jobs=None)) for _ in range(5)]
    limited = user(quota=QuotaPolicy(max_concurrent_jobs=7))
    free_jobs = [job(owners[i % 5].id, priority=i % 11, id=f"free-{i:04d}") for i in range(1000)]
    limited_jobs = [job(limited.id, priority=0, id=f"limited-{i:02d}") for i in range(30)]
    pool = account(credits=1_000_000, max_concurrent_jobs=5000)

    async def setup() -> None:
        async with factory() as uow:
            await uow.accounts.add(pool)
            for u in (*owners, limited):
                assert await uow.users.add(u)
            for j in (*free_jobs, *limited_jobs):
                assert await uow.jobs.add(j)
            await uow.commit()

    runner.run(setup())
    claimed = [job_id for taken in in_processes("claim_all", pg_clean_url, per_process=lambda n: (f"w{n}",))
               for job_id in taken]
    assert len(claimed) == len(set(claimed))
    assert {j for j in claimed if j.startswith("free-")} == {j.id for j in free_jobs}
    assert sum(j.startswith("limited-") for j in claimed) == 7

    async def check() -> None:
        async with factory() as uow:
            assert await uow.jobs.count_by_status() == {"processing": 1007, "pending": 23}
            for owner in owners:
                stored = await uow.users.get(owner.id)
                assert stored is not None and stored.running_jobs == 200
            stored = await uow.users.get(limited.id)
            assert stored is not None and stored.running_jobs == 7
            reserved = await uow.accounts.get(pool.id)
            assert reserved is not None and reserved.current_jobs == 1007

    runner.run(check())


def test_two_worker_processes_start_only_as_many_jobs_as_the_accounts_have_slots(
        pg_clean_url: str, factory: SqlUnitOfWorkFactory, runner: asyncio.Runner) -> None:
    owner = user(quota=QuotaPolicy(max_concurrent_jobs=None))
    pools = [account(credits=1000, max_concurrent_jobs=3), account(credits=1000, max_concurrent_jobs=2)]
    jobs = [job(owner.id, priority=i % 11, id=f"job-{i:03d}") for i in range(200)]

    async def setup() -> None:
        async with factory() as uow:
            assert await uow.users.add(owner)
            for pool in pools:
                await uow.accounts.add(pool)
            for j in jobs:
                assert await uow.jobs.add(j)
            await uow.commit()

    runner.run(setup())
    claimed = [job_id for taken in in_processes("claim_all", pg_clean_url, per_process=lambda n: (f"w{n}",))
               for job_id in taken]
    assert len(claimed) == len(set(claimed)) == 5
    best = sorted(jobs, key=lambda j: (j.priority, j.created_at, j.id))[:5]
    assert sorted(claimed) == sorted(j.id for j in best)  # no dispatcher overtook another's better jobs

    async def check() -> None:
        async with factory() as uow:
            assert [(await uow.accounts.get(p.id)).current_jobs for p in pools] == [3, 2]  # type: ignore[union-attr]
            stored = await uow.users.get(owner.id)
            assert stored is not None and stored.running_jobs == 5

    runner.run(check())
