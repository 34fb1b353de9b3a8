"""Move one leased job a step along: reserve an account, submit, poll, finish."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

import msgspec
from returns.result import Failure, Result, Success

from application.audit import AuditTrail
from application.events import Outbox
from application.jobs.settlement import capture_credits, fail_dependents, release_account, release_credits
from application.pipeline.inputs import InputStager
from application.pipeline.outputs import FetchedOutput, fetch_outputs
from application.policy import AssetPolicy, PipelinePolicy
from domain.accounts import (
    JOB_FINAL,
    AccountStatus,
    FailureKind,
    ProviderAccount,
    SelectionPolicy,
    SelectionRequest,
    record_failure,
    record_success,
)
from domain.assets import Asset, AssetSource, generated_media_type
from domain.clock import utc_day
from domain.errors import DomainError, ErrorCode
from domain.events import (
    AccountSelected,
    AssetCreated,
    JobCompleted,
    JobFailed,
    JobRetrying,
    JobStarted,
    ProviderCompleted,
    ProviderSubmitted,
)
from domain.jobs import Job, JobStatus, assign_account, complete, fail, hand_back, park, retry_or_fail
from domain.lineage import Relation, edges_for_inputs
from domain.ports import (
    BlobStore,
    Clock,
    EventBus,
    IdGenerator,
    ProviderClient,
    ProviderRegistry,
    RandomSource,
    UnitOfWork,
    UnitOfWorkFactory,
    UsageDelta,
)
from domain.providers import ProviderFailure, ProviderSubmission, RemoteState, RemoteStatus, SubmitRequest

T = TypeVar("T")


class Step(StrEnum):
    CONTINUE = "continue"  # more to do right away
    WAITING = "waiting"  # parked: back to pending, or waiting on the provider
    DONE = "done"  # terminal


def lease_lost(job_id: str) -> DomainError:
    return DomainError(ErrorCode.LEASE_LOST, f"job {job_id} is no longer leased to this worker")


def could_ever_take(account: ProviderAccount, request: SelectionRequest) -> bool:
    """Busy and cooling down pass; disabled, exhausted or too poor for the job do not."""
    return (account.status in (AccountStatus.ACTIVE, AccountStatus.COOLING_DOWN)
            and account.credits >= request.cost)


def timed_out(what: str) -> ProviderFailure:
    return ProviderFailure(kind=FailureKind.TRANSIENT, code="PROVIDER_TIMEOUT", message=f"{what} timed out")


class AdvanceJob:
    """One step of the pipeline for a job this worker holds the lease of.

    - No account yet: pick the best eligible account (private first, priority, least
      recently used, most credits; accounts that failed this job excluded) and reserve it
      atomically; none free: back to pending shortly, no attempt spent.
    - Reserved: stage the inputs (upload cache), record the submission, then submit.
    - Recorded but unanswered (a crash mid-submit): find the provider job by our reference
      and re-attach; never submit the same attempt twice where the provider can tell.
    - Submitted: poll; on success fetch the outputs promptly, store assets and lineage,
      capture credits, release the account; on failure classify, cool down or disable the
      account, retry elsewhere or fail and release the hold.
    - Every write checks the lease: a worker that lost its job cannot change it.
    """

    def __init__(self, uow: UnitOfWorkFactory, providers: ProviderRegistry, blobs: BlobStore,
                 clock: Clock, ids: IdGenerator, random: RandomSource, selection: SelectionPolicy,
                 policy: PipelinePolicy, asset_policy: AssetPolicy, audit: AuditTrail,
                 events: EventBus) -> None:
        self._uow = uow
        self._providers = providers
        self._blobs = blobs
        self._clock = clock
        self._ids = ids
        self._random = random
        self._selection = selection
        self._policy = policy
        self._asset_policy = asset_policy
        self._audit = audit
        self._events = events
        self._inputs = InputStager(uow, blobs, clock)

    async def __call__(self, job_id: str, lease_token: str) -> Result[Step, DomainError]:
        async with self._uow() as uow:  # one read for the job and its account
            job = await uow.jobs.get(job_id)
            leased = job is not None and job.status is JobStatus.PROCESSING and job.lease_token == lease_token
            account = await uow.accounts.get(job.account_id) if leased and job and job.account_id else None
        if job is None or not leased:
            return Failure(lease_lost(job_id))
        client = self._providers.get(job.provider_id)
        if client is None:
            return await self._fail_or_retry(job, None, ProviderFailure(
                kind=FailureKind.INVALID, code=ErrorCode.PROVIDER_ERROR,
                message=f"provider {job.provider_id} is not configured"))
        if job.account_id is None:
            return await self._reserve(job)
        if account is None:
            return await self._fail_or_retry(job, None, ProviderFailure(
                kind=FailureKind.TRANSIENT, code="ACCOUNT_REMOVED", message="the account was removed"))
        if job.submission_id is None:
            return await self._submit(job, client, account)
        if job.provider_job_id is None:
            return await self._reattach(job, client, account)
        return await self._poll(job, client, account)

    # ------------------------------------------------------------------ steps

    async def _reserve(self, job: Job) -> Result[Step, DomainError]:
        now = self._clock.now()
        outbox = Outbox()
        async with self._uow() as uow:
            account = await self._reserve_best(uow, job, now)
            if account is None:
                waiting = hand_back(job, now + self._policy.no_account_delay, now).unwrap()
                if not await uow.jobs.save(waiting, job.version):
                    return Failure(lease_lost(job.id))
                await uow.users.release_run_slot(job.user_id)
                await uow.commit()
                return Success(Step.WAITING)
            started = assign_account(job, account.id, now)
            if not await uow.jobs.save(started, job.version):
                return Failure(lease_lost(job.id))
            await uow.commit()
        outbox.add(JobStarted(job_id=job.id, user_id=job.user_id, at=now, attempt=started.attempts))
        outbox.add(AccountSelected(job_id=job.id, user_id=job.user_id, at=now, account_id=account.id,
                                   attempt=started.attempts))
        await outbox.flush(self._events)
        return Success(Step.CONTINUE)

    async def _reserve_best(self, uow: UnitOfWork, job: Job, now: datetime) -> ProviderAccount | None:
        """Try accounts best first; the reservation itself is one atomic statement. Accounts
        that failed this job are skipped, unless no other account could ever take it."""
        candidates = await uow.accounts.candidates(job.provider_id, job.user_id)
        request = SelectionRequest(provider_id=job.provider_id, user_id=job.user_id,
                                   cost=job.cost_estimate, now=now,
                                   excluded_account_ids=frozenset(job.excluded_account_ids))
        ranked = self._selection.rank(candidates, request)
        others_could = any(could_ever_take(c, request) for c in candidates
                           if c.id not in request.excluded_account_ids)
        if not ranked and job.excluded_account_ids and not others_could:
            ranked = self._selection.rank(candidates, msgspec.structs.replace(
                request, excluded_account_ids=frozenset()))
        for candidate in ranked:
            reserved = await uow.accounts.try_reserve(candidate.id, job.cost_estimate, now)
            if reserved is not None:
                return reserved
        return None

    async def _submit(self, job: Job, client: ProviderClient, account: ProviderAccount) -> Result[Step, DomainError]:
        spec = client.info.operation(job.operation_type)
        wanted = spec.unwrap().min_inputs if isinstance(spec, Success) else 0
        staged = await self._call(self._inputs.stage(
            job, await self._inputs.input_ids(job, wanted), client, account), "input upload")
        if isinstance(staged, Failure):
            return await self._fail_or_retry(job, account, staged.failure())
        now = self._clock.now()
        submission = ProviderSubmission(id=self._ids.new_id(), job_id=job.id, account_id=account.id,
                                        attempt=job.attempts, submitted_at=now)
        recorded = msgspec.structs.replace(job, submission_id=submission.id, updated_at=now)
        async with self._uow() as uow:
            await uow.submissions.add(submission)
            if not await uow.jobs.save(recorded, job.version):
                return Failure(lease_lost(job.id))
            await uow.commit()
        recorded = msgspec.structs.replace(recorded, version=job.version + 1)
        request = SubmitRequest(reference=submission.id, operation_type=job.operation_type,
                                params=job.params, inputs=staged.unwrap())
        return await self._send(recorded, client, account, request)

    async def _send(self, job: Job, client: ProviderClient, account: ProviderAccount,
                    request: SubmitRequest) -> Result[Step, DomainError]:
        answer = await self._call(client.submit(account.secret, request), "submit")
        if isinstance(answer, Failure):
            failure = answer.failure()
            if failure.code == "PROVIDER_TIMEOUT":
                return await self._park(job)  # the provider may have it: re-attach by reference later
            return await self._fail_or_retry(job, account, failure)
        return await self._attach(job, client, account, answer.unwrap())

    async def _reattach(self, job: Job, client: ProviderClient, account: ProviderAccount) -> Result[Step, DomainError]:
        assert job.submission_id is not None
        found = await self._call(client.find(account.secret, job.submission_id), "find")
        if isinstance(found, Failure):
            return await self._fail_or_retry(job, account, found.failure())
        provider_job_id = found.unwrap()
        if provider_job_id is not None:
            return await self._attach(job, client, account, provider_job_id)
        if not client.info.finds_by_reference:
            # The provider cannot tell whether it took this submission: sending it again could
            # start (and bill) a second remote job, and doing so on every recovery would never
            # end. Count it as a failed attempt instead: bounded by max_attempts.
            return await self._fail_or_retry(job, account, ProviderFailure(
                kind=FailureKind.TRANSIENT, code="SUBMIT_OUTCOME_UNKNOWN",
                message="the submission's answer was lost and the provider cannot look it up"),
                blame_account=False)
        inputs = await self._inputs.stage(job, await self._inputs.input_ids(job, 0), client, account)
        if isinstance(inputs, Failure):
            return await self._fail_or_retry(job, account, inputs.failure())
        request = SubmitRequest(reference=job.submission_id, operation_type=job.operation_type,
                                params=job.params, inputs=inputs.unwrap())
        return await self._send(job, client, account, request)

    async def _attach(self, job: Job, client: ProviderClient, account: ProviderAccount,
                      provider_job_id: str) -> Result[Step, DomainError]:
        now = self._clock.now()
        attached = msgspec.structs.replace(job, provider_job_id=provider_job_id, updated_at=now)
        async with self._uow() as uow:
            submission = await uow.submissions.get(job.submission_id or "")
            if submission is not None:
                await uow.submissions.update(msgspec.structs.replace(submission, provider_job_id=provider_job_id))
            saved = await uow.jobs.save(attached, job.version)
            if saved:
                await uow.commit()
        if not saved:
            # Cancelled (or taken) meanwhile: do not leave an orphan running at the provider.
            await self._best_effort(client.cancel(account.secret, provider_job_id))
            return Failure(lease_lost(job.id))
        await self._events.publish(ProviderSubmitted(job_id=job.id, user_id=job.user_id, at=now,
                                                     account_id=account.id, provider_job_id=provider_job_id))
        return Success(Step.CONTINUE)

    async def _poll(self, job: Job, client: ProviderClient, account: ProviderAccount) -> Result[Step, DomainError]:
        assert job.provider_job_id is not None
        answer = await self._call(client.status(account.secret, job.provider_job_id), "status")
        if isinstance(answer, Failure):
            failure = answer.failure()
            waiting = (FailureKind.TRANSIENT, FailureKind.RATE_LIMITED, FailureKind.UNAVAILABLE)
            if failure.kind in waiting and not await self._overdue(job):
                return await self._park(job)
            return await self._fail_or_retry(job, account, failure)
        status = answer.unwrap()
        if status.state in (RemoteState.QUEUED, RemoteState.RUNNING):
            if await self._overdue(job):
                await self._best_effort(client.cancel(account.secret, job.provider_job_id))
                return await self._fail_or_retry(job, account, timed_out("the provider job"))
            return await self._park(job)
        if status.state is RemoteState.SUCCEEDED:
            return await self._complete(job, client, account, status)
        failure = status.failure or ProviderFailure(
            kind=FailureKind.INVALID if status.state is RemoteState.CANCELLED else FailureKind.TRANSIENT,
            code="PROVIDER_CANCELLED" if status.state is RemoteState.CANCELLED else ErrorCode.PROVIDER_ERROR,
            message=f"the provider reported {status.raw_status}")
        return await self._fail_or_retry(job, account, failure)

    async def _complete(self, job: Job, client: ProviderClient, account: ProviderAccount,
                        status: RemoteStatus) -> Result[Step, DomainError]:
        fetched = await fetch_outputs(client, self._blobs, status.outputs, self._asset_policy.limits.largest)
        if isinstance(fetched, Failure):
            return await self._fail_or_retry(job, account, fetched.failure(), blame_account=False)
        now = self._clock.now()
        outbox = Outbox()
        async with self._uow() as uow:
            submission = await uow.submissions.get(job.submission_id or "")
            assets = await self._store_assets(uow, job, client, fetched.unwrap(), outbox, now)
            done = complete(job, tuple(a.id for a, _ in assets), now).unwrap()
            if not await uow.jobs.save(done, job.version):
                return Failure(lease_lost(job.id))
            charged = await capture_credits(uow, job, job.cost_estimate, self._ids, now)
            await release_account(uow, job, refund=0)
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
        outbox.add(JobCompleted(job_id=job.id, user_id=job.user_id, at=now,
                                result_asset_ids=done.result_asset_ids))
        await self._events.publish(ProviderCompleted(job_id=job.id, user_id=job.user_id, at=now,
                                                     provider_job_id=job.provider_job_id or ""))
        await outbox.flush(self._events)
        return Success(Step.DONE)

    async def _store_assets(self, uow: UnitOfWork, job: Job, client: ProviderClient,
                            fetched: list[FetchedOutput], outbox: Outbox,
                            now: datetime) -> list[tuple[Asset, bool]]:
        """One asset per output; bytes the user already has give the existing asset."""
        inputs = list(job.input_asset_ids)
        if job.parent_job_id is not None:
            parent = await uow.jobs.get(job.parent_job_id)
            inputs += [a for a in (parent.result_asset_ids if parent else ()) if a not in inputs]
        stored: list[tuple[Asset, bool]] = []
        for item in fetched:
            existing = await uow.assets.find_by_sha(job.user_id, item.blob.sha256)
            if existing is not None:
                stored.append((existing, False))
                continue
            asset = Asset(
                id=self._ids.new_id(), owner_id=job.user_id,
                media_type=generated_media_type(job.operation_type, item.kind),
                source=AssetSource.GENERATED, mime_type=item.kind.mime_type, size_bytes=item.blob.size,
                sha256=item.blob.sha256, storage_key=item.blob.key, created_at=now, last_accessed_at=now,
                provider_id=client.info.id, provider_asset_id=item.output.provider_asset_id,
                job_id=job.id, workspace_id=job.workspace_id,
            )
            await uow.assets.add(asset)
            # A new asset has no descendants yet, so no edge to it can close a loop: no
            # cycle walk needed (link_inputs makes one per input for existing assets).
            await uow.lineage.add(edges_for_inputs(asset.id, inputs, str(job.operation_type), job.id,
                                                   Relation.INPUT))
            outbox.add(AssetCreated(job_id=job.id, user_id=job.user_id, at=now, asset_id=asset.id))
            stored.append((asset, True))
        return stored

    async def _fail_or_retry(self, job: Job, account: ProviderAccount | None, failure: ProviderFailure,
                             blame_account: bool = True) -> Result[Step, DomainError]:
        """Classify: account faults disable/exhaust/cool the account; job faults end the job;
        the rest go back to pending with backoff on another account, until max_attempts.
        A provider that could not be tried at all (circuit open) costs no attempt."""
        now = self._clock.now()
        if failure.kind is FailureKind.UNAVAILABLE:
            ended = hand_back(job, now + self._policy.no_account_delay, now, refund_attempt=True).map(
                lambda waiting: msgspec.structs.replace(
                    waiting, error_code=failure.code, error_message=failure.message))
        elif failure.kind in JOB_FINAL:
            ended = fail(job, failure.code, failure.message, now)
        else:
            ended = retry_or_fail(job, code=failure.code, message=failure.message, policy=self._policy.retry,
                                  random=self._random.random, now=now,
                                  exclude_account=blame_account and account is not None)
        moved = ended.unwrap()
        outbox = Outbox()
        async with self._uow() as uow:
            if not await uow.jobs.save(moved, job.version):
                return Failure(lease_lost(job.id))
            # Locks in the order every settling transaction takes them (completion, cancel):
            # the job, the user's credit balance, the account, the user's run slot. Another
            # order deadlocks against a completion of the same user's other job.
            if moved.status is JobStatus.FAILED:
                await release_credits(uow, moved, self._ids, now)
                await fail_dependents(uow, moved, self._ids, now, outbox)
                outbox.add(JobFailed(job_id=job.id, user_id=job.user_id, at=now,
                                     error_code=failure.code, error_message=failure.message))
            else:
                outbox.add(JobRetrying(job_id=job.id, user_id=job.user_id, at=now,
                                       error_code=failure.code, attempt=job.attempts))
            if account is not None:
                fresh = await uow.accounts.get(account.id)
                if fresh is not None and blame_account:
                    await uow.accounts.save_health(record_failure(
                        fresh, failure.kind, now, self._policy.cooldown, failure.retry_after_seconds))
            await release_account(uow, job, refund=job.cost_estimate)
            await uow.users.release_run_slot(job.user_id)
            submission = await uow.submissions.get(job.submission_id) if job.submission_id else None
            if submission is not None:
                await uow.submissions.update(msgspec.structs.replace(
                    submission, error_code=failure.code, completed_at=now))
            await self._audit.record(uow, None, f"job.{'fail' if moved.status is JobStatus.FAILED else 'retry'}",
                                     "job", job.id, code=failure.code, kind=str(failure.kind),
                                     account_id=job.account_id)
            await uow.commit()
        await outbox.flush(self._events)
        return Success(Step.DONE if moved.status is JobStatus.FAILED else Step.WAITING)

    # ------------------------------------------------------------------ helpers

    async def _park(self, job: Job) -> Result[Step, DomainError]:
        now = self._clock.now()
        async with self._uow() as uow:
            if not await uow.jobs.save(park(job, now + self._policy.poll_interval, now), job.version):
                return Failure(lease_lost(job.id))
            await uow.commit()
        return Success(Step.WAITING)

    async def _overdue(self, job: Job) -> bool:
        async with self._uow() as uow:
            submission = await uow.submissions.get(job.submission_id or "")
        if submission is None:
            return False
        return (self._clock.now() - submission.submitted_at).total_seconds() > self._policy.max_remote_seconds

    async def _call(self, call: Awaitable[Result[T, ProviderFailure]], what: str) -> Result[T, ProviderFailure]:
        """Every outbound call has a timeout; a timeout is a transient provider failure."""
        try:
            return await asyncio.wait_for(call, self._policy.provider_timeout_seconds)
        except TimeoutError:
            return Failure(timed_out(what))

    async def _best_effort(self, call: Awaitable[None]) -> None:
        with contextlib.suppress(TimeoutError, OSError):
            await asyncio.wait_for(call, self._policy.provider_timeout_seconds)
