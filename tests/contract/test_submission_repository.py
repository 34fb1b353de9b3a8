"""The SubmissionRepository contract, passed by every adapter: memory, SQLite, Postgres."""

from __future__ import annotations

import asyncio

import msgspec

from domain.ports import UnitOfWorkFactory
from domain.providers import ProviderSubmission
from tests.contract.builders import add_user, at, job, new_id


def submission(job_id: str, attempt: int, submitted: float) -> ProviderSubmission:
    return ProviderSubmission(id=new_id("sub"), job_id=job_id, account_id="acc", attempt=attempt,
                              submitted_at=at(submitted))


def test_submissions_read_back_update_and_list_per_job_by_attempt(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        mine, other = job(owner.id), job(owner.id)
        second, first = submission(mine.id, 2, 50), submission(mine.id, 1, 10)
        foreign = submission(other.id, 1, 5)
        async with uow_factory() as uow:
            assert await uow.jobs.add(mine) and await uow.jobs.add(other)
            for s in (second, first, foreign):
                await uow.submissions.add(s)
            await uow.commit()
        done = msgspec.structs.replace(first, provider_job_id="remote-9", raw_status="succeeded",
                                       completed_at=at(40), error_code=None)
        async with uow_factory() as uow:
            assert await uow.submissions.get(first.id) == first
            await uow.submissions.update(done)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.submissions.get(first.id) == done
            assert await uow.submissions.for_job(mine.id) == [done, second]
            assert await uow.submissions.for_job("none") == []
            assert await uow.submissions.get("missing") is None

    runner.run(scenario())
