"""Dispatch under contention, on every adapter (memory, SQLite, Postgres): a pending job is
claimed only together with an account reserved for it, best priority then oldest first."""

from __future__ import annotations

import asyncio

import msgspec

from domain.accounts import AccountStatus, PreferPrivateThenPriority, ProviderAccount
from domain.jobs import Job, JobStatus
from domain.ports import UnitOfWorkFactory
from domain.quotas import QuotaPolicy
from tests.contract.builders import account, add_user, at, job

UNLIMITED = QuotaPolicy(max_concurrent_jobs=None)


async def add(factory: UnitOfWorkFactory, *items: Job | ProviderAccount) -> None:
    async with factory() as uow:
        for item in items:
            if isinstance(item, Job):
                assert await uow.jobs.add(item)
            else:
                await uow.accounts.add(item)
        await uow.commit()


async def claim(factory: UnitOfWorkFactory, now_seconds: float = 0, limit: int = 10,
                token: str = "lease") -> list[Job]:
    async with factory() as uow:
        claimed = await uow.jobs.claim_and_reserve(at(now_seconds), token, at(now_seconds + 300), limit,
                                                   PreferPrivateThenPriority())
        await uow.commit()
    assert claimed.started == {j.id for j in claimed.jobs if j.attempts and j.account_id}
    return claimed.jobs


async def finish(factory: UnitOfWorkFactory, done: Job, now_seconds: float) -> None:
    """What completing a job gives back: the account's slot and the user's run slot."""
    async with factory() as uow:
        ended = msgspec.structs.replace(done, status=JobStatus.COMPLETED, lease_token=None,
                                        lease_expires_at=None, completed_at=at(now_seconds))
        assert await uow.jobs.save(ended, done.version)
        assert done.account_id is not None
        await uow.accounts.free_slot(done.account_id, 0)
        await uow.users.release_run_slot(done.user_id)
        await uow.commit()


async def current_jobs(factory: UnitOfWorkFactory, account_id: str) -> int:
    async with factory() as uow:
        found = await uow.accounts.get(account_id)
    assert found is not None
    return found.current_jobs


def ids(jobs: list[Job]) -> list[str]:
    return [j.id for j in jobs]


def test_a_priority_0_job_runs_next_even_behind_six_queued_priority_10_jobs(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory, quota=UNLIMITED)
        only = account(max_concurrent_jobs=1)
        low = [job(owner.id, priority=10, created_at=at(i)) for i in range(6)]
        await add(uow_factory, only, *low)
        [first] = await claim(uow_factory, now_seconds=1)
        assert (first.id, first.account_id, first.attempts) == (low[0].id, only.id, 1)
        urgent = job(owner.id, priority=0, created_at=at(2), run_after=at(2))
        await add(uow_factory, urgent)
        assert await claim(uow_factory, now_seconds=3) == []  # the account is busy: nobody starts
        await finish(uow_factory, first, 4)
        [second] = await claim(uow_factory, now_seconds=5)
        assert second.id == urgent.id
        async with uow_factory() as uow:
            waiting = [await uow.jobs.get(j.id) for j in low[1:]]
        assert all(w is not None and w.status is JobStatus.PENDING and w.attempts == 0 for w in waiting)
        assert await current_jobs(uow_factory, only.id) == 1

    runner.run(scenario())


def test_a_provider_with_no_free_account_does_not_hold_back_another_providers_jobs(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory, quota=UNLIMITED)
        busy = account(max_concurrent_jobs=1)
        other = account(provider_id="other", max_concurrent_jobs=1)
        sims = [job(owner.id, priority=0, created_at=at(i)) for i in range(12)]
        elsewhere = job(owner.id, provider_id="other", priority=10, created_at=at(20))
        await add(uow_factory, busy, other, *sims, elsewhere)
        assert ids(await claim(uow_factory, limit=2)) == [sims[0].id, elsewhere.id]
        assert ids(await claim(uow_factory, limit=2)) == []

    runner.run(scenario())


def test_jobs_without_any_usable_account_wait_and_hold_back_nobody(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory, quota=UNLIMITED)
        poor = account(credits=5, max_concurrent_jobs=5)
        stranded = job(owner.id, provider_id="nowhere", priority=0)
        too_dear = job(owner.id, priority=0, cost_estimate=50)
        cheap = job(owner.id, priority=9, cost_estimate=5, created_at=at(1))
        await add(uow_factory, poor, stranded, too_dear, cheap)
        assert ids(await claim(uow_factory)) == [cheap.id]
        async with uow_factory() as uow:
            for waiting in (stranded, too_dear):
                found = await uow.jobs.get(waiting.id)
                assert found is not None and found.status is JobStatus.PENDING

    runner.run(scenario())


def test_a_private_account_serves_its_owner_while_the_shared_pool_is_busy(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        ann, bob = [await add_user(uow_factory, quota=UNLIMITED) for _ in range(2)]
        shared = account(max_concurrent_jobs=1)
        bobs = account(owner_user_id=bob.id, max_concurrent_jobs=1)
        anns_jobs = [job(ann.id, priority=0, created_at=at(i)) for i in range(3)]
        bobs_job = job(bob.id, priority=10, created_at=at(9))
        await add(uow_factory, shared, bobs, *anns_jobs, bobs_job)
        claimed = await claim(uow_factory)
        assert ids(claimed) == [anns_jobs[0].id, bobs_job.id]
        assert [j.account_id for j in claimed] == [shared.id, bobs.id]

    runner.run(scenario())


def test_the_best_account_is_reserved_and_one_that_failed_the_job_only_as_a_last_resort(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory, quota=UNLIMITED)
        best = account(priority=5, max_concurrent_jobs=1)
        fallback = account(priority=1, max_concurrent_jobs=1)
        retried = job(owner.id, excluded_account_ids=(best.id,), attempts=1)
        fresh = job(owner.id, created_at=at(1))
        await add(uow_factory, best, fallback, retried, fresh)
        claimed = await claim(uow_factory)
        assert [(j.id, j.account_id) for j in claimed] == [(retried.id, fallback.id), (fresh.id, best.id)]
        assert [j.attempts for j in claimed] == [2, 1]
        lonely = job(owner.id, excluded_account_ids=(best.id, fallback.id), created_at=at(2))
        await add(uow_factory, lonely)
        assert await claim(uow_factory) == []  # both busy
        await finish(uow_factory, claimed[1], 3)
        [last] = await claim(uow_factory, now_seconds=4)
        assert (last.id, last.account_id) == (lonely.id, best.id)

    runner.run(scenario())


def test_cooling_accounts_wait_for_their_cooldown(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory, quota=UNLIMITED)
        cooling = account(status=AccountStatus.COOLING_DOWN, cooldown_until=at(60))
        waiting = job(owner.id)
        await add(uow_factory, cooling, waiting)
        assert await claim(uow_factory, now_seconds=59) == []
        assert ids(await claim(uow_factory, now_seconds=60)) == [waiting.id]

    runner.run(scenario())


def test_the_users_limit_still_holds_and_lets_others_use_the_accounts(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        limited = await add_user(uow_factory, quota=QuotaPolicy(max_concurrent_jobs=1))
        free = await add_user(uow_factory, quota=UNLIMITED)
        pool = account(max_concurrent_jobs=3)
        mine = [job(limited.id, priority=0, created_at=at(i)) for i in range(3)]
        theirs = [job(free.id, priority=9, created_at=at(i)) for i in range(3)]
        await add(uow_factory, pool, *mine, *theirs)
        assert ids(await claim(uow_factory)) == [mine[0].id, theirs[0].id, theirs[1].id]
        assert await current_jobs(uow_factory, pool.id) == 3

    runner.run(scenario())


def test_concurrent_claimers_never_overbook_an_account(uow_factory: UnitOfWorkFactory,
                                                        runner: asyncio.Runner) -> None:
    async def claimer(name: str) -> list[str]:
        taken: list[str] = []
        for _ in range(4):
            taken += ids(await claim(uow_factory, limit=3, token=name))
            await asyncio.sleep(0)
        return taken

    async def scenario() -> None:
        owners = [await add_user(uow_factory, quota=UNLIMITED) for _ in range(3)]
        pools = [account(max_concurrent_jobs=2) for _ in range(3)]
        jobs = [job(owners[i % 3].id, priority=i % 5, created_at=at(i)) for i in range(20)]
        await add(uow_factory, *pools, *jobs)
        results = await asyncio.gather(*(claimer(f"worker-{n}") for n in range(3)))
        everything = [job_id for taken in results for job_id in taken]
        assert len(everything) == len(set(everything)) == 6
        best_six = [j.id for j in sorted(jobs, key=lambda j: (j.priority, j.created_at, j.id))[:6]]
        assert sorted(everything) == sorted(best_six)
        assert [await current_jobs(uow_factory, p.id) for p in pools] == [2, 2, 2]

    runner.run(scenario())
