"""Submitting jobs and following them: states, results, attempts, cancellation, order."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from typing import Any

from pytest_bdd import given, then, when
from returns.result import Result, Success

from application.assets.queries import AssetContent
from application.jobs.cancel import CancelJob
from application.jobs.create import Created, CreateJob, JobRequest
from application.jobs.queries import GetJob, ListJobs
from domain.assets import AssetSource, MediaType
from domain.errors import DomainError, ErrorCode
from domain.jobs import DEFAULT_PRIORITY, JobStatus
from domain.providers import RemoteState
from tests.acceptance.phrases import JobOrder, read_job
from tests.acceptance.steps_common import p
from tests.acceptance.support import (
    actor,
    asset_id_or_missing,
    code_of,
    find_job,
    job_named,
    jobs_of,
    ok,
    profile,
    read_blob,
    run_workers_for,
)
from tests.support.wiring import Wiring

Outcome = Result[Any, DomainError]
FORMATS = {"PNG": ("image/png", b"\x89PNG\r\n\x1a\n"), "animated GIF": ("image/gif", b"GIF89a")}


async def submit(w: Wiring, user: str, order: JobOrder) -> Result[Created, DomainError]:
    parent = await find_job(w, order.parent) if order.parent else None
    request = JobRequest(
        provider_id=order.provider_id, operation_type=order.operation_type,
        params={"prompt": order.name, **order.params},
        input_asset_ids=[await asset_id_or_missing(w, user, ref) for ref in order.inputs],
        priority=DEFAULT_PRIORITY if order.priority is None else order.priority,
        scheduled_at=w.clock.now() + timedelta(minutes=order.in_minutes) if order.in_minutes is not None else None,
        parent_job_id=(parent.id if parent else f"missing-{order.parent}") if order.parent else None,
        name=order.name,
    )
    return await w.get(CreateJob)(await actor(w, user), request, order.key)


# ---------------------------------------------------------------- submitting


@given(p('"{user}" has submitted {description}'))
def has_submitted(runner: asyncio.Runner, wiring: Wiring, user: str, description: str) -> None:
    assert ok(runner.run(submit(wiring, user, read_job(description)))).created


@when(p('"{user}" submits {description}'), target_fixture="outcome")
def submits(runner: asyncio.Runner, wiring: Wiring, user: str, description: str) -> Outcome:
    return runner.run(submit(wiring, user, read_job(description)))


@given(p('"{user}" has made {description}'))
def has_made(runner: asyncio.Runner, wiring: Wiring, user: str, description: str) -> None:
    order = read_job(description)
    ok(runner.run(submit(wiring, user, order)))
    runner.run(run_workers_for(wiring, 60))
    assert runner.run(job_named(wiring, order.name)).status is JobStatus.COMPLETED


@given(p('{n:d} image jobs from "{user}" are waiting, each of which the provider takes {seconds:d} seconds to make'))
def has_submitted_many(runner: asyncio.Runner, wiring: Wiring, user: str, n: int, seconds: int) -> None:
    for i in range(1, n + 1):
        has_submitted(runner, wiring, user, f'an image job "{user} {i}" that the provider takes {seconds} seconds to make')


@when(p('"{user}" sends {n:d} image jobs at the same moment'), target_fixture="outcomes")
def sends_at_once(runner: asyncio.Runner, wiring: Wiring, user: str, n: int) -> list[Outcome]:
    async def burst() -> list[Outcome]:
        orders = [read_job(f'an image job "burst {i}"') for i in range(n)]
        return list(await asyncio.gather(*(submit(wiring, user, order) for order in orders)))

    return runner.run(burst())


@then(p("{accepted:d} of them are accepted and {refused:d} refused as {reason:Reason}"))
def accepted_and_refused(outcomes: list[Outcome], accepted: int, refused: int, reason: ErrorCode) -> None:
    codes = [None if isinstance(o, Success) else o.failure().code for o in outcomes]
    assert (codes.count(None), codes.count(reason), len(codes)) == (accepted, refused, accepted + refused)


@then(p('all of "{user}"\'s jobs are {status:JobStatus}'))
def all_jobs(runner: asyncio.Runner, wiring: Wiring, user: str, status: JobStatus) -> None:
    jobs = runner.run(jobs_of(wiring, user))
    assert jobs and all(j.status is status for j in jobs), [(j.name, j.status) for j in jobs]


@then(p('the provider was asked to make each of "{user}"\'s jobs only once'))
def each_submitted_once(runner: asyncio.Runner, wiring: Wiring, user: str) -> None:
    jobs = runner.run(jobs_of(wiring, user))
    assert jobs and [runner.run(provider_requests(wiring, j.name or "")) for j in jobs] == [1] * len(jobs)


@then(p('she gets the earlier job "{name}" back'))
def same_job_back(runner: asyncio.Runner, wiring: Wiring, outcome: Outcome, name: str) -> None:
    answer: Created = ok(outcome)
    assert not answer.created and answer.job.id == runner.run(job_named(wiring, name)).id


@then(p('"{user}" has {n:d} job{:Plural}'))
def job_count(runner: asyncio.Runner, wiring: Wiring, user: str, n: int) -> None:
    listed = ok(runner.run(wiring.get(ListJobs)(runner.run(actor(wiring, user)), limit=100)))
    assert len(listed.items) == n


# ---------------------------------------------------------------- states


@then(p('job "{name}" is {status:JobStatus}'))
def job_status(runner: asyncio.Runner, wiring: Wiring, name: str, status: JobStatus) -> None:
    job = runner.run(job_named(wiring, name))
    assert job.status is status, (job.status, job.error_code, job.error_message)


@then(p("jobs {names:Names} are {status:JobStatus}"))
def jobs_status(runner: asyncio.Runner, wiring: Wiring, names: list[str], status: JobStatus) -> None:
    assert [runner.run(job_named(wiring, n)).status for n in names] == [status] * len(names)


@then(p('job "{name}" has failed because {code:Failure}'))
def job_failed(runner: asyncio.Runner, wiring: Wiring, name: str, code: str) -> None:
    jobs_failed(runner, wiring, [name], code)


@then(p("jobs {names:Names} have failed because {code:Failure}"))
def jobs_failed(runner: asyncio.Runner, wiring: Wiring, names: list[str], code: str) -> None:
    for name in names:
        job = runner.run(job_named(wiring, name))
        assert (job.status, job.error_code) == (JobStatus.FAILED, code), name


@then(p('{running:d} of "{user}"\'s jobs are processing and {waiting:d} are pending'))
def running_and_waiting(runner: asyncio.Runner, wiring: Wiring, running: int, user: str, waiting: int) -> None:
    states = [j.status for j in runner.run(jobs_of(wiring, user))]
    assert (states.count(JobStatus.PROCESSING), states.count(JobStatus.PENDING)) == (running, waiting)


@then(p('job "{name}" was tried {n:d} time{:Plural}'))
def attempts(runner: asyncio.Runner, wiring: Wiring, name: str, n: int) -> None:
    assert runner.run(job_named(wiring, name)).attempts == n


@then(p('job "{name}" ran on account "{label}"'))
def ran_on(runner: asyncio.Runner, wiring: Wiring, name: str, label: str) -> None:
    async def used() -> str | None:
        job = await job_named(wiring, name)
        async with wiring.ports.uow() as uow:
            account = await uow.accounts.get(job.account_id) if job.account_id else None
        return account.label if account else None

    assert runner.run(used()) == label


@then(p('job "{name}" was tried on {labels:Names}'))
def tried_on(runner: asyncio.Runner, wiring: Wiring, name: str, labels: list[str]) -> None:
    async def accounts_in_order() -> list[str]:
        job = await job_named(wiring, name)
        async with wiring.ports.uow() as uow:
            submissions = await uow.submissions.for_job(job.id)
            accounts = [await uow.accounts.get(s.account_id) for s in submissions]
        return [a.label if a else "?" for a in accounts]

    assert runner.run(accounts_in_order()) == labels


async def provider_requests(w: Wiring, name: str) -> int:
    """How many times the provider was asked to make the job (per our submission references)."""
    job = await job_named(w, name)
    async with w.ports.uow() as uow:
        submissions = await uow.submissions.for_job(job.id)
    return sum(w.sim.submits_by_reference[s.id] for s in submissions)


@then(p('the provider was asked to make job "{name}" only once'))
def submitted_once(runner: asyncio.Runner, wiring: Wiring, name: str) -> None:
    assert runner.run(provider_requests(wiring, name)) == 1


@then(p('the provider was never asked to make job "{name}"'))
def never_submitted(runner: asyncio.Runner, wiring: Wiring, name: str) -> None:
    job = runner.run(job_named(wiring, name))
    assert runner.run(provider_requests(wiring, name)) == 0 and job.attempts == 0


@then(p("the provider has received {n:d} upload{:Plural}"))
def provider_uploads(wiring: Wiring, n: int) -> None:
    assert wiring.sim.upload_count == n


# ---------------------------------------------------------------- results


@then(p('job "{name}" produced {n:d} {kind:Media}'))
def produced(runner: asyncio.Runner, wiring: Wiring, name: str, n: int, kind: MediaType) -> None:
    async def results() -> list[MediaType]:
        job = await job_named(wiring, name)
        async with wiring.ports.uow() as uow:
            assets = await uow.assets.many(list(job.result_asset_ids))
        assert len(assets) == len(job.result_asset_ids)
        return [a.media_type for a in assets]

    assert runner.run(results()) == [kind] * n


@then(p('the results of job "{name}" are stored {fmt} files'))
def stored_files(runner: asyncio.Runner, wiring: Wiring, name: str, fmt: str) -> None:
    mime_type, magic = FORMATS[fmt]

    async def check() -> None:
        job = await job_named(wiring, name)
        owner = await actor(wiring, (await user_of(wiring, job.user_id)))
        assert job.result_asset_ids
        for asset_id in job.result_asset_ids:
            where = ok(await wiring.get(AssetContent)(owner, asset_id))
            data = await read_blob(wiring, where.key)
            assert where.mime_type == mime_type and data.startswith(magic) and len(data) == where.size
            async with wiring.ports.uow() as uow:
                asset = await uow.assets.get(asset_id)
            assert asset is not None and asset.sha256 == hashlib.sha256(data).hexdigest()

    runner.run(check())


async def user_of(w: Wiring, user_id: str) -> str:
    async with w.ports.uow() as uow:
        user = await uow.users.get(user_id)
    assert user is not None
    return user.email


@then(p('the results of job "{name}" are "{user}"\'s generated assets from provider "{provider}"'))
def results_owned(runner: asyncio.Runner, wiring: Wiring, name: str, user: str, provider: str) -> None:
    async def check() -> None:
        job = await job_named(wiring, name)
        owner = await actor(wiring, user)
        async with wiring.ports.uow() as uow:
            assets = await uow.assets.many(list(job.result_asset_ids))
        assert assets
        for asset in assets:
            assert (asset.owner_id, asset.source, asset.job_id, asset.provider_id) == (
                owner.user_id, AssetSource.GENERATED, job.id, provider)

    runner.run(check())


@then(p('job "{name}" has no results'))
def no_results(runner: asyncio.Runner, wiring: Wiring, name: str) -> None:
    assert runner.run(job_named(wiring, name)).result_asset_ids == ()


@then(p('today\'s usage of "{user}" is {created:d} job{:Plural} created, {completed:d} completed '
        'and {assets:d} asset{:Plural} made'))
def usage_today(runner: asyncio.Runner, wiring: Wiring, user: str, created: int, completed: int,
                assets: int) -> None:
    usage = runner.run(profile(wiring, user)).usage
    assert (usage.jobs_created, usage.jobs_completed, usage.assets_created) == (created, completed, assets)


@then(p('the result of "{child}" was made from the result of "{parent}"'))
def made_from(runner: asyncio.Runner, wiring: Wiring, child: str, parent: str) -> None:
    async def check() -> None:
        made, source = await job_named(wiring, child), await job_named(wiring, parent)
        async with wiring.ports.uow() as uow:
            edges = await uow.lineage.ancestors(made.result_asset_ids[0], 1)
        assert [(e.parent_id, e.job_id) for e in edges] == [(source.result_asset_ids[0], made.id)]

    runner.run(check())


# ---------------------------------------------------------------- cancelling


@given(p('"{user}" has cancelled job "{name}"'))
def has_cancelled(runner: asyncio.Runner, wiring: Wiring, user: str, name: str) -> None:
    ok(cancels(runner, wiring, user, name))


@when(p('"{user}" cancels job "{name}"'), target_fixture="outcome")
def cancels(runner: asyncio.Runner, wiring: Wiring, user: str, name: str) -> Outcome:
    async def cancel() -> Outcome:
        job = await job_named(wiring, name)
        return await wiring.get(CancelJob)(await actor(wiring, user), job.id)

    return runner.run(cancel())


@then(p('the provider was told to stop job "{name}"'))
def provider_stopped(runner: asyncio.Runner, wiring: Wiring, name: str) -> None:
    async def remote_state() -> RemoteState:
        job = await job_named(wiring, name)
        assert job.account_id is not None and job.provider_job_id is not None
        async with wiring.ports.uow() as uow:
            account = await uow.accounts.get(job.account_id)
        assert account is not None
        remote = await wiring.sim.status(account.secret, job.provider_job_id)
        return remote.unwrap().state

    assert runner.run(remote_state()) is RemoteState.CANCELLED


@then(p('"{user}" cannot see job "{name}"'))
def cannot_see(runner: asyncio.Runner, wiring: Wiring, user: str, name: str) -> None:
    async def look() -> Outcome:
        job = await job_named(wiring, name)
        return await wiring.get(GetJob)(await actor(wiring, user), job.id)

    assert code_of(runner.run(look())) is ErrorCode.NOT_FOUND
