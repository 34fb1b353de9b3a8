"""The worker's hot steps (PipelineSteps), the same on every adapter: a leased job read with
its account; a submission recorded and an answer attached only under the lease the worker
holds (expected version and lease token), all or nothing; the leases of held jobs renewed
and given back together, only where still held; a webhook's poke leaving the version."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import msgspec

from domain.jobs import HeldState, Job, JobPhase, JobStatus, attach, held, record_submission
from domain.ports import Leased, UnitOfWork, UnitOfWorkFactory
from domain.providers import ProviderSubmission
from tests.contract.builders import T0, account, add_user, in_uow, job


async def leased_job(factory: UnitOfWorkFactory, **changes: object) -> tuple[Job, str]:
    owner = await add_user(factory)
    pool = account()
    running = job(owner.id, status=JobStatus.PROCESSING, account_id=pool.id, lease_token="lease-1",
                  lease_expires_at=T0 + timedelta(seconds=60), phase=JobPhase.SUBMIT, attempts=1, **changes)

    async def work(uow: UnitOfWork) -> None:
        await uow.accounts.add(pool)
        assert await uow.jobs.add(running)

    await in_uow(factory, work)
    return running, pool.id


async def stored(factory: UnitOfWorkFactory, job_id: str, submission_id: str) -> tuple[Job | None, ProviderSubmission | None]:
    async def work(uow: UnitOfWork) -> tuple[Job | None, ProviderSubmission | None]:
        return await uow.jobs.get(job_id), await uow.submissions.get(submission_id)

    return await in_uow(factory, work)


def test_read_leased_answers_only_under_the_lease(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        running, account_id = await leased_job(uow_factory)
        leased = await uow_factory.read_leased(running.id, "lease-1")
        assert isinstance(leased, Leased) and leased.job == running
        assert leased.account is not None and leased.account.id == account_id
        assert leased.account.secret == "sk-test"
        assert await uow_factory.read_leased(running.id, "lease-2") is None
        assert await uow_factory.read_leased("missing", "lease-1") is None

        async def remove(uow: UnitOfWork) -> None:
            await uow.accounts.delete(account_id)

        await in_uow(uow_factory, remove)
        gone = await uow_factory.read_leased(running.id, "lease-1")
        assert gone is not None and gone.account is None

    runner.run(scenario())


def test_submission_and_answer_are_written_only_under_the_lease(uow_factory: UnitOfWorkFactory,
                                                                runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        running, account_id = await leased_job(uow_factory)
        submission = ProviderSubmission(id="sub-1", job_id=running.id, account_id=account_id, attempt=1,
                                        submitted_at=T0)
        recorded = record_submission(running, submission.id, T0)
        stale = msgspec.structs.replace(recorded, lease_token="lease-0")
        assert not await uow_factory.record_submission(stale, running.version, submission)
        assert not await uow_factory.record_submission(recorded, running.version + 1, submission)
        assert await stored(uow_factory, running.id, submission.id) == (running, None)

        assert await uow_factory.record_submission(recorded, running.version, submission)
        saved = msgspec.structs.replace(recorded, version=running.version + 1)
        assert await stored(uow_factory, running.id, submission.id) == (saved, submission)

        attached = attach(saved, "remote-1", T0)
        assert not await uow_factory.attach(attached, running.version, "remote-1")  # a version behind
        assert await uow_factory.attach(attached, saved.version, "remote-1")
        job_now, submission_now = await stored(uow_factory, running.id, submission.id)
        assert job_now == msgspec.structs.replace(attached, version=saved.version + 1)
        assert job_now is not None and job_now.phase is JobPhase.POLL
        assert submission_now == msgspec.structs.replace(submission, provider_job_id="remote-1")

    runner.run(scenario())


def test_read_leased_gives_a_child_its_parents_results(uow_factory: UnitOfWorkFactory,
                                                       runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        alone, _ = await leased_job(uow_factory)
        assert (await uow_factory.read_leased(alone.id, "lease-1")).parent_results is None  # type: ignore[union-attr]
        owner = await add_user(uow_factory)
        parent = job(owner.id, status=JobStatus.COMPLETED, result_asset_ids=("as-1", "as-2"))

        async def work(uow: UnitOfWork) -> None:
            assert await uow.jobs.add(parent)

        await in_uow(uow_factory, work)
        child, _ = await leased_job(uow_factory, parent_job_id=parent.id)
        leased = await uow_factory.read_leased(child.id, "lease-1")
        assert leased is not None and leased.parent_results == ("as-1", "as-2")


async def poll_phase_jobs(factory: UnitOfWorkFactory, count: int) -> list[Job]:
    owner = await add_user(factory)
    pool = account()
    jobs = [job(owner.id, status=JobStatus.PROCESSING, account_id=pool.id, lease_token=f"lease-{i}",
                lease_expires_at=T0 + timedelta(seconds=60), phase=JobPhase.POLL, attempts=1,
                provider_job_id=f"remote-{i}") for i in range(count)]

    async def work(uow: UnitOfWork) -> None:
        await uow.accounts.add(pool)
        for j in jobs:
            assert await uow.jobs.add(j)

    await in_uow(factory, work)
    return jobs


async def current(factory: UnitOfWorkFactory, job_id: str) -> Job:
    async def work(uow: UnitOfWork) -> Job | None:
        return await uow.jobs.get(job_id)

    found = await in_uow(factory, work)
    assert found is not None
    return found


def test_held_leases_are_renewed_together_only_where_still_held(uow_factory: UnitOfWorkFactory,
                                                                 runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        kept, poked, stale_token, moved_on, cancelled = await poll_phase_jobs(uow_factory, 5)
        due = T0 + timedelta(seconds=2)
        holds = [held(kept, due), held(poked, due),
                 msgspec.structs.replace(held(stale_token, due), lease_token="lease-other"),
                 msgspec.structs.replace(held(moved_on, due), version=moved_on.version + 1),
                 held(cancelled, due)]

        async def change(uow: UnitOfWork) -> None:
            assert await uow.jobs.poke(poked.id, T0 + timedelta(seconds=1))
            assert await uow.jobs.save(msgspec.structs.replace(cancelled, status=JobStatus.CANCELLED,
                                                               lease_token=None), cancelled.version)
            assert not await uow.jobs.poke(cancelled.id, T0)  # only a processing job

        await in_uow(uow_factory, change)
        lease_end, poke_time = T0 + timedelta(seconds=60), T0 + timedelta(seconds=1)
        # Leases ending at or after renew_before are left as they are, and answered.
        assert await uow_factory.renew_leases(holds, T0 + timedelta(seconds=70), lease_end) == {
            kept.id: HeldState(None, lease_end), poked.id: HeldState(poke_time, lease_end)}
        assert await current(uow_factory, kept.id) == kept
        until = T0 + timedelta(seconds=90)
        assert await uow_factory.renew_leases(holds, until, lease_end + timedelta(seconds=1)) == {
            kept.id: HeldState(None, until), poked.id: HeldState(poke_time, until)}
        assert await current(uow_factory, kept.id) == msgspec.structs.replace(kept, lease_expires_at=until)
        assert await current(uow_factory, poked.id) == msgspec.structs.replace(
            poked, lease_expires_at=until, next_poll_at=poke_time)  # the version stays
        assert await current(uow_factory, stale_token.id) == stale_token
        assert await current(uow_factory, moved_on.id) == moved_on
        assert await uow_factory.renew_leases([], until, until) == {}

    runner.run(scenario())


def test_held_jobs_are_given_back_together_due_when_their_holder_would_have_polled(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        quiet, poked, taken = await poll_phase_jobs(uow_factory, 3)
        due = T0 + timedelta(seconds=2)
        holds = [held(quiet, due), held(poked, due), msgspec.structs.replace(held(taken, due), lease_token="x")]

        async def poke(uow: UnitOfWork) -> None:
            assert await uow.jobs.poke(poked.id, T0 + timedelta(seconds=1))

        await in_uow(uow_factory, poke)
        now = T0 + timedelta(seconds=1.5)
        assert await uow_factory.release_leases(holds, now) == 2
        for original, next_poll in ((quiet, due), (poked, T0 + timedelta(seconds=1))):
            given_back = await current(uow_factory, original.id)
            assert (given_back.lease_token, given_back.lease_expires_at) == (None, None)
            assert given_back.next_poll_at == next_poll and given_back.version == original.version + 1
            assert given_back.status is JobStatus.PROCESSING and given_back.updated_at == now
        assert await current(uow_factory, taken.id) == taken
        assert await uow_factory.release_leases([], now) == 0

    runner.run(scenario())
