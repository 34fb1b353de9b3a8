"""The phase that ends an attempt: complete the job, or fail it, retry it, or hand it back."""

from __future__ import annotations

from datetime import datetime

import msgspec
from returns.result import Failure, Result, Success

from application.audit import AuditTrail
from application.events import AfterCommit
from application.jobs.settlement import capture_credits, fail_dependents, free_account_slot, release_credits
from application.pipeline.failures import Step, lease_lost
from application.pipeline.outputs import FetchedOutput, fetch_outputs
from application.pipeline.reroute import Reroute
from application.policy import AssetPolicy, PipelinePolicy
from domain.accounts import JOB_FINAL, FailureKind, ProviderAccount, record_failure, record_success
from domain.assets import Asset, AssetSource, generated_media_type
from domain.clock import utc_day
from domain.errors import DomainError
from domain.events import AssetCreated, JobCompleted, JobFailed, JobRetrying, ProviderCompleted
from domain.jobs import Job, JobStatus, complete, fail, requeue, retry_or_fail
from domain.ledger import CreditHold, LedgerTransaction, capture
from domain.lineage import Relation, edges_for_inputs
from domain.ports import (
    BlobStore,
    Clock,
    CompleteStatus,
    Completion,
    EventBus,
    IdGenerator,
    Leased,
    ProviderClient,
    RandomSource,
    UnitOfWork,
    UnitOfWorkFactory,
    UsageDelta,
)
from domain.providers import ProviderFailure, RemoteStatus


class Finish:
    """Complete: fetch the outputs promptly, store assets and lineage, capture credits, free
    the account's slot and the user's run slot. Fail: classify; account faults disable,
    exhaust or cool the account; job faults end the job; the rest go back to pending with
    backoff on another account, until max_attempts. A provider that could not be tried at
    all (circuit open) costs no attempt. A routed job goes back to pending on its next
    candidate provider (domain/routing.py), at once."""

    def __init__(self, uow: UnitOfWorkFactory, blobs: BlobStore, clock: Clock, ids: IdGenerator,
                 random: RandomSource, policy: PipelinePolicy, asset_policy: AssetPolicy,
                 audit: AuditTrail, events: EventBus, reroute: Reroute | None = None) -> None:
        self._reroute = reroute
        self._uow = uow
        self._blobs = blobs
        self._clock = clock
        self._ids = ids
        self._random = random
        self._policy = policy
        self._asset_policy = asset_policy
        self._audit = audit
        self._events = events

    async def complete(self, job: Job, client: ProviderClient, account: ProviderAccount,
                       status: RemoteStatus, leased: Leased | None = None) -> Result[Step, DomainError]:
        fetched = await fetch_outputs(client, self._blobs, status.outputs, self._asset_policy.limits.largest)
        if isinstance(fetched, Failure):
            return await self.fail_or_retry(job, account, fetched.failure(), blame_account=False)
        if leased is not None and (job.parent_job_id is None) == (leased.parent_results is None) \
                and (leased.hold is None) == (job.hold_id is None):
            done = await self._complete_at_once(job, client, account, status, leased, fetched.unwrap())
            if done is not None:
                return done
        return await self._complete_step_by_step(job, client, account, status, fetched.unwrap())

    async def _complete_at_once(self, job: Job, client: ProviderClient, account: ProviderAccount,
                                status: RemoteStatus, leased: Leased,
                                fetched: list[FetchedOutput]) -> Result[Step, DomainError] | None:
        """The whole success in one atomic step, worked out here with the domain's functions
        from what was read with the lease (the hold, the submission, a child's parent's
        results). None when its assumptions no longer hold (nothing written): then step by step."""
        now = self._clock.now()
        inputs = with_parent_results(job.input_asset_ids, leased.parent_results or ())
        new_assets = [self._asset(job, client, item, now) for item in fetched]
        done = complete(job, tuple(a.id for a in new_assets), now).unwrap()
        settled: CreditHold | None = None
        txs: list[LedgerTransaction] = []
        charged = 0
        if leased.hold is not None:
            captured = capture(leased.hold, job.cost_estimate, (self._ids.new_id(), self._ids.new_id()), now)
            if isinstance(captured, Failure):
                return None
            settled, txs = captured.unwrap()
            charged = settled.captured
        started = leased.submission.submitted_at if leased.submission else job.started_at or now
        stored = sum(a.size_bytes for a in new_assets)
        outcome = await self._uow.complete_job(Completion(
            job=done, expected_version=job.version, lease_token=job.lease_token or "", assets=tuple(new_assets),
            edges=tuple(edge for asset in new_assets for edge in edges_for_inputs(
                asset.id, inputs, str(job.operation_type), job.id, Relation.INPUT)),
            hold=settled, hold_txs=tuple(txs), account_id=job.account_id,
            generation_seconds=(now - started).total_seconds(),
            submission_id=leased.submission.id if leased.submission else None, raw_status=status.raw_status,
            day=utc_day(now), usage=UsageDelta(jobs_completed=1, assets_created=len(new_assets),
                                               credits_spent=charged, bytes_stored=stored),
            stored_bytes=stored,
            audit=self._audit.entry(None, "job.complete", "job", job.id, account_id=account.id,
                                    credits=charged, assets=[a.id for a in new_assets])))
        if outcome is CompleteStatus.STALE:
            return None
        if outcome is CompleteStatus.LEASE_LOST:
            return Failure(lease_lost(job.id))
        after_commit = AfterCommit()
        for asset in new_assets:
            after_commit.add(AssetCreated(job_id=job.id, user_id=job.user_id, at=now, asset_id=asset.id))
        after_commit.add(JobCompleted(job_id=job.id, user_id=job.user_id, at=now,
                                      result_asset_ids=done.result_asset_ids))
        await self._events.publish(ProviderCompleted(job_id=job.id, user_id=job.user_id, at=now,
                                                     provider_job_id=job.provider_job_id or ""))
        await after_commit.flush(self._events)
        return Success(Step.DONE)

    def _asset(self, job: Job, client: ProviderClient, item: FetchedOutput, now: datetime) -> Asset:
        return Asset(
            id=self._ids.new_id(), owner_id=job.user_id,
            media_type=generated_media_type(job.operation_type, item.kind),
            source=AssetSource.GENERATED, mime_type=item.kind.mime_type, size_bytes=item.blob.size,
            sha256=item.blob.sha256, storage_key=item.blob.key, created_at=now, last_accessed_at=now,
            provider_id=client.info.id, provider_asset_id=item.output.provider_asset_id,
            job_id=job.id, workspace_id=job.workspace_id,
        )

    async def _complete_step_by_step(self, job: Job, client: ProviderClient, account: ProviderAccount,
                                     status: RemoteStatus, fetched: list[FetchedOutput]) -> Result[Step, DomainError]:
        now = self._clock.now()
        after_commit = AfterCommit()
        async with self._uow() as uow:
            submission = await uow.submissions.get(job.submission_id or "")
            assets = await self._store_assets(uow, job, client, fetched, after_commit, now)
            done = complete(job, tuple(a.id for a, _ in assets), now).unwrap()
            if not await uow.jobs.save(done, job.version):
                return Failure(lease_lost(job.id))
            charged = await capture_credits(uow, job, job.cost_estimate, self._ids, now)
            await free_account_slot(uow, job, refund=0)
            fresh = await uow.accounts.get(account.id)
            started = submission.submitted_at if submission else job.started_at or now
            if fresh is not None:
                await uow.accounts.save_health(record_success(fresh, (now - started).total_seconds()))
            if submission is not None:
                await uow.submissions.update(msgspec.structs.replace(
                    submission, raw_status=status.raw_status, completed_at=now))
            await uow.users.release_run_slot(job.user_id)
            new_bytes = sum(a.size_bytes for a, created in assets if created)
            await uow.users.try_add_storage(job.user_id, new_bytes, None)
            await uow.usage.add(job.user_id, utc_day(now), UsageDelta(
                jobs_completed=1, assets_created=sum(1 for _, created in assets if created),
                credits_spent=charged, bytes_stored=new_bytes))
            await self._audit.record(uow, None, "job.complete", "job", job.id, account_id=account.id,
                                     credits=charged, assets=[a.id for a, _ in assets])
            await uow.commit()
        after_commit.add(JobCompleted(job_id=job.id, user_id=job.user_id, at=now,
                                result_asset_ids=done.result_asset_ids))
        await self._events.publish(ProviderCompleted(job_id=job.id, user_id=job.user_id, at=now,
                                                     provider_job_id=job.provider_job_id or ""))
        await after_commit.flush(self._events)
        return Success(Step.DONE)

    async def _store_assets(self, uow: UnitOfWork, job: Job, client: ProviderClient,
                            fetched: list[FetchedOutput], after_commit: AfterCommit,
                            now: datetime) -> list[tuple[Asset, bool]]:
        """One asset per output; bytes the user already has give the existing asset."""
        parent = await uow.jobs.get(job.parent_job_id) if job.parent_job_id is not None else None
        inputs = with_parent_results(job.input_asset_ids, parent.result_asset_ids if parent else ())
        stored: list[tuple[Asset, bool]] = []
        for item in fetched:
            existing = await uow.assets.find_by_sha(job.user_id, item.blob.sha256)
            if existing is not None:
                stored.append((existing, False))
                continue
            asset = self._asset(job, client, item, now)
            await uow.assets.add(asset)
            # A new asset has no descendants yet, so no edge to it can close a loop: no
            # cycle walk needed (link_inputs makes one per input for existing assets).
            await uow.lineage.add(edges_for_inputs(asset.id, inputs, str(job.operation_type), job.id,
                                                   Relation.INPUT))
            after_commit.add(AssetCreated(job_id=job.id, user_id=job.user_id, at=now, asset_id=asset.id))
            stored.append((asset, True))
        return stored

    async def fail_or_retry(self, job: Job, account: ProviderAccount | None, failure: ProviderFailure,
                            blame_account: bool = True) -> Result[Step, DomainError]:
        now = self._clock.now()
        if failure.kind is FailureKind.UNAVAILABLE:
            ended = requeue(job, now + self._policy.no_account_delay, now, refund_attempt=True).map(
                lambda waiting: msgspec.structs.replace(
                    waiting, error_code=failure.code, error_message=failure.message))
        elif failure.kind in JOB_FINAL:
            ended = fail(job, failure.code, failure.message, now)
        else:
            ended = retry_or_fail(job, code=failure.code, message=failure.message, policy=self._policy.retry,
                                  random=self._random.random, now=now,
                                  exclude_account=blame_account and account is not None)
        moved = ended.unwrap()
        after_commit = AfterCommit()
        routed = moved.status is JobStatus.PENDING and job.route is not None
        reroute = await self._reroute.ready() if self._reroute is not None and routed else None
        async with self._uow() as uow:
            if reroute is not None:
                moved = await reroute(uow, job, moved, failure, now)  # a routed job fails over
            if not await uow.jobs.save(moved, job.version):
                return Failure(lease_lost(job.id))
            # Locks in the order every settling transaction takes them (completion, cancel):
            # the job, the user's credit balance, the account, the user's run slot. Another
            # order deadlocks against a completion of the same user's other job.
            if moved.status is JobStatus.FAILED:
                await release_credits(uow, moved, self._ids, now)
                await fail_dependents(uow, moved, self._ids, now, after_commit)
                after_commit.add(JobFailed(job_id=job.id, user_id=job.user_id, at=now,
                                           error_code=failure.code, error_message=failure.message))
            else:
                after_commit.add(JobRetrying(job_id=job.id, user_id=job.user_id, at=now,
                                             error_code=failure.code, attempt=job.attempts))
            if account is not None:
                fresh = await uow.accounts.get(account.id)
                if fresh is not None and blame_account:
                    await uow.accounts.save_health(record_failure(
                        fresh, failure.kind, now, self._policy.cooldown, failure.retry_after_seconds))
            await free_account_slot(uow, job, refund=job.cost_estimate)
            await uow.users.release_run_slot(job.user_id)
            submission = await uow.submissions.get(job.submission_id) if job.submission_id else None
            if submission is not None:
                await uow.submissions.update(msgspec.structs.replace(
                    submission, error_code=failure.code, completed_at=now))
            await self._audit.record(uow, None, f"job.{'fail' if moved.status is JobStatus.FAILED else 'retry'}",
                                     "job", job.id, code=failure.code, kind=str(failure.kind),
                                     account_id=job.account_id)
            await uow.commit()
        await after_commit.flush(self._events)
        return Success(Step.DONE if moved.status is JobStatus.FAILED else Step.WAITING)


def with_parent_results(inputs: tuple[str, ...], parent_results: tuple[str, ...]) -> list[str]:
    """A job's inputs for its outputs' lineage: its own, then its parent's results."""
    return [*inputs, *(a for a in parent_results if a not in inputs)]
