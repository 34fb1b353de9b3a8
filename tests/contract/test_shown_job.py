"""GET of one job reads what explains a pending job's wait in the job's own step
(AtomicSteps.read_shown_job: one statement on Postgres, one hand-off on SQLite). The inputs
each adapter reads must give the answer the domain gives (domain/dispatch.py `why_waiting`)
from everything stored: hypothesis draws the accounts (other providers', other users',
every status, busy, cooling down), the parent and the user's limit; memory, SQLite and
Postgres must all answer as the domain does over the whole store."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import msgspec
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from domain.accounts import AccountStatus, ProviderAccount
from domain.credentials import Credential
from domain.dispatch import room_under_limit, why_waiting
from domain.jobs import JobStatus
from domain.ports import Authorized, UnitOfWork, UnitOfWorkFactory
from domain.quotas import QuotaPolicy
from tests.contract.builders import T0, account, add_user, at, in_uow, job

RULES = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

accounts_drawn = st.lists(st.tuples(
    st.sampled_from(["mine", "mine", "other provider"]),  # whose provider
    st.sampled_from(["shared", "shared", "own", "someone else's"]),  # whose account
    st.sampled_from(list(AccountStatus)),
    st.integers(0, 2),  # current jobs (of at most 2)
    st.sampled_from([None, -60, 60]),  # cooldown until, seconds from now
    st.sampled_from([0, 100]),  # credits
), max_size=5)


@RULES
@example(drawn=[("mine", "own", AccountStatus.ACTIVE, 0, None, 100)], limit=None, running=0, parent=None,
         run_after=0, cost=0)
@example(drawn=[("mine", "shared", AccountStatus.COOLING_DOWN, 0, 60, 100), ("mine", "own", AccountStatus.ACTIVE,
                                                                             2, None, 100)],
         limit=2, running=1, parent=JobStatus.COMPLETED, run_after=0, cost=50)
@given(drawn=accounts_drawn, limit=st.sampled_from([None, 1, 2]), running=st.integers(0, 2),
       parent=st.sampled_from([None, JobStatus.PENDING, JobStatus.COMPLETED]),
       run_after=st.sampled_from([0, 30]), cost=st.sampled_from([0, 50]))
def test_a_pending_jobs_wait_is_explained_as_the_domain_says(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner, drawn: list[tuple[str, str, AccountStatus, int,
                                                                                  int | None, int]],
        limit: int | None, running: int, parent: JobStatus | None, run_after: int, cost: int) -> None:
    async def scenario() -> None:
        now = at(10)
        alice = await add_user(uow_factory, quota=QuotaPolicy(max_concurrent_jobs=limit), running_jobs=running)
        bob = await add_user(uow_factory)
        provider, other = f"p{uuid.uuid4().hex[:8]}", f"q{uuid.uuid4().hex[:8]}"
        stored: list[ProviderAccount] = [
            account(provider_id=provider if whose_provider == "mine" else other,
                    owner_user_id={"shared": None, "own": alice.id, "someone else's": bob.id}[owner],
                    status=status, current_jobs=current, credits=credits, created_at=at(i),
                    cooldown_until=None if cooldown is None else now + timedelta(seconds=cooldown))
            for i, (whose_provider, owner, status, current, cooldown, credits) in enumerate(drawn)]
        before = job(alice.id, provider_id=provider, status=parent or JobStatus.PENDING)
        waiting = job(alice.id, provider_id=provider, parent_job_id=before.id if parent else None,
                      run_after=now + timedelta(seconds=run_after), cost_estimate=cost)

        async def work(uow: UnitOfWork) -> None:
            for a in stored:
                await uow.accounts.add(a)
            for j in (before, waiting):
                assert await uow.jobs.add(j)

        await in_uow(uow_factory, work)
        credential = Credential.of_user(alice.id)
        shown = await uow_factory.read_shown_job(credential, waiting.id, now)
        assert shown.granted and shown.value is not None and shown.value.job == waiting
        wait = shown.value.wait
        assert wait is not None
        assert all(a.secret == "" for a in wait.accounts)
        usable = [msgspec.structs.replace(a, secret="") for a in stored
                  if a.provider_id == provider and a.owner_user_id in (None, alice.id)]
        assert wait.accounts == usable
        read = why_waiting(waiting, wait.parent, room_under_limit(wait.max_concurrent_jobs, wait.running_jobs),
                           wait.accounts, now)
        expected = why_waiting(waiting, before if parent else None, room_under_limit(limit, running), stored, now)
        assert read == expected

    runner.run(scenario())


def test_only_a_pending_job_reads_its_wait_and_the_credential_is_checked(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        alice, bob = await add_user(uow_factory), await add_user(uow_factory)
        done = job(alice.id, status=JobStatus.COMPLETED)
        pending, theirs = job(alice.id), job(bob.id)

        async def work(uow: UnitOfWork) -> None:
            for j in (done, pending, theirs):
                assert await uow.jobs.add(j)

        await in_uow(uow_factory, work)
        mine = Credential.of_user(alice.id)
        shown = await uow_factory.read_shown_job(mine, done.id, T0)
        assert shown.value is not None and (shown.value.job, shown.value.wait) == (done, None)
        shown = await uow_factory.read_shown_job(mine, pending.id, T0)
        assert shown.value is not None and shown.value.wait is not None
        assert await uow_factory.read_shown_job(mine, theirs.id, T0) == Authorized(True, None)
        assert await uow_factory.read_shown_job(mine, "missing", T0) == Authorized(True, None)
        assert await uow_factory.read_shown_job(Credential.of_user("nobody"), pending.id, T0) == Authorized(False)

    runner.run(scenario())
