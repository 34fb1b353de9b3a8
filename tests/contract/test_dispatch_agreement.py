"""Where a dispatch rule is also written in SQL, the SQL must agree with the domain.

For random worlds (accounts in every state, users at and below their limits, pending jobs
with costs and exclusions, running jobs with leases and polls due or not), a claim by each
adapter (memory, SQLite, Postgres) must take exactly what the domain's own functions say:
which running jobs are due again (`is_due`: lease checks and next polls), which pending
jobs start (`has_free_account`, `dispatch_window`, `plan_dispatch`: eligibility,
reservation, claim order, run slots), on which account, and what the accounts hold after.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from adapters.memory.uow import InMemoryUnitOfWorkFactory
from adapters.sql.tables import accounts as accounts_table
from adapters.sql.tables import jobs as jobs_table
from adapters.sql.uow import SqlUnitOfWorkFactory
from domain.accounts import AccountStatus, PreferPrivateThenPriority, ProviderAccount
from domain.dispatch import dispatch_window, has_free_account, plan_dispatch, queue_order, room_under_limit
from domain.jobs import JobStatus, is_due
from domain.ports import UnitOfWorkFactory
from domain.quotas import QuotaPolicy
from domain.users import User
from tests.contract.builders import T0, account, job, user

NOW = T0 + timedelta(hours=1)
PROVIDERS = ("pa", "pb", "pc")
_world = itertools.count()

moments = st.sampled_from([None, NOW - timedelta(seconds=30), NOW, NOW + timedelta(seconds=30)])


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, Any]:
    n = next(_world)
    users = [user(id=f"w{n}u{i}", quota=QuotaPolicy(max_concurrent_jobs=draw(st.sampled_from([None, 0, 1, 2, 3]))),
                  running_jobs=draw(st.integers(0, 2))) for i in range(3)]
    pool: list[ProviderAccount] = []
    for i in range(draw(st.integers(0, 5))):
        slots = draw(st.integers(1, 3))
        status = draw(st.sampled_from([AccountStatus.ACTIVE] * 3 + list(AccountStatus)))  # most accounts usable: starts are common
        pool.append(account(
            id=f"w{n}a{i}", provider_id=draw(st.sampled_from(PROVIDERS[:2])),
            owner_user_id=draw(st.sampled_from([None, None, users[0].id, users[1].id])),
            status=status, cooldown_until=draw(moments) if status is AccountStatus.COOLING_DOWN else None,
            credits=draw(st.integers(0, 20)), max_concurrent_jobs=slots, current_jobs=draw(st.integers(0, slots)),
            priority=draw(st.integers(0, 2)),
            last_used_at=draw(st.sampled_from([None, T0, T0 + timedelta(minutes=1)]))))
    pending = [job(
        draw(st.sampled_from(users)).id, id=f"w{n}p{i}", provider_id=draw(st.sampled_from(PROVIDERS)),
        priority=draw(st.integers(0, 3)), created_at=T0 + timedelta(seconds=draw(st.integers(0, 3))),
        run_after=draw(st.sampled_from([T0, NOW, NOW + timedelta(seconds=1)])),
        cost_estimate=draw(st.integers(0, 10)), attempts=draw(st.integers(0, 2)), max_attempts=5,
        excluded_account_ids=tuple(a.id for a in pool if draw(st.booleans()) and draw(st.booleans())),
    ) for i in range(draw(st.integers(0, 10)))]
    running = [job(
        draw(st.sampled_from(users)).id, id=f"w{n}r{i}", status=JobStatus.PROCESSING,
        priority=draw(st.integers(0, 3)), created_at=T0 + timedelta(seconds=draw(st.integers(0, 3))),
        lease_token=draw(st.sampled_from([None, "held"])), lease_expires_at=draw(moments),
        next_poll_at=draw(moments), account_id=pool[0].id if pool else None, attempts=1,
    ) for i in range(draw(st.integers(0, 4)))]
    return {"users": users, "accounts": pool, "jobs": [*pending, *running], "limit": draw(st.integers(1, 6))}


def expected(world: dict[str, Any]) -> tuple[list[tuple[str, str | None]], dict[str, tuple[int, int]]]:
    """What the domain says one claim takes, and what the accounts hold after it."""
    users: dict[str, User] = {u.id: u for u in world["users"]}
    pool: list[ProviderAccount] = world["accounts"]
    limit: int = world["limit"]
    due = [j for j in world["jobs"] if is_due(j, NOW)]
    resumed = sorted((j for j in due if j.status is JobStatus.PROCESSING), key=queue_order)[:limit]
    startable = [j for j in due if j.status is JobStatus.PENDING and has_free_account(j, pool, NOW)]
    slots = {u.id: room_under_limit(u.quota.max_concurrent_jobs, u.running_jobs) for u in users.values()}
    room = limit - len(resumed)
    placed = plan_dispatch(dispatch_window(startable, slots, room), pool, slots, PreferPrivateThenPriority(),
                           NOW, room)
    after = {a.id: (a.current_jobs, a.credits) for a in pool}
    after.update({p.account.id: (p.account.current_jobs, p.account.credits) for p in placed})
    taken = [(j.id, j.account_id) for j in resumed] + [(p.job.id, p.account.id) for p in placed]
    return sorted(taken), after


async def claimed(factory: UnitOfWorkFactory, world: dict[str, Any]) -> tuple[
        list[tuple[str, str | None]], dict[str, tuple[int, int]]]:
    async with factory() as uow:
        for u in world["users"]:
            assert await uow.users.add(u)
        for a in world["accounts"]:
            await uow.accounts.add(a)
        for j in world["jobs"]:
            assert await uow.jobs.add(j)
        await uow.commit()
    # The worker's step (on Postgres its own four round trips on the driver); the unit of
    # work's claim_and_reserve sends the same statements and is pinned by test_job_repository.
    result = await factory.claim(NOW, "claimer", NOW + timedelta(minutes=1), world["limit"],
                                 PreferPrivateThenPriority())
    assert [queue_order(j) for j in result.jobs] == sorted(queue_order(j) for j in result.jobs)
    async with factory() as uow:
        after = {}
        for a in world["accounts"]:
            found = await uow.accounts.get(a.id)
            assert found is not None
            after[a.id] = (found.current_jobs, found.credits)
    return sorted((j.id, j.account_id) for j in result.jobs), after


async def clear(factory: UnitOfWorkFactory) -> None:
    if isinstance(factory, SqlUnitOfWorkFactory):
        async with factory.engine.begin() as conn:
            await conn.execute(delete(jobs_table))
            await conn.execute(delete(accounts_table))
    elif isinstance(factory, InMemoryUnitOfWorkFactory):
        factory.store.state.jobs.clear()
        factory.store.state.accounts.clear()


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(world=worlds())
def test_a_claim_takes_what_the_domain_says(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner,
                                            world: dict[str, Any]) -> None:
    async def scenario() -> None:
        await clear(uow_factory)
        assert await claimed(uow_factory, world) == expected(world)

    runner.run(scenario())


def test_the_worlds_reach_the_interesting_cases() -> None:
    """The generator is not vacuous: starts, resumes and waits all happen in the sample."""
    seen = {"started": 0, "resumed": 0, "waiting": 0}

    @settings(max_examples=400, deadline=None, database=None)
    @given(world=worlds())
    def count(world: dict[str, Any]) -> None:
        taken, _ = expected(world)
        ids = {job_id for job_id, _ in taken}
        seen["started"] += any("p" in job_id.split("w")[1] for job_id in ids)
        seen["resumed"] += any("r" in job_id.split("w")[1] for job_id in ids)
        seen["waiting"] += any(j.status is JobStatus.PENDING and j.id not in ids and j.run_after <= NOW
                               for j in world["jobs"])

    count()
    assert all(v > 10 for v in seen.values()), seen
