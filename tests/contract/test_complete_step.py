"""The completion step (PipelineSteps.complete_job), the same on every adapter: all of a
success written at once under the lease, or nothing (lease lost, or the plan's assumptions
gone stale); and the rule Postgres states in SQL (the account's freed slot and
`record_success`) agreeing with the domain for any account state (hypothesis)."""

from __future__ import annotations

import asyncio

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.accounts import AccountStatus, record_success
from domain.assets import AssetSource
from domain.audit import AuditEntry, AuditFilter
from domain.jobs import Job, JobPhase, JobStatus, complete
from domain.ledger import HoldStatus, capture, grant, place_hold, release
from domain.lineage import Relation, edges_for_inputs
from domain.outbound import WebhookEndpoint
from domain.ports import CompleteStatus, Completion, UnitOfWork, UnitOfWorkFactory, UsageDelta
from domain.providers import ProviderSubmission
from tests.contract.builders import T0, account, add_user, asset, at, in_uow, job

RULES = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
COST = 30


async def running_job(factory: UnitOfWorkFactory, pool_changes: dict[str, object] | None = None,
                      webhook_url: str | None = None) -> tuple[Job, Completion]:
    """A processing job with its hold, account and submission; and its completion as the
    pipeline works it out (application/pipeline/finish.py)."""
    owner = await add_user(factory)
    pool = account(**{"current_jobs": 1, **(pool_changes or {})})
    source = asset(owner.id)
    hold, hold_tx = place_hold("tx-h-" + owner.id, "hold-" + owner.id, owner.id, COST, T0).unwrap()
    running = job(owner.id, status=JobStatus.PROCESSING, account_id=pool.id, lease_token="lease-1",
                  lease_expires_at=at(60), phase=JobPhase.POLL, attempts=1, cost_estimate=COST,
                  hold_id=hold.id, submission_id="sub-" + owner.id, provider_job_id="remote-1",
                  input_asset_ids=(source.id,), webhook_url=webhook_url, started_at=at(2))
    submission = ProviderSubmission(id=running.submission_id or "", job_id=running.id, account_id=pool.id,
                                    attempt=1, submitted_at=at(1), provider_job_id="remote-1")
    endpoint = WebhookEndpoint(id="ep-" + owner.id, user_id=owner.id, url="https://example.com/hook",
                               events=("job.completed",), secret="whsec", created_at=T0)

    async def work(uow: UnitOfWork) -> None:
        assert await uow.ledger.apply(grant("tx-g-" + owner.id, owner.id, 100, T0).unwrap())
        assert await uow.ledger.apply(hold_tx)
        await uow.ledger.add_hold(msgspec.structs.replace(hold, job_id=running.id))
        await uow.accounts.add(pool)
        assert await uow.assets.add(source)
        assert await uow.jobs.add(running)
        await uow.submissions.add(submission)
        await uow.hook_endpoints.add(endpoint)

    await in_uow(factory, work)
    now = at(10)
    made = asset(owner.id, source=AssetSource.GENERATED, job_id=running.id, provider_id="sim", created_at=now,
                 last_accessed_at=now)
    settled, txs = capture(msgspec.structs.replace(hold, job_id=running.id), COST - 5, ("tx-c-" + owner.id,
                                                                                         "tx-r-" + owner.id), now).unwrap()
    completion = Completion(
        job=complete(running, (made.id,), now).unwrap(), expected_version=running.version, lease_token="lease-1",
        assets=(made,), edges=tuple(edges_for_inputs(made.id, [source.id], "text_to_image", running.id,
                                                     Relation.INPUT)),
        hold=settled, hold_txs=tuple(txs), account_id=pool.id, generation_seconds=9.0,
        submission_id=submission.id, raw_status="succeeded", day=now.date(),
        usage=UsageDelta(jobs_completed=1, assets_created=1, credits_spent=settled.captured,
                         bytes_stored=made.size_bytes),
        stored_bytes=made.size_bytes,
        audit=AuditEntry(id="au-" + owner.id, at=now, actor_id=None, action="job.complete", resource_type="job",
                         resource_id=running.id, details={"credits": settled.captured, "assets": [made.id]}))
    return running, completion


async def snapshot(factory: UnitOfWorkFactory, c: Completion) -> dict[str, object]:
    job_ = c.job

    async def work(uow: UnitOfWork) -> dict[str, object]:
        balance = await uow.ledger.balance(job_.user_id)
        owner = await uow.users.get(job_.user_id)
        assert owner is not None
        return {
            "job": await uow.jobs.get(job_.id), "asset": await uow.assets.get(c.assets[0].id),
            "edges": await uow.lineage.ancestors(c.assets[0].id, 1),
            "hold": await uow.ledger.get_hold(c.hold.id if c.hold else ""),
            "balance": (balance.available, balance.held),
            "txs": [tx for tx in await uow.ledger.transactions(job_.user_id) if tx.job_id == job_.id],
            "account": await uow.accounts.get(c.account_id or ""),
            "submission": await uow.submissions.get(c.submission_id or ""),
            "user": (owner.running_jobs, owner.storage_bytes),
            "usage": await uow.usage.get(job_.user_id, c.day),
            "audit": (await uow.audit.page(AuditFilter(resource_type="job", resource_id=job_.id), None, 10)).items,
            "deliveries": sorted(d.id for d in await uow.hook_deliveries.for_job(job_.id)),
        }

    return await in_uow(factory, work, commit=False)


def test_a_completion_writes_everything_at_once(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        running, c = await running_job(uow_factory, webhook_url="https://example.com/job")
        before = await snapshot(uow_factory, c)
        assert await uow_factory.complete_job(c) is CompleteStatus.DONE
        after = await snapshot(uow_factory, c)
        assert after["job"] == msgspec.structs.replace(c.job, version=running.version + 1)
        assert after["asset"] == c.assets[0]
        assert [(e.parent_id, e.child_id) for e in after["edges"]] == [  # type: ignore[attr-defined]
            (e.parent_id, e.child_id) for e in c.edges]
        assert after["hold"] == c.hold
        assert after["balance"] == (100 - COST + 5, 0)
        assert sorted(after["txs"], key=lambda tx: tx.id) == sorted(  # type: ignore[arg-type, attr-defined]
            [*before["txs"], *c.hold_txs], key=lambda tx: tx.id)  # type: ignore[misc]
        pool = before["account"]
        assert isinstance(pool, type(after["account"])) and pool is not None
        assert after["account"] == record_success(msgspec.structs.replace(pool, current_jobs=0), 9.0)
        assert after["submission"] == msgspec.structs.replace(
            before["submission"], raw_status="succeeded", completed_at=c.job.completed_at)  # type: ignore[type-var]
        assert after["user"] == (0, c.assets[0].size_bytes)
        usage = after["usage"]
        assert (usage.jobs_completed, usage.assets_created, usage.credits_spent, usage.bytes_stored) == (  # type: ignore[attr-defined]
            1, 1, COST - 5, c.assets[0].size_bytes)
        assert after["audit"] == [c.audit]
        assert after["deliveries"] == sorted([f"dlv_{running.id}_ep-{running.user_id}", f"dlv_{running.id}_job"])

    runner.run(scenario())


def test_a_completion_writes_nothing_when_it_lost_the_lease_or_went_stale(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        running, c = await running_job(uow_factory)
        before = await snapshot(uow_factory, c)
        assert await uow_factory.complete_job(msgspec.structs.replace(c, lease_token="lease-0")) \
            is CompleteStatus.LEASE_LOST
        assert await uow_factory.complete_job(msgspec.structs.replace(c, expected_version=running.version + 1)) \
            is CompleteStatus.LEASE_LOST
        assert await snapshot(uow_factory, c) == before

        # The owner got these bytes meanwhile: stale, nothing written (the slow way reuses it).
        same_bytes = msgspec.structs.replace(c.assets[0], id="as-other", job_id=None)

        async def store(uow: UnitOfWork) -> None:
            assert await uow.assets.add(same_bytes)

        await in_uow(uow_factory, store)
        assert await uow_factory.complete_job(c) is CompleteStatus.STALE
        assert (await snapshot(uow_factory, c))["job"] == before["job"]

    runner.run(scenario())


def test_a_completion_whose_hold_was_settled_meanwhile_is_stale(uow_factory: UnitOfWorkFactory,
                                                                runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        _, c = await running_job(uow_factory)
        assert c.hold is not None

        async def settle(uow: UnitOfWork) -> None:
            hold = await uow.ledger.get_hold(c.hold.id if c.hold else "")
            assert hold is not None
            released, tx = release(hold, "tx-x", at(5)).unwrap()
            assert await uow.ledger.settle_hold(released)
            assert await uow.ledger.apply(tx)

        await in_uow(uow_factory, settle)
        before = await snapshot(uow_factory, c)
        assert await uow_factory.complete_job(c) is CompleteStatus.STALE
        after = await snapshot(uow_factory, c)
        assert after == before
        assert after["hold"].status is HoldStatus.RELEASED  # type: ignore[union-attr]

    runner.run(scenario())


accounts = st.fixed_dictionaries({
    "status": st.sampled_from(list(AccountStatus)),
    "cooldown_until": st.none() | st.just(at(30)),
    "success_count": st.integers(0, 1000),
    "consecutive_failures": st.integers(0, 5),
    "avg_generation_seconds": st.none() | st.floats(0, 3600, allow_nan=False),
    "current_jobs": st.integers(0, 2),
})


@RULES
@given(state=accounts, seconds=st.floats(0, 3600, allow_nan=False))
def test_the_account_is_freed_and_credited_as_the_domain_says(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner, state: dict[str, object], seconds: float) -> None:
    async def scenario() -> None:
        _, c = await running_job(uow_factory, pool_changes=state)
        before = (await snapshot(uow_factory, c))["account"]
        assert await uow_factory.complete_job(msgspec.structs.replace(c, generation_seconds=seconds)) \
            is CompleteStatus.DONE
        freed = msgspec.structs.replace(before, current_jobs=max(0, before.current_jobs - 1))  # type: ignore[attr-defined, type-var]
        assert (await snapshot(uow_factory, c))["account"] == record_success(freed, seconds)

    runner.run(scenario())
