"""Retrying and deleting jobs, finding them by name, and batches."""

from __future__ import annotations

import asyncio
from typing import Any

from pytest_bdd import then, when
from returns.result import Result

from application.jobs.batch import CreateJobs
from application.jobs.create import Created, JobRequest
from application.jobs.manage import DeleteJob, RetryJob
from application.jobs.queries import ListJobs
from domain.errors import DomainError
from domain.jobs import Job, JobStatus
from tests.acceptance.phrases import read_job
from tests.acceptance.steps_common import p
from tests.acceptance.support import actor, job_named, ok
from tests.support.wiring import Wiring

Outcome = Result[Any, DomainError]


async def _on_job(w: Wiring, user: str, name: str, use_case: type[Any]) -> Outcome:
    job = await job_named(w, name)
    result: Outcome = await w.get(use_case)(await actor(w, user), job.id)
    return result


@when(p('"{user}" retries job "{name}"'), target_fixture="outcome")
def retries(runner: asyncio.Runner, wiring: Wiring, user: str, name: str) -> Outcome:
    return runner.run(_on_job(wiring, user, name, RetryJob))


@when(p('"{user}" deletes job "{name}"'), target_fixture="outcome")
def deletes(runner: asyncio.Runner, wiring: Wiring, user: str, name: str) -> Outcome:
    return runner.run(_on_job(wiring, user, name, DeleteJob))


async def _current(w: Wiring, job_id: str) -> Job:
    async with w.ports.uow() as uow:
        found = await uow.jobs.get(job_id)
    assert found is not None
    return found


@then(p('the new job re-runs job "{name}" and is {status:JobStatus}'))
def new_job_reruns(runner: asyncio.Runner, wiring: Wiring, outcome: Outcome, name: str, status: JobStatus) -> None:
    created: Created = ok(outcome)
    new = runner.run(_current(wiring, created.job.id))
    old = runner.run(_current(wiring, new.retried_from or "none"))
    assert old.name == name and old.status in (JobStatus.FAILED, JobStatus.CANCELLED) and new.id != old.id
    assert (new.params, new.name, new.status) == (old.params, old.name, status)


@then(p("the new job is {status:JobStatus}"))
def new_job_is(runner: asyncio.Runner, wiring: Wiring, outcome: Outcome, status: JobStatus) -> None:
    created: Created = ok(outcome)
    assert runner.run(_current(wiring, created.job.id)).status is status


@then(p('the jobs of "{user}" whose names start with "{prefix}" are {names:Names}'))
def found_by_prefix(runner: asyncio.Runner, wiring: Wiring, user: str, prefix: str, names: list[str]) -> None:
    async def find() -> list[str | None]:
        page = ok(await wiring.get(ListJobs)(await actor(wiring, user), name=prefix))
        return [j.name for j in page.items]

    assert runner.run(find()) == names


def _batch(runner: asyncio.Runner, wiring: Wiring, user: str, names: list[str], key: str | None) -> list[Outcome]:
    requests = [JobRequest(provider_id=o.provider_id, operation_type=o.operation_type,
                           params={"prompt": o.name, **o.params}, name=o.name)
                for o in (read_job(f'an image job "{name}"') for name in names)]

    async def send() -> list[Outcome]:
        outcomes: list[Outcome] = ok(await wiring.get(CreateJobs)(await actor(wiring, user), requests, key))
        return outcomes

    return runner.run(send())


@when(p('"{user}" sends a batch of image jobs {names:Names}'), target_fixture="outcomes")
def submits_batch(runner: asyncio.Runner, wiring: Wiring, user: str, names: list[str]) -> list[Outcome]:
    return _batch(runner, wiring, user, names, None)


@when(p('"{user}" sends a batch of image jobs {names:Names} under the key "{key}"'), target_fixture="outcomes")
def submits_batch_with_key(runner: asyncio.Runner, wiring: Wiring, user: str, names: list[str],
                           key: str) -> list[Outcome]:
    return _batch(runner, wiring, user, names, key)
