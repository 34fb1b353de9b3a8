"""Workers that crash or stall: leases run out, others resume, the stale one cannot write.

A crashed worker is one that took a job and then stopped calling: its lease is what it
leaves behind. `stalled_worker` is the job as that worker claimed it (with its lease token).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from pytest_bdd import then, when
from returns.result import Result, Success

from adapters.providers.registry import StaticProviderRegistry
from application.pipeline.advance import AdvanceJob, Step
from application.pipeline.claim import ClaimJobs
from application.pipeline.run import DrainOnce
from application.policy import PipelinePolicy
from domain.errors import DomainError, ErrorCode
from domain.jobs import Job
from domain.ports import ProviderClient
from entrypoints.bootstrap import build_container
from tests.acceptance.steps_common import p
from tests.acceptance.steps_jobs import provider_requests
from tests.acceptance.support import code_of, drain, job_named
from tests.support.wiring import Wiring

Outcome = Result[Any, DomainError]


class WorkerKilled(Exception):
    """The process died: nothing after this point of the call happened."""


class DiesAfterSubmitting:
    """The provider got the job, but the worker died before it heard the answer."""

    def __init__(self, inner: ProviderClient) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def submit(self, secret: str, request: Any) -> Any:
        await self._inner.submit(secret, request)
        raise WorkerKilled


async def claim(w: Wiring, name: str) -> Job:
    [claimed] = await w.get(ClaimJobs)(limit=1)
    assert claimed.name == name and claimed.lease_token is not None
    return claimed


async def advance(w: Wiring, job: Job, until: str) -> None:
    """Step the claimed job along until it has `until` (an account, or a provider job id)."""
    assert job.lease_token is not None
    for _ in range(4):
        current = await job_named(w, job.name or "")
        if getattr(current, until) is not None:
            return
        step = await w.get(AdvanceJob)(job.id, job.lease_token)
        assert step == Success(Step.CONTINUE), step
    raise AssertionError(f"job {job.name} never got its {until}")


@when(p('a worker takes job "{name}" and stalls'), target_fixture="stalled_worker")
def takes_and_stalls(runner: asyncio.Runner, wiring: Wiring, name: str) -> Job:
    return runner.run(claim(wiring, name))


@when(p('a worker takes job "{name}", reserves an account for it and crashes'), target_fixture="stalled_worker")
def crashes_after_reserving(runner: asyncio.Runner, wiring: Wiring, name: str) -> Job:
    claimed = runner.run(claim(wiring, name))
    runner.run(advance(wiring, claimed, "account_id"))
    return claimed


@when(p('a worker takes job "{name}", sends it to the provider and crashes'), target_fixture="stalled_worker")
def crashes_after_sending(runner: asyncio.Runner, wiring: Wiring, name: str) -> Job:
    claimed = runner.run(claim(wiring, name))
    runner.run(advance(wiring, claimed, "provider_job_id"))
    return claimed


@when(p('a worker sends job "{name}" to the provider but crashes before hearing back'),
      target_fixture="stalled_worker")
def crashes_mid_submit(runner: asyncio.Runner, wiring: Wiring, name: str) -> Job:
    claimed = runner.run(claim(wiring, name))
    runner.run(advance(wiring, claimed, "account_id"))
    crashing = dataclasses.replace(
        wiring.ports, providers=StaticProviderRegistry([DiesAfterSubmitting(wiring.sim)]))
    dying: AdvanceJob = build_container(crashing).resolve(AdvanceJob)
    try:
        runner.run(dying(claimed.id, claimed.lease_token or ""))
    except WorkerKilled:
        return claimed
    raise AssertionError("the worker was supposed to die")


@then(p('job "{name}" has been sent to the provider, but its answer was never recorded'))
def sent_unrecorded(runner: asyncio.Runner, wiring: Wiring, name: str) -> None:
    job = runner.run(job_named(wiring, name))
    assert job.submission_id is not None and job.provider_job_id is None
    assert wiring.sim.submits_by_reference[job.submission_id] == 1


@then(p('no other worker can take job "{name}" yet'))
def cannot_take_yet(runner: asyncio.Runner, wiring: Wiring, stalled_worker: Job, name: str) -> None:
    assert runner.run(wiring.get(DrainOnce)()) == 0
    assert runner.run(job_named(wiring, name)).lease_token == stalled_worker.lease_token


@when("its lease runs out and the other workers run")
def lease_runs_out(runner: asyncio.Runner, wiring: Wiring) -> None:
    wiring.clock.advance(PipelinePolicy().lease.total_seconds() + 1)
    runner.run(drain(wiring))


@when("its lease runs out and another worker takes the job")
def another_takes_it(runner: asyncio.Runner, wiring: Wiring, stalled_worker: Job) -> None:
    wiring.clock.advance(PipelinePolicy().lease.total_seconds() + 1)
    [taken] = runner.run(wiring.get(ClaimJobs)(limit=1))
    assert taken.id == stalled_worker.id and taken.lease_token != stalled_worker.lease_token


@when("the stalled worker carries on with its job", target_fixture="outcome")
def stalled_carries_on(runner: asyncio.Runner, wiring: Wiring, stalled_worker: Job) -> Outcome:
    return runner.run(wiring.get(AdvanceJob)(stalled_worker.id, stalled_worker.lease_token or ""))


@then("the stalled worker is told the job is no longer its own")
def told_lease_lost(outcome: Outcome) -> None:
    assert code_of(outcome) is ErrorCode.LEASE_LOST


@then(p('nothing of job "{name}" has reached the provider yet'))
def not_sent_yet(runner: asyncio.Runner, wiring: Wiring, name: str) -> None:
    job = runner.run(job_named(wiring, name))
    assert job.submission_id is None and job.provider_job_id is None
    assert runner.run(provider_requests(wiring, name)) == 0
