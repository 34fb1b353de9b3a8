"""The create-job atomic step (AtomicSteps.create_job), the same on every adapter: the
credential checked inside it, idempotency, the hold, the daily limit, all or nothing, and
exact under concurrency (Postgres runs it as one statement; many connections race here)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import msgspec
import pytest

from domain.audit import AuditEntry, AuditFilter
from domain.credentials import Credential
from domain.ledger import grant, invariant_violations, place_hold
from domain.ports import CreateOutcome, CreateStatus, JobDraft, JobFilter, UnitOfWork, UnitOfWorkFactory
from domain.quotas import QuotaPolicy
from domain.users import Session
from tests.contract.builders import T0, add_user, in_uow, job

DAY = T0.date()


def draft(user_id: str, cost: int = 10, key: str | None = None) -> JobDraft:
    job_id = uuid.uuid4().hex
    hold, tx = place_hold(uuid.uuid4().hex, uuid.uuid4().hex, user_id, cost, T0, job_id=job_id).unwrap()
    return JobDraft(
        job=job(user_id, id=job_id, cost_estimate=cost, hold_id=hold.id, idempotency_key=key,
                request_fingerprint="fp"),
        hold=hold, hold_tx=tx,
        audit=AuditEntry(id=uuid.uuid4().hex, at=T0, actor_id=user_id, action="job.create",
                         resource_type="job", resource_id=job_id, details={"cost_estimate": cost}),
    )


async def funded_user(factory: UnitOfWorkFactory, credits: int, per_day: int | None = 100) -> str:
    created = await add_user(factory, quota=QuotaPolicy(max_jobs_per_day=per_day))
    if credits:
        async def work(uow: UnitOfWork) -> bool:
            return await uow.ledger.apply(grant(uuid.uuid4().hex, created.id, credits, T0).unwrap())

        assert await in_uow(factory, work)
    return created.id


async def session_of(factory: UnitOfWorkFactory, user_id: str, revoked: bool = False) -> Credential:
    session = Session(id=uuid.uuid4().hex, user_id=user_id, refresh_hash="h", created_at=T0,
                      expires_at=T0 + timedelta(days=1), last_used_at=T0,
                      revoked_at=T0 if revoked else None)

    async def work(uow: UnitOfWork) -> None:
        await uow.sessions.add(session)

    await in_uow(factory, work)
    return Credential.of_session(user_id, session.id)


async def state(factory: UnitOfWorkFactory, user_id: str, day: date = DAY) -> tuple[int, int, int, int, list[str]]:
    """Jobs, jobs_created today, available, held, ledger problems."""
    async def work(uow: UnitOfWork) -> tuple[int, int, int, int, list[str]]:
        page = await uow.jobs.page(JobFilter(user_id=user_id), None, 100)
        usage = await uow.usage.get(user_id, day)
        balance = await uow.ledger.balance(user_id)
        problems = invariant_violations(await uow.ledger.transactions(), await uow.ledger.holds())
        return len(page.items), usage.jobs_created, balance.available, balance.held, problems

    return await in_uow(factory, work, commit=False)


def test_a_job_is_created_with_its_hold_count_and_audit(uow_factory: UnitOfWorkFactory,
                                                        runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        user_id = await funded_user(uow_factory, 100)
        credential = await session_of(uow_factory, user_id)
        made = draft(user_id, cost=30)
        outcome = await uow_factory.create_job(credential, made, T0)
        assert outcome == CreateOutcome(status=CreateStatus.CREATED, job=made.job)
        assert await state(uow_factory, user_id) == (1, 1, 70, 30, [])

        async def stored(uow: UnitOfWork) -> tuple[object, object, object]:
            entries = await uow.audit.page(AuditFilter(resource_id=made.job.id), None, 10)
            return await uow.jobs.get(made.job.id), await uow.ledger.get_hold(made.hold.id), entries.items

        got_job, got_hold, entries = await in_uow(uow_factory, stored, commit=False)
        assert got_job == made.job
        assert got_hold == made.hold
        assert entries == [made.audit]

    runner.run(scenario())


def test_every_field_of_the_job_is_stored_webhook_retry_and_model_fields_too(uow_factory: UnitOfWorkFactory,
                                                                       runner: asyncio.Runner) -> None:
    """Schemathesis found a job with `webhook_events_filter` answered 500: the statement sent
    that JSON column as a Python list. Every field is written as it came, on every adapter."""
    async def scenario() -> None:
        user_id = await funded_user(uow_factory, 100)
        credential = await session_of(uow_factory, user_id)
        made = draft(user_id)
        made = msgspec.structs.replace(made, job=msgspec.structs.replace(
            made.job, webhook_url="https://hooks.example.com/x", webhook_events=("job.completed", "job.failed"),
            retried_from="an-earlier-job", model="replicate/black-forest-labs/flux-1.1-pro"))
        outcome = await uow_factory.create_job(credential, made, T0)
        assert outcome.status is CreateStatus.CREATED

        async def stored(uow: UnitOfWork) -> object:
            return await uow.jobs.get(made.job.id)

        assert await in_uow(uow_factory, stored, commit=False) == made.job

    runner.run(scenario())


def test_an_idempotency_key_gives_the_earlier_job_back_and_writes_nothing(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        user_id = await funded_user(uow_factory, 100)
        credential = Credential.of_user(user_id)
        first = draft(user_id, key="k1")
        assert (await uow_factory.create_job(credential, first, T0)).status is CreateStatus.CREATED
        again = await uow_factory.create_job(credential, draft(user_id, key="k1"), T0)
        assert again == CreateOutcome(status=CreateStatus.REPLAYED, job=first.job)
        assert await state(uow_factory, user_id) == (1, 1, 90, 10, [])
        other_user = await funded_user(uow_factory, 100)  # keys are per user
        theirs = await uow_factory.create_job(Credential.of_user(other_user), draft(other_user, key="k1"), T0)
        assert theirs.status is CreateStatus.CREATED

    runner.run(scenario())


@pytest.mark.parametrize("case", ["revoked", "expired", "other user's session", "inactive", "missing user"])
def test_a_credential_that_grants_nothing_writes_nothing(case: str, uow_factory: UnitOfWorkFactory,
                                                         runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        user_id = await funded_user(uow_factory, 100)
        credential = await session_of(uow_factory, user_id, revoked=case == "revoked")
        now = T0
        if case == "expired":
            now = T0 + timedelta(days=1)
        elif case == "other user's session":
            other = await funded_user(uow_factory, 100)
            credential = Credential.of_session(user_id, (await session_of(uow_factory, other)).session_id or "")
        elif case == "inactive":
            async def deactivate(uow: UnitOfWork) -> None:
                stored = await uow.users.get(user_id)
                assert stored is not None
                await uow.users.update(msgspec.structs.replace(stored, is_active=False))

            await in_uow(uow_factory, deactivate)
        elif case == "missing user":
            credential = Credential.of_user("nobody")
        outcome = await uow_factory.create_job(credential, draft(user_id), now)
        assert outcome.status is CreateStatus.UNAUTHENTICATED
        assert await state(uow_factory, user_id, now.date()) == (0, 0, 100, 0, [])

    runner.run(scenario())


def test_a_hold_past_the_balance_writes_nothing(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        user_id = await funded_user(uow_factory, 25)
        outcome = await uow_factory.create_job(Credential.of_user(user_id), draft(user_id, cost=26), T0)
        assert outcome == CreateOutcome(status=CreateStatus.INSUFFICIENT_CREDITS, available=25)
        assert await state(uow_factory, user_id) == (0, 0, 25, 0, [])
        broke = await funded_user(uow_factory, 0)  # no balance at all
        outcome = await uow_factory.create_job(Credential.of_user(broke), draft(broke, cost=1), T0)
        assert outcome == CreateOutcome(status=CreateStatus.INSUFFICIENT_CREDITS, available=0)
        free = await uow_factory.create_job(Credential.of_user(broke), draft(broke, cost=0), T0)
        assert free.status is CreateStatus.CREATED  # a zero hold needs no credits

    runner.run(scenario())


def test_the_daily_limit_refuses_and_undoes_the_hold(uow_factory: UnitOfWorkFactory,
                                                      runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        user_id = await funded_user(uow_factory, 100, per_day=2)
        credential = Credential.of_user(user_id)
        for _ in range(2):
            assert (await uow_factory.create_job(credential, draft(user_id), T0)).status is CreateStatus.CREATED
        outcome = await uow_factory.create_job(credential, draft(user_id), T0)
        assert outcome == CreateOutcome(status=CreateStatus.DAILY_LIMIT, daily_limit=2)
        assert await state(uow_factory, user_id) == (2, 2, 80, 20, [])
        # the limit is reported first when the credits would not do either
        outcome = await uow_factory.create_job(credential, draft(user_id, cost=1000), T0)
        assert outcome == CreateOutcome(status=CreateStatus.DAILY_LIMIT, daily_limit=2)
        # a new UTC day starts from zero
        tomorrow = T0 + timedelta(days=1)
        assert (await uow_factory.create_job(credential, draft(user_id), tomorrow)).status is CreateStatus.CREATED
        zero = await funded_user(uow_factory, 100, per_day=0)
        outcome = await uow_factory.create_job(Credential.of_user(zero), draft(zero), T0)
        assert outcome == CreateOutcome(status=CreateStatus.DAILY_LIMIT, daily_limit=0)
        assert await state(uow_factory, zero) == (0, 0, 100, 0, [])

    runner.run(scenario())


def test_fifty_racers_at_a_limit_of_twenty_make_exactly_twenty(uow_factory: UnitOfWorkFactory,
                                                               runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        user_id = await funded_user(uow_factory, 10_000, per_day=20)
        credential = Credential.of_user(user_id)
        outcomes = await asyncio.gather(*(uow_factory.create_job(credential, draft(user_id), T0)
                                          for _ in range(50)))
        statuses = [o.status for o in outcomes]
        assert statuses.count(CreateStatus.CREATED) == 20
        assert statuses.count(CreateStatus.DAILY_LIMIT) == 30
        assert await state(uow_factory, user_id) == (20, 20, 10_000 - 200, 200, [])

    runner.run(scenario())


def test_racers_over_the_balance_never_overdraw(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        user_id = await funded_user(uow_factory, 95)
        credential = Credential.of_user(user_id)
        outcomes = await asyncio.gather(*(uow_factory.create_job(credential, draft(user_id, cost=10), T0)
                                          for _ in range(30)))
        statuses = [o.status for o in outcomes]
        assert statuses.count(CreateStatus.CREATED) == 9
        assert statuses.count(CreateStatus.INSUFFICIENT_CREDITS) == 21
        assert await state(uow_factory, user_id) == (9, 9, 5, 90, [])

    runner.run(scenario())


def test_racers_with_one_key_make_one_job(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        user_id = await funded_user(uow_factory, 1000)
        credential = Credential.of_user(user_id)
        outcomes = await asyncio.gather(*(uow_factory.create_job(credential, draft(user_id, key="one"), T0)
                                          for _ in range(10)))
        statuses = {o.status for o in outcomes}
        assert statuses <= {CreateStatus.CREATED, CreateStatus.REPLAYED, CreateStatus.KEY_IN_FLIGHT}
        created = [o.job for o in outcomes if o.status is CreateStatus.CREATED]
        assert len(created) == 1
        assert all(o.job == created[0] for o in outcomes if o.status is CreateStatus.REPLAYED)
        assert await state(uow_factory, user_id) == (1, 1, 990, 10, [])

    runner.run(scenario())
