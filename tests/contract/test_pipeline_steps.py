"""The worker's hot steps (PipelineSteps), the same on every adapter: a leased job read with
its account; a submission recorded and an answer attached only under the lease the worker
holds (expected version and lease token), all or nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import msgspec

from domain.jobs import Job, JobPhase, JobStatus, attach, record_submission
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

    runner.run(scenario())
