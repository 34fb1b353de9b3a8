"""Jobs from creation to the end, on in-memory ports: every path of the pipeline."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from returns.result import Failure, Success

from adapters.media import png
from adapters.providers.registry import StaticProviderRegistry
from application.assets.upload import UploadAsset
from application.jobs.cancel import CancelJob
from application.jobs.create import CreateJob, JobRequest
from application.jobs.queries import GetJob, ListJobs
from application.jobs.quote import QuoteJob
from application.pipeline.advance import AdvanceJob
from application.pipeline.claim import ClaimJobs
from application.pipeline.run import DrainOnce
from domain.accounts import AccountStatus
from domain.assets import MediaType
from domain.clock import utc_day
from domain.errors import ErrorCode
from domain.jobs import Job, JobStatus
from domain.ledger import HoldStatus, invariant_violations
from domain.quotas import QuotaPolicy
from entrypoints.bootstrap import build_container
from tests.support.seed import ActorStub, add_account, add_user
from tests.support.wiring import Wiring, memory_wiring


def run(test: Callable[[Wiring], Awaitable[None]]) -> None:
    asyncio.run(test(memory_wiring()))


def image(prompt: str = "a red fox", **params: Any) -> JobRequest:
    return JobRequest(provider_id="sim", operation_type="text_to_image", params={"prompt": prompt, **params})


async def create(w: Wiring, actor: ActorStub, request: JobRequest, key: str | None = None) -> Job:
    created = await w.get(CreateJob)(actor, request, key)
    assert isinstance(created, Success), created
    return created.unwrap().job


async def job_of(w: Wiring, job_id: str) -> Job:
    async with w.ports.uow() as uow:
        job = await uow.jobs.get(job_id)
    assert job is not None
    return job


async def drain(w: Wiring, rounds: int = 5) -> None:
    for _ in range(rounds):
        if not await w.get(DrainOnce)():
            return


async def settle(w: Wiring, rounds: int = 20, step: float = 10) -> None:
    """Run workers and let time pass until nothing is due any more."""
    for _ in range(rounds):
        await drain(w)
        w.clock.advance(step)
    await drain(w)


async def balance(w: Wiring, user_id: str) -> tuple[int, int]:
    async with w.ports.uow() as uow:
        b = await uow.ledger.balance(user_id)
    return b.available, b.held


async def ledger_ok(w: Wiring) -> None:
    async with w.ports.uow() as uow:
        problems = invariant_violations(await uow.ledger.transactions(), await uow.ledger.holds())
    assert problems == []


async def accounts_idle(w: Wiring) -> None:
    async with w.ports.uow() as uow:
        assert all(a.current_jobs == 0 for a in await uow.accounts.find())
        assert all(u.running_jobs == 0 for u in w.ports.uow.store.state.users.values())  # type: ignore[attr-defined]


def test_happy_path_stores_a_png_and_charges_once() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        account = await add_account(w)
        job = await create(w, alice, image(num_images=2))
        assert job.status is JobStatus.PENDING and job.cost_estimate == 2
        assert await balance(w, alice.user_id) == (998, 2)
        await drain(w)
        done = await job_of(w, job.id)
        assert done.status is JobStatus.COMPLETED and len(done.result_asset_ids) == 2
        assert done.attempts == 1 and done.account_id == account.id
        async with w.ports.uow() as uow:
            assets = await uow.assets.many(list(done.result_asset_ids))
            used = await uow.accounts.get(account.id)
            usage = await uow.usage.get(alice.user_id, utc_day(w.clock.now()))
            hold = await uow.ledger.get_hold(done.hold_id or "")
        assert {a.mime_type for a in assets} == {"image/png"}
        assert all(a.job_id == job.id and a.provider_id == "sim" for a in assets)
        blob = b"".join([c async for c in w.ports.blobs.open(assets[0].storage_key)])
        assert blob.startswith(b"\x89PNG")
        assert used is not None and used.current_jobs == 0 and used.success_count == 1
        assert used.credits == 10_000 - 2
        assert usage.jobs_created == 1 and usage.jobs_completed == 1 and usage.assets_created == 2
        assert usage.credits_spent == 2
        assert hold is not None and hold.status is HoldStatus.CAPTURED and hold.captured == 2
        assert await balance(w, alice.user_id) == (998, 0)
        assert w.sim.submit_count == 1
        await ledger_ok(w)
        await accounts_idle(w)

    run(scenario)


def test_video_job_gives_a_video_asset() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        await add_account(w)
        job = await create(w, alice, JobRequest(provider_id="sim", operation_type="text_to_video",
                                                params={"prompt": "waves", "seconds": 3}))
        assert job.cost_estimate == 3
        await drain(w)
        done = await job_of(w, job.id)
        async with w.ports.uow() as uow:
            [asset] = await uow.assets.many(list(done.result_asset_ids))
        assert asset.media_type is MediaType.VIDEO and asset.mime_type == "image/gif"

    run(scenario)


def test_latency_parks_the_job_until_the_provider_is_done() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        await add_account(w)
        job = await create(w, alice, image(sim_latency_ms=5000))
        await drain(w)
        waiting = await job_of(w, job.id)
        assert waiting.status is JobStatus.PROCESSING and waiting.provider_job_id is not None
        assert waiting.lease_token is None  # waiting for the provider: any worker may poll it when due
        w.clock.advance(3)
        await drain(w)
        assert (await job_of(w, job.id)).status is JobStatus.PROCESSING
        w.clock.advance(3)
        await drain(w)
        assert (await job_of(w, job.id)).status is JobStatus.COMPLETED
        assert w.sim.submit_count == 1

    run(scenario)


def test_transient_error_retries_on_another_account() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        first = await add_account(w, "first", priority=10)
        second = await add_account(w, "second", priority=1)
        job = await create(w, alice, image(sim_outcome="transient_error"))
        await drain(w)
        retrying = await job_of(w, job.id)
        assert retrying.status is JobStatus.PENDING and retrying.attempts == 1
        assert retrying.excluded_account_ids == (first.id,)
        await settle(w)
        done = await job_of(w, job.id)
        assert done.status is JobStatus.COMPLETED and done.attempts == 2
        assert done.account_id == second.id
        async with w.ports.uow() as uow:
            cooled = await uow.accounts.get(first.id)
            submissions = await uow.submissions.for_job(job.id)
        assert cooled is not None and cooled.consecutive_failures == 1 and cooled.failure_count == 1
        assert [s.account_id for s in submissions] == [first.id, second.id]
        assert await balance(w, alice.user_id) == (999, 0)
        await ledger_ok(w)
        await accounts_idle(w)

    run(scenario)


def test_transient_failure_cools_the_account_down_with_backoff() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        only = await add_account(w, "only")
        job = await create(w, alice, image(sim_outcome="transient_error"))
        await drain(w)
        async with w.ports.uow() as uow:
            cooled = await uow.accounts.get(only.id)
        assert cooled is not None and cooled.status is AccountStatus.COOLING_DOWN
        assert cooled.cooldown_until == w.clock.now() + timedelta(seconds=30)
        # The only account failed it: the job waits for it rather than failing at once.
        w.clock.advance(10)
        await drain(w)
        assert (await job_of(w, job.id)).status is JobStatus.PENDING
        await settle(w)
        assert (await job_of(w, job.id)).status is JobStatus.COMPLETED

    run(scenario)


def test_moderated_content_fails_without_charge_or_account_penalty() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        account = await add_account(w)
        job = await create(w, alice, image(sim_outcome="final_error"))
        await drain(w)
        failed = await job_of(w, job.id)
        assert failed.status is JobStatus.FAILED and failed.error_code == "CONTENT_MODERATED"
        assert failed.attempts == 1
        assert await balance(w, alice.user_id) == (1000, 0)
        async with w.ports.uow() as uow:
            fresh = await uow.accounts.get(account.id)
        assert fresh is not None and fresh.status is AccountStatus.ACTIVE and fresh.credits == 10_000
        await ledger_ok(w)
        await accounts_idle(w)

    run(scenario)


def test_rejected_key_disables_the_account_and_fails_over() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        first = await add_account(w, "first", priority=5)
        second = await add_account(w, "second")
        job = await create(w, alice, image(sim_outcome="account_error"))
        await settle(w)
        done = await job_of(w, job.id)
        assert done.status is JobStatus.COMPLETED and done.account_id == second.id
        async with w.ports.uow() as uow:
            disabled = await uow.accounts.get(first.id)
        assert disabled is not None and disabled.status is AccountStatus.DISABLED

    run(scenario)


def test_attempts_run_out_then_the_job_fails_and_credits_return() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        await add_account(w, "bad", secret="sim-invalid-key")
        await add_account(w, "bad2", secret="sim-invalid-key")
        await add_account(w, "bad3", secret="sim-invalid-key")
        job = await create(w, alice, image())
        await settle(w)
        failed = await job_of(w, job.id)
        assert failed.status is JobStatus.FAILED and failed.attempts == failed.max_attempts == 3
        assert await balance(w, alice.user_id) == (1000, 0)
        await ledger_ok(w)
        await accounts_idle(w)

    run(scenario)


def test_no_free_account_means_waiting_not_failing() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        await add_account(w, "busy", max_concurrent_jobs=1)
        slow = await create(w, alice, image("slow", sim_latency_ms=20_000))
        queued = await create(w, alice, image("queued"))
        await drain(w)
        assert (await job_of(w, slow.id)).status is JobStatus.PROCESSING
        waiting = await job_of(w, queued.id)
        assert waiting.status is JobStatus.PENDING and waiting.attempts == 0
        await settle(w, rounds=5)
        assert (await job_of(w, slow.id)).status is JobStatus.COMPLETED
        assert (await job_of(w, queued.id)).status is JobStatus.COMPLETED

    run(scenario)


def test_users_concurrent_limit_holds_extra_jobs_pending() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w, quota=QuotaPolicy(max_concurrent_jobs=1))
        await add_account(w, max_concurrent_jobs=5)
        jobs = [await create(w, alice, image(f"p{i}", sim_latency_ms=10_000)) for i in range(3)]
        await drain(w)
        states = [(await job_of(w, j.id)).status for j in jobs]
        assert states.count(JobStatus.PROCESSING) == 1 and states.count(JobStatus.PENDING) == 2
        await settle(w, rounds=10)
        assert [(await job_of(w, j.id)).status for j in jobs] == [JobStatus.COMPLETED] * 3
        await accounts_idle(w)

    run(scenario)


def test_daily_quota_rejects_past_the_limit_and_resets_at_midnight() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w, quota=QuotaPolicy(max_jobs_per_day=2))
        await create(w, alice, image("1"))
        await create(w, alice, image("2"))
        third = await w.get(CreateJob)(alice, image("3"))
        assert isinstance(third, Failure)
        assert third.failure().code is ErrorCode.QUOTA_EXCEEDED and third.failure().retry_after
        assert await balance(w, alice.user_id) == (998, 2)  # nothing held for the rejected one
        w.clock.advance(hours=24)
        assert isinstance(await w.get(CreateJob)(alice, image("4")), Success)

    run(scenario)


def test_insufficient_credits_is_402_and_counts_nothing() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w, credits=1)
        refused = await w.get(CreateJob)(alice, image(num_images=3))
        assert isinstance(refused, Failure) and refused.failure().code is ErrorCode.INSUFFICIENT_CREDITS
        async with w.ports.uow() as uow:
            usage = await uow.usage.get(alice.user_id, utc_day(w.clock.now()))
        assert usage.jobs_created == 0

    run(scenario)


def test_idempotency_key_same_body_same_job_other_body_rejected() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        first = await w.get(CreateJob)(alice, image(), "key-1")
        again = await w.get(CreateJob)(alice, image(), "key-1")
        other = await w.get(CreateJob)(alice, image("different"), "key-1")
        assert first.unwrap().created and not again.unwrap().created
        assert again.unwrap().job.id == first.unwrap().job.id
        assert isinstance(other, Failure) and other.failure().code is ErrorCode.IDEMPOTENCY_MISMATCH
        bob = await add_user(w, "bob")
        assert (await w.get(CreateJob)(bob, image(), "key-1")).unwrap().created

    run(scenario)


@pytest.mark.parametrize(
    ("request_body", "code"),
    [
        (JobRequest(provider_id="nope", operation_type="text_to_image", params={"prompt": "x"}), "VALIDATION_ERROR"),
        (JobRequest(provider_id="sim", operation_type="teleport", params={}), "VALIDATION_ERROR"),
        (JobRequest(provider_id="sim", operation_type="text_to_image", params={"prompt": ""}), "VALIDATION_ERROR"),
        (JobRequest(provider_id="sim", operation_type="text_to_image", params={"prompt": "x", "width": 5}), "VALIDATION_ERROR"),
        (JobRequest(provider_id="sim", operation_type="text_to_image", params={"prompt": "x"}, priority=11), "VALIDATION_ERROR"),
        (JobRequest(provider_id="sim", operation_type="image_to_image", params={"prompt": "x"}), "VALIDATION_ERROR"),
        (JobRequest(provider_id="sim", operation_type="image_to_image", params={"prompt": "x"}, input_asset_ids=["missing"]), "NOT_FOUND"),
        (JobRequest(provider_id="sim", operation_type="text_to_image", params={"prompt": "x"}, parent_job_id="missing"), "NOT_FOUND"),
    ],
)
def test_bad_requests_get_typed_failures(request_body: JobRequest, code: str) -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        result = await w.get(CreateJob)(alice, request_body)
        assert isinstance(result, Failure) and result.failure().code == code
        assert await balance(w, alice.user_id) == (1000, 0)

    run(scenario)


def test_quote_prices_without_holding() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        quote = await w.get(QuoteJob)(JobRequest(provider_id="sim", operation_type="text_to_video",
                                                 params={"prompt": "x", "seconds": 7}))
        assert quote.unwrap().credits == 7
        assert await balance(w, alice.user_id) == (1000, 0)

    run(scenario)


def test_cancel_pending_and_processing_jobs() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        account = await add_account(w, max_concurrent_jobs=1)
        running = await create(w, alice, image("slow", sim_latency_ms=60_000))
        queued = await create(w, alice, image("later", sim_latency_ms=60_000))
        await drain(w)
        cancel = w.get(CancelJob)
        cancelled_pending = await cancel(alice, queued.id)
        assert cancelled_pending.unwrap().status is JobStatus.CANCELLED
        processing = await job_of(w, running.id)
        cancelled = await cancel(alice, running.id)
        assert cancelled.unwrap().status is JobStatus.CANCELLED
        remote = await w.sim.status(account.secret, processing.provider_job_id or "")
        assert str(remote.unwrap().state) == "cancelled"
        again = await cancel(alice, running.id)
        assert isinstance(again, Failure) and again.failure().code is ErrorCode.INVALID_TRANSITION
        assert await balance(w, alice.user_id) == (1000, 0)
        await ledger_ok(w)
        await accounts_idle(w)
        await settle(w, rounds=3)
        assert (await job_of(w, running.id)).status is JobStatus.CANCELLED

    run(scenario)


def test_other_users_jobs_are_not_found() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        bob = await add_user(w, "bob")
        job = await create(w, alice, image())
        for outcome in (await w.get(GetJob)(bob, job.id), await w.get(CancelJob)(bob, job.id)):
            assert isinstance(outcome, Failure) and outcome.failure().code is ErrorCode.NOT_FOUND
        listed = await w.get(ListJobs)(bob)
        assert listed.unwrap().items == []

    run(scenario)


def test_list_jobs_filters_and_pages() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        made = []
        for i in range(5):
            made.append(await create(w, alice, image(f"p{i}")))
            w.clock.advance(1)
        video = await create(w, alice, JobRequest(provider_id="sim", operation_type="text_to_video",
                                                  params={"prompt": "v"}))
        first = (await w.get(ListJobs)(alice, limit=4)).unwrap()
        assert [j.id for j in first.items] == [video.id, made[4].id, made[3].id, made[2].id]
        rest = (await w.get(ListJobs)(alice, limit=4, cursor=first.next_cursor)).unwrap()
        assert [j.id for j in rest.items] == [made[1].id, made[0].id] and rest.next_cursor is None
        videos = (await w.get(ListJobs)(alice, operation_type="text_to_video")).unwrap()
        assert [j.id for j in videos.items] == [video.id]
        bad = await w.get(ListJobs)(alice, cursor="%%%")
        assert isinstance(bad, Failure) and bad.failure().code is ErrorCode.VALIDATION_ERROR
        bad_status = await w.get(ListJobs)(alice, status="sleeping")
        assert isinstance(bad_status, Failure)

    run(scenario)


def test_scheduled_job_waits_for_its_time_and_priority_orders_claims() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        await add_account(w, max_concurrent_jobs=10)
        later = await create(w, alice, JobRequest(provider_id="sim", operation_type="text_to_image",
                                                  params={"prompt": "later"},
                                                  scheduled_at=w.clock.now() + timedelta(hours=1)))
        low = await create(w, alice, JobRequest(provider_id="sim", operation_type="text_to_image",
                                                params={"prompt": "low"}, priority=9))
        high = await create(w, alice, JobRequest(provider_id="sim", operation_type="text_to_image",
                                                 params={"prompt": "high"}, priority=0))
        claimed = await w.get(ClaimJobs)(limit=10)
        assert [j.id for j in claimed] == [high.id, low.id]
        assert (await job_of(w, later.id)).status is JobStatus.PENDING
        w.clock.advance(hours=1, seconds=1)
        # The other two leases ran out meanwhile, so they come round again, by priority.
        assert [j.id for j in await w.get(ClaimJobs)(limit=10)] == [high.id, later.id, low.id]

    run(scenario)


async def upload_png(w: Wiring, actor: ActorStub, seed: int = 1) -> str:
    async def chunks() -> AsyncIterator[bytes]:
        yield png(32, 32, seed)

    outcome = await w.get(UploadAsset)(actor, chunks(), "in.png", None)
    return outcome.unwrap().asset.id


def test_input_uploaded_once_per_provider_and_lineage_recorded() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        await add_account(w, max_concurrent_jobs=4)
        source = await upload_png(w, alice)
        jobs = [await create(w, alice, JobRequest(provider_id="sim", operation_type="image_to_image",
                                                  params={"prompt": f"v{i}"}, input_asset_ids=[source]))
                for i in range(2)]
        await drain(w)
        assert w.sim.upload_count == 1
        async with w.ports.uow() as uow:
            for job in jobs:
                done = await uow.jobs.get(job.id)
                assert done is not None and done.status is JobStatus.COMPLETED
                [child] = done.result_asset_ids
                [edge] = await uow.lineage.ancestors(child, 10)
                assert (edge.parent_id, edge.job_id, edge.operation_type) == (source, job.id, "image_to_image")
            assert len(await uow.lineage.descendants(source, 10)) == 2

    run(scenario)


def test_child_job_waits_for_parent_and_uses_its_result() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        await add_account(w, max_concurrent_jobs=4)
        parent = await create(w, alice, image("still", sim_latency_ms=5000))
        child = await create(w, alice, JobRequest(provider_id="sim", operation_type="image_to_video",
                                                  params={"prompt": "move"}, parent_job_id=parent.id))
        await drain(w)
        assert (await job_of(w, child.id)).status is JobStatus.PENDING
        await settle(w)
        done_parent, done_child = await job_of(w, parent.id), await job_of(w, child.id)
        assert done_child.status is JobStatus.COMPLETED
        async with w.ports.uow() as uow:
            [edge] = await uow.lineage.ancestors(done_child.result_asset_ids[0], 10)
        assert edge.parent_id == done_parent.result_asset_ids[0]

    run(scenario)


def test_parent_failure_fails_waiting_children_and_releases_their_credits() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        await add_account(w)
        parent = await create(w, alice, image(sim_outcome="final_error"))
        child = await create(w, alice, image("child"))
        grandchild_req = JobRequest(provider_id="sim", operation_type="text_to_image",
                                    params={"prompt": "g"}, parent_job_id=child.id)
        child = await create(w, alice, JobRequest(provider_id="sim", operation_type="image_to_image",
                                                  params={"prompt": "c"}, parent_job_id=parent.id))
        grandchild = await create(w, alice, msgspec_replace(grandchild_req, parent_job_id=child.id))
        await drain(w)
        for job_id in (child.id, grandchild.id):
            ended = await job_of(w, job_id)
            assert ended.status is JobStatus.FAILED and ended.error_code == "PARENT_FAILED"
        late = await w.get(CreateJob)(alice, JobRequest(provider_id="sim", operation_type="text_to_image",
                                                        params={"prompt": "x"}, parent_job_id=parent.id))
        assert isinstance(late, Failure) and late.failure().code is ErrorCode.CONFLICT
        await ledger_ok(w)

    run(scenario)


def msgspec_replace(request: JobRequest, **changes: Any) -> JobRequest:
    return msgspec.structs.replace(request, **changes)


class CrashAfterSubmit:
    """A provider whose answer to submit is lost: the worker dies after the call went out."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def submit(self, secret: str, request: Any) -> Any:
        await self._inner.submit(secret, request)
        raise asyncio.CancelledError("worker killed")


def test_crash_after_submit_reattaches_without_a_second_submit() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        await add_account(w)
        job = await create(w, alice, image(sim_latency_ms=1000))
        [claimed] = await w.get(ClaimJobs)()
        assert claimed.account_id is not None  # reserved with the claim: the next step submits
        crashing_ports = dataclasses.replace(w.ports, providers=StaticProviderRegistry([CrashAfterSubmit(w.sim)]))
        crashing = build_container(crashing_ports).resolve(AdvanceJob)
        with pytest.raises(asyncio.CancelledError):
            await crashing(job.id, claimed.lease_token or "")
        stuck = await job_of(w, job.id)
        assert stuck.submission_id is not None and stuck.provider_job_id is None
        # Another worker cannot take it while the lease holds; after it runs out it can.
        assert await w.get(ClaimJobs)() == []
        w.clock.advance(61)
        await settle(w, rounds=3)
        done = await job_of(w, job.id)
        assert done.status is JobStatus.COMPLETED
        assert w.sim.submit_count == 1
        await accounts_idle(w)
        await ledger_ok(w)

    run(scenario)


def test_stale_lease_holder_cannot_write() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        await add_account(w)
        job = await create(w, alice, image())
        [first] = await w.get(ClaimJobs)()
        w.clock.advance(61)
        [second] = await w.get(ClaimJobs)()
        assert first.lease_token != second.lease_token
        lost = await w.get(AdvanceJob)(job.id, first.lease_token or "")
        assert isinstance(lost, Failure) and lost.failure().code is ErrorCode.LEASE_LOST
        assert isinstance(await w.get(AdvanceJob)(job.id, second.lease_token or ""), Success)

    run(scenario)
