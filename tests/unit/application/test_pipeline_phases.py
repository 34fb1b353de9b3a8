"""The pipeline's phases on in-memory ports: re-attach sends what the first submit would,
the provider forgetting a job is a retry, and started_at is when the provider accepted."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from returns.result import Failure

from adapters.media import png
from adapters.providers.registry import StaticProviderRegistry
from adapters.providers.sim import SimProvider
from application.assets.upload import UploadAsset
from application.jobs.create import CreateJob, JobRequest
from application.pipeline.advance import AdvanceJob
from application.pipeline.claim import ClaimJobs
from application.pipeline.run import DrainOnce
from application.policy import PipelinePolicy, Policies
from domain.accounts import FailureKind
from domain.assets import Asset
from domain.jobs import Job, JobPhase, JobStatus
from domain.providers import ProviderFailure, SubmitRequest
from entrypoints.bootstrap import build_container
from tests.support.seed import add_account, add_user
from tests.support.wiring import Wiring, memory_wiring


class Scripted:
    """The sim, with a script: a worker killed before its submit leaves, uploads that
    hang, a provider that has forgotten a job. Every submit request is kept."""

    def __init__(self, inner: SimProvider) -> None:
        self._inner = inner
        self.requests: list[SubmitRequest] = []
        self.kill_before_send = False
        self.hang_uploads = False
        self.forget_jobs = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def submit(self, secret: str, request: SubmitRequest) -> Any:
        self.requests.append(request)
        if self.kill_before_send:
            self.kill_before_send = False
            raise asyncio.CancelledError("worker killed before the request left")
        return await self._inner.submit(secret, request)

    async def upload(self, secret: str, asset: Asset, chunks: AsyncIterator[bytes], now: Any) -> Any:
        if self.hang_uploads:
            await asyncio.sleep(3600)
        return await self._inner.upload(secret, asset, chunks, now)

    async def status(self, secret: str, provider_job_id: str) -> Any:
        if self.forget_jobs:
            self.forget_jobs -= 1
            return Failure(ProviderFailure(kind=FailureKind.INVALID, code="JOB_NOT_FOUND",
                                           message="no such job"))
        return await self._inner.status(secret, provider_job_id)


class World:
    def __init__(self, timeout_seconds: float = 30.0) -> None:
        self.w: Wiring = memory_wiring()
        self.provider = Scripted(self.w.sim)
        ports = dataclasses.replace(self.w.ports, providers=StaticProviderRegistry([self.provider]))
        policies = Policies(pipeline=PipelinePolicy(provider_timeout_seconds=timeout_seconds))
        self.container = build_container(ports, policies)

    async def create(self, actor: Any, request: JobRequest) -> Job:
        created = await self.container.resolve(CreateJob)(actor, request)
        return created.unwrap().job  # type: ignore[no-any-return]

    async def job(self, job_id: str) -> Job:
        async with self.w.ports.uow() as uow:
            found = await uow.jobs.get(job_id)
        assert found is not None
        return found

    async def settle(self, rounds: int = 30, step: float = 5) -> None:
        for _ in range(rounds):
            while await self.container.resolve(DrainOnce)():
                pass
            self.w.clock.advance(step)


async def child_left_unsent(world: World) -> tuple[Job, Job]:
    """A parent done, and its child (inputs from the parent) killed mid-submit: recorded,
    never sent."""
    alice = await add_user(world.w)
    await add_account(world.w, max_concurrent_jobs=4)
    parent = await world.create(alice, JobRequest(provider_id="sim", operation_type="text_to_image",
                                                  params={"prompt": "still"}))
    await world.settle(rounds=3)
    assert (await world.job(parent.id)).status is JobStatus.COMPLETED
    child = await world.create(alice, JobRequest(provider_id="sim", operation_type="image_to_video",
                                                 params={"prompt": "move"}, parent_job_id=parent.id))
    world.provider.kill_before_send = True
    [claimed] = await world.container.resolve(ClaimJobs)()
    try:
        await world.container.resolve(AdvanceJob)(child.id, claimed.lease_token or "")
        raise AssertionError("the worker should have been killed")
    except asyncio.CancelledError:
        pass
    unsent = await world.job(child.id)
    assert unsent.phase is JobPhase.REATTACH and unsent.provider_job_id is None
    return await world.job(parent.id), unsent


def test_a_reattach_resends_a_childs_inputs_from_its_parent() -> None:
    async def scenario() -> None:
        world = World()
        parent, child = await child_left_unsent(world)
        world.w.clock.advance(61)  # the dead worker's lease runs out
        await world.settle(rounds=5)
        done = await world.job(child.id)
        assert done.status is JobStatus.COMPLETED, done.error_message
        first, again = [r for r in world.provider.requests if r.reference == child.submission_id]
        assert [i.asset_id for i in again.inputs] == [i.asset_id for i in first.inputs] == list(
            parent.result_asset_ids)
        assert world.w.sim.submit_count == 2  # parent and child: the killed request never left

    asyncio.run(scenario())


async def upload_left_unsent(world: World) -> Job:
    """A job with an input of its own, killed mid-submit: recorded, never sent."""
    alice = await add_user(world.w)
    await add_account(world.w)

    async def chunks() -> AsyncIterator[bytes]:
        yield png(32, 32, 1)

    uploaded = await world.container.resolve(UploadAsset)(alice, chunks(), "in.png", None)
    job = await world.create(alice, JobRequest(provider_id="sim", operation_type="image_to_image",
                                               params={"prompt": "redo"},
                                               input_asset_ids=[uploaded.unwrap().asset.id]))
    world.provider.kill_before_send = True
    [claimed] = await world.container.resolve(ClaimJobs)()
    try:
        await world.container.resolve(AdvanceJob)(job.id, claimed.lease_token or "")
        raise AssertionError("the worker should have been killed")
    except asyncio.CancelledError:
        pass
    return await world.job(job.id)


def test_a_reattach_stages_inputs_within_the_provider_timeout() -> None:
    async def scenario() -> None:
        world = World(timeout_seconds=0.05)
        child = await upload_left_unsent(world)
        world.w.clock.advance(hours=2)  # the upload cache has expired: the input goes up again
        world.provider.hang_uploads = True
        [claimed] = await world.container.resolve(ClaimJobs)()
        step = world.container.resolve(AdvanceJob)(child.id, claimed.lease_token or "")
        await asyncio.wait_for(step, 5)  # hangs without a timeout on the upload
        retried = await world.job(child.id)
        assert (retried.status, retried.error_code) == (JobStatus.PENDING, "PROVIDER_TIMEOUT")
        world.provider.hang_uploads = False
        await world.settle(rounds=10, step=60)
        assert (await world.job(child.id)).status is JobStatus.COMPLETED

    asyncio.run(scenario())


def test_a_provider_that_forgot_a_job_costs_an_attempt_not_the_job() -> None:
    async def scenario() -> None:
        world = World()
        alice = await add_user(world.w)
        await add_account(world.w)
        job = await world.create(alice, JobRequest(provider_id="sim", operation_type="text_to_image",
                                                   params={"prompt": "x", "sim_latency_ms": 3000}))
        await world.settle(rounds=1, step=5)
        world.provider.forget_jobs = 1
        await world.settle(rounds=1, step=0)
        forgotten = await world.job(job.id)
        assert (forgotten.status, forgotten.error_code, forgotten.attempts) == (
            JobStatus.PENDING, "JOB_NOT_FOUND", 1)
        await world.settle(rounds=20)
        done = await world.job(job.id)
        assert (done.status, done.attempts) == (JobStatus.COMPLETED, 2)

    asyncio.run(scenario())


def test_a_provider_forgetting_every_attempt_fails_the_job_after_max_attempts() -> None:
    async def scenario() -> None:
        world = World()
        alice = await add_user(world.w)
        await add_account(world.w)
        job = await world.create(alice, JobRequest(provider_id="sim", operation_type="text_to_image",
                                                   params={"prompt": "x", "sim_latency_ms": 3000}))
        world.provider.forget_jobs = 1000
        await world.settle(rounds=40, step=60)
        failed = await world.job(job.id)
        assert (failed.status, failed.error_code, failed.attempts) == (JobStatus.FAILED, "JOB_NOT_FOUND", 3)

    asyncio.run(scenario())


def test_started_at_is_when_the_provider_accepted_the_job_and_claimed_at_when_a_worker_took_it() -> None:
    async def scenario() -> None:
        world = World()
        alice = await add_user(world.w)
        await add_account(world.w)
        job = await world.create(alice, JobRequest(provider_id="sim", operation_type="text_to_image",
                                                   params={"prompt": "x", "sim_latency_ms": 3000}))
        claimed_at = world.w.clock.now()
        [claimed] = await world.container.resolve(ClaimJobs)()
        assert (claimed.claimed_at, claimed.started_at) == (claimed_at, None)
        world.w.clock.advance(7)
        await world.container.resolve(AdvanceJob)(job.id, claimed.lease_token or "")
        accepted = await world.job(job.id)
        assert (accepted.claimed_at, accepted.started_at) == (claimed_at, claimed_at + timedelta(seconds=7))
        assert accepted.phase is JobPhase.POLL

    asyncio.run(scenario())
