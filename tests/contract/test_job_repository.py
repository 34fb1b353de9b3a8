"""The JobRepository contract, passed by every adapter: memory, SQLite, Postgres.

claim_and_reserve is the heart of the worker pipeline: these tests pin its rules (priority
then age, run_after, parents, expired leases, per-user run slots, each job to one claimer,
an account reserved with every start). Its dispatch rules under contention (accounts as the
bottleneck) are in test_dispatch.py."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import msgspec

from domain.accounts import PreferPrivateThenPriority
from domain.jobs import Job, JobPhase, JobStatus, OperationType
from domain.pagination import Cursor, decode_cursor
from domain.ports import JobFilter, UnitOfWorkFactory
from domain.quotas import QuotaPolicy
from domain.routing import JobRoute
from tests.contract.builders import T0, account, add_user, at, job

LEASE = at(300)


async def add_jobs(factory: UnitOfWorkFactory, *jobs: Job) -> None:
    async with factory() as uow:
        for j in jobs:
            assert await uow.jobs.add(j)
        await uow.commit()


async def claim(factory: UnitOfWorkFactory, now_seconds: float = 0, limit: int = 10,
                token: str = "lease-1") -> list[Job]:
    async with factory() as uow:
        claimed = await uow.jobs.claim_and_reserve(at(now_seconds), token, at(now_seconds + 300), limit,
                                                   PreferPrivateThenPriority())
        await uow.commit()
        return claimed.jobs


async def add_pool(factory: UnitOfWorkFactory, **changes: object) -> str:
    """A shared account roomy enough that accounts are never what a test waits on."""
    pool = account(**{"max_concurrent_jobs": 1000, "credits": 1_000_000, **changes})
    async with factory() as uow:
        await uow.accounts.add(pool)
        await uow.commit()
    return pool.id


async def stored(factory: UnitOfWorkFactory, job_id: str) -> Job:
    async with factory() as uow:
        found = await uow.jobs.get(job_id)
    assert found is not None
    return found


async def running_jobs(factory: UnitOfWorkFactory, user_id: str) -> int:
    async with factory() as uow:
        found = await uow.users.get(user_id)
    assert found is not None
    return found.running_jobs


def ids(jobs: list[Job]) -> list[str]:
    return [j.id for j in jobs]


def test_a_job_reads_back_as_it_was_added(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        parent = job(owner.id)
        full = job(
            owner.id, operation_type=OperationType.IMAGE_TO_VIDEO,
            params={"prompt": "π and emoji 🎞", "seconds": 4.5, "nested": {"list": [1, None, True]}},
            input_asset_ids=("as1", "as2"), workspace_id="ws", name="clip", priority=0,
            scheduled_at=at(60), run_after=at(60), parent_job_id=parent.id, attempts=2,
            max_attempts=5, error_code="TIMEOUT", error_message="took too long", account_id="acc",
            excluded_account_ids=("x", "y"), submission_id="sub", provider_job_id="pj",
            result_asset_ids=("r1",), cost_estimate=12, hold_id="hold", idempotency_key="key",
            request_fingerprint="f" * 64, lease_token="tok", lease_expires_at=at(90),
            started_at=at(61), completed_at=at(99), updated_at=at(99), version=4, model="sim/image",
            route=JobRoute(candidates=("sim/image", "sim_b/image"), failed=("sim_b/image",),
                           reason="failover: sim_b circuit open", params={"prompt": "p", "n": [1.5]}, held=3),
        )
        await add_jobs(uow_factory, parent, full)
        assert await stored(uow_factory, full.id) == full
        async with uow_factory() as uow:
            assert await uow.jobs.get("missing") is None

    runner.run(scenario())


def test_an_idempotency_key_gives_one_job_per_user(uow_factory: UnitOfWorkFactory,
                                                   runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        ann, bob = await add_user(uow_factory), await add_user(uow_factory)
        first = job(ann.id, idempotency_key="k1")
        async with uow_factory() as uow:
            assert await uow.jobs.add(first)
            assert not await uow.jobs.add(job(ann.id, idempotency_key="k1"))
            assert await uow.jobs.add(job(bob.id, idempotency_key="k1"))
            assert await uow.jobs.add(job(ann.id))  # no key: never a conflict
            assert await uow.jobs.add(job(ann.id))
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.jobs.find_by_idempotency_key(ann.id, "k1") == first
            assert await uow.jobs.find_by_idempotency_key(ann.id, "k2") is None
            assert (await uow.jobs.count_by_status()).get("pending") == 4

    runner.run(scenario())


def test_save_is_optimistic_on_the_version(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        original = job(owner.id)
        await add_jobs(uow_factory, original)
        first = msgspec.structs.replace(original, name="first writer", attempts=1)
        second = msgspec.structs.replace(original, name="second writer")
        async with uow_factory() as uow:
            assert await uow.jobs.save(first, expected_version=0)
            assert not await uow.jobs.save(second, expected_version=0)
            assert not await uow.jobs.save(job(owner.id), expected_version=0)  # never added
            await uow.commit()
        assert await stored(uow_factory, original.id) == msgspec.structs.replace(first, version=1)

    runner.run(scenario())


def test_pages_filter_and_run_newest_first(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        ann, bob = await add_user(uow_factory), await add_user(uow_factory)
        mine = [job(ann.id, created_at=at(i % 3), workspace_id="w1" if i % 2 else None) for i in range(7)]
        done = job(ann.id, created_at=at(10), status=JobStatus.COMPLETED, provider_id="other")
        await add_jobs(uow_factory, *mine, done, job(bob.id, created_at=at(50)))
        expected = [j.id for j in sorted([*mine, done], key=lambda j: (j.created_at, j.id), reverse=True)]
        seen: list[str] = []
        cursor: Cursor | None = None
        async with uow_factory() as uow:
            while True:
                page = await uow.jobs.page(JobFilter(user_id=ann.id), cursor, 3)
                seen += ids(page.items)
                if page.next_cursor is None:
                    break
                decoded = decode_cursor(page.next_cursor)
                assert isinstance(decoded, Cursor)
                cursor = decoded
            assert seen == expected
            by_status = await uow.jobs.page(JobFilter(user_id=ann.id, status=JobStatus.COMPLETED), None, 10)
            assert ids(by_status.items) == [done.id]
            by_provider = await uow.jobs.page(JobFilter(provider_id="other"), None, 10)
            assert ids(by_provider.items) == [done.id]
            by_operation = await uow.jobs.page(JobFilter(operation_type="upscale"), None, 10)
            assert by_operation.items == []
            in_workspace = await uow.jobs.page(JobFilter(workspace_id="w1"), None, 10)
            assert sorted(ids(in_workspace.items)) == sorted(j.id for j in mine if j.workspace_id)

    runner.run(scenario())


def test_claims_take_best_priority_then_oldest(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        await add_pool(uow_factory)
        owner = await add_user(uow_factory, quota=QuotaPolicy(max_concurrent_jobs=None))
        low_old = job(owner.id, priority=9, created_at=at(-100))
        high_new = job(owner.id, priority=0, created_at=at(-1))
        mid_old = job(owner.id, priority=5, created_at=at(-50))
        mid_new = job(owner.id, priority=5, created_at=at(-10))
        await add_jobs(uow_factory, low_old, mid_new, high_new, mid_old)
        first = await claim(uow_factory, limit=3)
        assert ids(first) == [high_new.id, mid_old.id, mid_new.id]
        assert ids(await claim(uow_factory, limit=3)) == [low_old.id]
        assert await claim(uow_factory) == []

    runner.run(scenario())


def test_a_claim_leases_the_job_and_starts_it(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        pool = await add_pool(uow_factory)
        owner = await add_user(uow_factory)
        pending = job(owner.id, version=3)
        await add_jobs(uow_factory, pending)
        [claimed] = await claim(uow_factory, now_seconds=5, token="tok-a")
        assert claimed == msgspec.structs.replace(
            pending, status=JobStatus.PROCESSING, lease_token="tok-a", lease_expires_at=at(305),
            claimed_at=at(5), updated_at=at(5), version=4, account_id=pool, attempts=1,
            phase=JobPhase.SUBMIT,
        )
        assert claimed.started_at is None  # started: when the provider accepts it
        assert await stored(uow_factory, pending.id) == claimed
        assert await running_jobs(uow_factory, owner.id) == 1
        async with uow_factory() as uow:
            reserved = await uow.accounts.get(pool)
        assert reserved is not None and reserved.current_jobs == 1

    runner.run(scenario())


def test_jobs_wait_for_their_run_after(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        await add_pool(uow_factory)
        owner = await add_user(uow_factory)
        later = job(owner.id, run_after=at(60))
        await add_jobs(uow_factory, later)
        assert await claim(uow_factory, now_seconds=59) == []
        assert ids(await claim(uow_factory, now_seconds=60)) == [later.id]

    runner.run(scenario())


def test_children_wait_until_their_parent_completes(uow_factory: UnitOfWorkFactory,
                                                    runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        await add_pool(uow_factory)
        owner = await add_user(uow_factory, quota=QuotaPolicy(max_concurrent_jobs=None))
        parent = job(owner.id, status=JobStatus.PROCESSING, lease_expires_at=at(1000), created_at=at(-10))
        failed = job(owner.id, status=JobStatus.FAILED, created_at=at(-10))
        child = job(owner.id, parent_job_id=parent.id, priority=0)
        orphan = job(owner.id, parent_job_id=failed.id, priority=0)
        await add_jobs(uow_factory, parent, failed, child, orphan)
        assert await claim(uow_factory) == []
        async with uow_factory() as uow:
            done = msgspec.structs.replace(parent, status=JobStatus.COMPLETED, lease_expires_at=None)
            assert await uow.jobs.save(done, expected_version=0)
            assert ids(await uow.jobs.dependents(parent.id)) == [child.id]
            assert ids(await uow.jobs.dependents(failed.id)) == [orphan.id]
            await uow.commit()
        assert ids(await claim(uow_factory)) == [child.id]
        async with uow_factory() as uow:
            assert ids(await uow.jobs.dependents(parent.id)) == [child.id]  # processing still waits
            running = await uow.jobs.get(child.id)
            assert running is not None
            ended = msgspec.structs.replace(running, status=JobStatus.COMPLETED)
            assert await uow.jobs.save(ended, expected_version=running.version)
            assert await uow.jobs.dependents(parent.id) == []
            await uow.commit()

    runner.run(scenario())


def test_processing_jobs_are_claimed_again_once_their_lease_expires(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        await add_pool(uow_factory)
        owner = await add_user(uow_factory, quota=QuotaPolicy(max_concurrent_jobs=1), running_jobs=1)
        crashed = job(owner.id, status=JobStatus.PROCESSING, lease_token="dead", lease_expires_at=at(30),
                      started_at=at(-100), account_id="acc", provider_job_id="remote-1")
        parked = job(owner.id, status=JobStatus.PROCESSING, lease_expires_at=None, started_at=at(-5))
        await add_jobs(uow_factory, crashed, parked)
        assert ids(await claim(uow_factory, now_seconds=10)) == [parked.id]
        assert await claim(uow_factory, now_seconds=29) == []
        [again] = await claim(uow_factory, now_seconds=30, token="fresh")
        assert again == msgspec.structs.replace(
            crashed, lease_token="fresh", lease_expires_at=at(330), updated_at=at(30), version=1)
        # re-leasing a running job takes no new run slot, even for a user at the limit
        assert await running_jobs(uow_factory, owner.id) == 1

    runner.run(scenario())


def test_a_user_at_their_run_limit_waits_without_blocking_others(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        await add_pool(uow_factory)
        busy = await add_user(uow_factory, quota=QuotaPolicy(max_concurrent_jobs=2))
        free = await add_user(uow_factory, quota=QuotaPolicy(max_concurrent_jobs=None))
        busy_jobs = [job(busy.id, priority=0, created_at=at(i)) for i in range(4)]
        free_jobs = [job(free.id, priority=5, created_at=at(i)) for i in range(3)]
        await add_jobs(uow_factory, *busy_jobs, *free_jobs)
        first = await claim(uow_factory, limit=4)
        assert ids(first) == [busy_jobs[0].id, busy_jobs[1].id, free_jobs[0].id, free_jobs[1].id]
        assert await running_jobs(uow_factory, busy.id) == 2
        assert await running_jobs(uow_factory, free.id) == 2
        assert ids(await claim(uow_factory, limit=4)) == [free_jobs[2].id]
        async with uow_factory() as uow:
            await uow.users.release_run_slot(busy.id)
            await uow.commit()
        assert ids(await claim(uow_factory, limit=4)) == [busy_jobs[2].id]
        assert await running_jobs(uow_factory, busy.id) == 2

    runner.run(scenario())


def test_a_user_with_no_free_slot_gets_nothing(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        await add_pool(uow_factory)
        blocked = await add_user(uow_factory, quota=QuotaPolicy(max_concurrent_jobs=0))
        await add_jobs(uow_factory, job(blocked.id))
        assert await claim(uow_factory) == []
        assert await running_jobs(uow_factory, blocked.id) == 0

    runner.run(scenario())


def test_a_claim_takes_at_most_its_limit(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        await add_pool(uow_factory)
        owner = await add_user(uow_factory, quota=QuotaPolicy(max_concurrent_jobs=None))
        await add_jobs(uow_factory, *(job(owner.id, created_at=at(i)) for i in range(5)))
        assert len(await claim(uow_factory, limit=2)) == 2
        assert len(await claim(uow_factory, limit=2)) == 2
        assert len(await claim(uow_factory, limit=2)) == 1
        assert await running_jobs(uow_factory, owner.id) == 5

    runner.run(scenario())


def test_a_rolled_back_claim_leaves_jobs_and_slots_untouched(uow_factory: UnitOfWorkFactory,
                                                             runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        pool = await add_pool(uow_factory)
        owner = await add_user(uow_factory)
        pending = job(owner.id)
        await add_jobs(uow_factory, pending)
        async with uow_factory() as uow:
            taken = await uow.jobs.claim_and_reserve(T0, "tok", LEASE, 5, PreferPrivateThenPriority())
            assert len(taken.jobs) == 1
        assert await stored(uow_factory, pending.id) == pending
        assert await running_jobs(uow_factory, owner.id) == 0
        async with uow_factory() as uow:
            untouched = await uow.accounts.get(pool)
        assert untouched is not None and untouched.current_jobs == 0

    runner.run(scenario())


def test_concurrent_claimers_take_each_job_once(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def claimer(name: str) -> list[str]:
        taken: list[str] = []
        while batch := await claim(uow_factory, limit=4, token=name):
            taken += ids(batch)
            await asyncio.sleep(0)
        return taken

    async def scenario() -> None:
        await add_pool(uow_factory)
        owners = [await add_user(uow_factory, quota=QuotaPolicy(max_concurrent_jobs=None)) for _ in range(3)]
        limited = await add_user(uow_factory, quota=QuotaPolicy(max_concurrent_jobs=3))
        jobs = [job(owners[i % 3].id, priority=i % 4, created_at=at(i)) for i in range(30)]
        jobs += [job(limited.id, created_at=at(i)) for i in range(6)]
        await add_jobs(uow_factory, *jobs)
        results = await asyncio.gather(*(claimer(f"worker-{n}") for n in range(3)))
        everything = [job_id for taken in results for job_id in taken]
        assert len(everything) == len(set(everything)) == 33
        assert await running_jobs(uow_factory, limited.id) == 3
        for owner in owners:
            assert await running_jobs(uow_factory, owner.id) == 10

    runner.run(scenario())


def test_counts_by_status_and_by_day(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        day1, day2 = T0.replace(hour=23, minute=59), T0 + timedelta(hours=12, minutes=1)  # crosses UTC midnight
        await add_jobs(
            uow_factory,
            job(owner.id, created_at=day1),
            job(owner.id, created_at=day1, status=JobStatus.FAILED),
            job(owner.id, created_at=day2),
            job(owner.id, created_at=day2, provider_id="other"),
            job(owner.id, created_at=T0 - timedelta(days=5)),
        )
        async with uow_factory() as uow:
            assert await uow.jobs.count_by_status() == {"pending": 4, "failed": 1}
            assert await uow.jobs.count_by_status("other") == {"pending": 1}
            assert await uow.jobs.daily_counts(T0 - timedelta(days=1)) == [
                ("other", date(2025, 3, 2), "pending", 1),
                ("sim", date(2025, 3, 1), "failed", 1),
                ("sim", date(2025, 3, 1), "pending", 1),
                ("sim", date(2025, 3, 2), "pending", 1),
            ]

    runner.run(scenario())
