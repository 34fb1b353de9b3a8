"""Move one leased job a step along, by its phase: submit, re-attach, poll (then finish).

Reservation is not a step here: dispatch (`ClaimJobs`) takes a pending job only together
with an account reserved for it."""

from __future__ import annotations

from returns.result import Failure, Result, Success

from application.audit import AuditTrail
from application.models.catalog import ModelCatalog
from application.pipeline.failures import FailureCode, ProviderCalls, Step, lease_lost
from application.pipeline.finish import Finish
from application.pipeline.held import HeldPolls
from application.pipeline.inputs import InputStager
from application.pipeline.poll import PollPhase
from application.pipeline.reroute import Reroute
from application.pipeline.submit import SubmitPhase
from application.pipeline.wait import WaitForProvider
from application.policy import AssetPolicy, PipelinePolicy
from domain.accounts import FailureKind
from domain.errors import DomainError, ErrorCode
from domain.jobs import Job, JobPhase, requeue
from domain.ports import (
    BlobStore,
    CircuitStates,
    Clock,
    EventBus,
    IdGenerator,
    Leased,
    ProviderRegistry,
    RandomSource,
    UnitOfWorkFactory,
)
from domain.providers import ProviderFailure

__all__ = ["AdvanceJob", "Step"]

IN_HAND = 10_000  # jobs between their attach and their first poll, at most


class AdvanceJob:
    """One step of the pipeline for a job this worker holds the lease of.

    - Submit phase: stage the inputs, record the submission, then submit.
    - Re-attach phase (recorded but unanswered: a crash mid-submit): find the provider job
      by our reference and re-attach; never submit the same attempt twice where the
      provider can tell.
    - Poll phase: on success fetch the outputs promptly, store assets and lineage, capture
      credits, free the account; on failure classify, cool down or disable the account,
      retry elsewhere or fail and release the hold.
    - Every write checks the lease: a worker that lost its job cannot change it.
    """

    def __init__(self, uow: UnitOfWorkFactory, providers: ProviderRegistry, blobs: BlobStore,
                 clock: Clock, ids: IdGenerator, random: RandomSource,
                 policy: PipelinePolicy, asset_policy: AssetPolicy, audit: AuditTrail,
                 events: EventBus, catalog: ModelCatalog, circuits: CircuitStates,
                 held: HeldPolls) -> None:
        self._uow = uow
        self._providers = providers
        self._clock = clock
        self._policy = policy
        calls = ProviderCalls(policy.provider_timeout_seconds)
        self._finish = Finish(uow, blobs, clock, ids, random, policy, asset_policy, audit, events,
                              Reroute(catalog, circuits))
        wait = WaitForProvider(uow, clock, policy, held)
        self._held = held
        self._submit = SubmitPhase(uow, InputStager(uow, blobs, clock), calls, clock, ids, events,
                                   self._finish, wait, catalog)
        self._poll = PollPhase(uow, calls, clock, policy, self._finish, wait)
        self._in_hand: dict[str, Leased] = {}

    async def __call__(self, job_id: str, lease_token: str) -> Result[Step, DomainError]:
        leased = self._in_hand.pop(job_id, None)
        if leased is None:
            leased = self._held.take(job_id, lease_token)  # a held job's poll starts from its copy
        if leased is None or leased.job.lease_token != lease_token:
            # The job, its account, hold and submission, in one read.
            leased = await self._uow.read_leased(job_id, lease_token)
        if leased is None:
            return Failure(lease_lost(job_id))
        result = await self._step(leased)
        attached = self._submit.attached.pop(job_id, None)
        if attached is not None and result == Success(Step.CONTINUE) and len(self._in_hand) < IN_HAND:
            # Its next step (the poll) starts from the job as this worker just saved it rather
            # than reading it back: every write is still checked against the version and
            # lease, so a job that moved on meanwhile only answers "lease lost" there.
            job, submission = attached
            self._in_hand[job_id] = Leased(job, leased.account, leased.hold, submission, leased.parent_results)
        return result

    async def _step(self, leased: Leased) -> Result[Step, DomainError]:
        job, account = leased.job, leased.account
        client = self._providers.get(job.provider_id)
        if client is None:
            return await self._finish.fail_or_retry(job, None, ProviderFailure(
                kind=FailureKind.INVALID, code=ErrorCode.PROVIDER_ERROR,
                message=f"provider {job.provider_id} is not configured"))
        if job.account_id is None:
            return await self._back_to_queue(job)
        if account is None:
            return await self._finish.fail_or_retry(job, None, ProviderFailure(
                kind=FailureKind.TRANSIENT, code=FailureCode.ACCOUNT_REMOVED, message="the account was removed"))
        if job.phase is JobPhase.SUBMIT:
            return await self._submit.submit(job, client, account)
        if job.phase is JobPhase.REATTACH:
            return await self._submit.reattach(job, client, account, leased.submission)
        return await self._poll(job, client, account, leased)

    async def _back_to_queue(self, job: Job) -> Result[Step, DomainError]:
        """A running job without an account (left by an older version that reserved after
        claiming): back to the queue, where dispatch reserves one with the claim."""
        now = self._clock.now()
        async with self._uow() as uow:
            if not await uow.jobs.save(requeue(job, now, now).unwrap(), job.version):
                return Failure(lease_lost(job.id))
            await uow.users.release_run_slot(job.user_id)
            await uow.commit()
        return Success(Step.WAITING)
