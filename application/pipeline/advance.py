"""Move one leased job a step along, by its phase: submit, re-attach, poll (then finish).

Reservation is not a step here: dispatch (`ClaimJobs`) takes a pending job only together
with an account reserved for it."""

from __future__ import annotations

from returns.result import Failure, Result, Success

from application.audit import AuditTrail
from application.models.catalog import ModelCatalog
from application.pipeline.failures import FailureCode, ProviderCalls, Step, lease_lost
from application.pipeline.finish import Finish
from application.pipeline.inputs import InputStager
from application.pipeline.poll import PollPhase
from application.pipeline.reroute import Reroute
from application.pipeline.submit import SubmitPhase
from application.pipeline.wait import WaitForProvider
from application.policy import AssetPolicy, PipelinePolicy
from domain.accounts import FailureKind
from domain.errors import DomainError, ErrorCode
from domain.jobs import Job, JobPhase, JobStatus, requeue
from domain.ports import (
    BlobStore,
    CircuitStates,
    Clock,
    EventBus,
    IdGenerator,
    ProviderRegistry,
    RandomSource,
    UnitOfWorkFactory,
)
from domain.providers import ProviderFailure

__all__ = ["AdvanceJob", "Step"]


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
                 events: EventBus, catalog: ModelCatalog, circuits: CircuitStates) -> None:
        self._uow = uow
        self._providers = providers
        self._clock = clock
        self._policy = policy
        calls = ProviderCalls(policy.provider_timeout_seconds)
        self._finish = Finish(uow, blobs, clock, ids, random, policy, asset_policy, audit, events,
                              Reroute(catalog, circuits))
        wait = WaitForProvider(uow, clock, policy)
        self._submit = SubmitPhase(uow, InputStager(uow, blobs, clock), calls, clock, ids, events,
                                   self._finish, wait, catalog)
        self._poll = PollPhase(uow, calls, clock, policy, self._finish, wait)

    async def __call__(self, job_id: str, lease_token: str) -> Result[Step, DomainError]:
        async with self._uow() as uow:  # one read for the job and its account
            job = await uow.jobs.get(job_id)
            leased = job is not None and job.status is JobStatus.PROCESSING and job.lease_token == lease_token
            account = await uow.accounts.get(job.account_id) if leased and job and job.account_id else None
        if job is None or not leased:
            return Failure(lease_lost(job_id))
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
            return await self._submit.reattach(job, client, account)
        return await self._poll(job, client, account)

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
