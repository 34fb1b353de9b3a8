"""The submit and re-attach phases: hand the job to its provider exactly once where the
provider can tell, and record who took it."""

from __future__ import annotations

import msgspec
from returns.result import Failure, Result, Success

from application.models.catalog import ModelCatalog
from application.pipeline.failures import FailureCode, ProviderCalls, Step, lease_lost
from application.pipeline.finish import Finish
from application.pipeline.inputs import InputStager
from application.pipeline.wait import WaitForProvider
from domain.accounts import FailureKind, ProviderAccount
from domain.errors import DomainError
from domain.events import ProviderSubmitted
from domain.jobs import Job, attach, record_submission
from domain.models import ModelOperation, find
from domain.ports import Clock, EventBus, IdGenerator, ProviderClient, UnitOfWorkFactory
from domain.providers import ProviderFailure, ProviderSubmission, SubmitRequest


class SubmitPhase:
    """- Submit: stage the inputs (upload cache), record the submission, then send it.
    - Re-attach (recorded but unanswered: a crash mid-submit, a timeout): find the provider
      job by our reference and attach to it; where the provider cannot look it up, count a
      failed attempt instead of risking a second remote job.
    Both send the very same request, built by `request_for`."""

    def __init__(self, uow: UnitOfWorkFactory, inputs: InputStager, calls: ProviderCalls, clock: Clock,
                 ids: IdGenerator, events: EventBus, finish: Finish, wait: WaitForProvider,
                 catalog: ModelCatalog) -> None:
        self._uow = uow
        self._catalog = catalog
        self._inputs = inputs
        self._calls = calls
        self._clock = clock
        self._ids = ids
        self._events = events
        self._finish = finish
        self._wait = wait
        # Jobs just attached, as saved, with their submission: AdvanceJob takes each out at once.
        self.attached: dict[str, tuple[Job, ProviderSubmission]] = {}

    async def request_for(self, job: Job, reference: str, client: ProviderClient,
                          account: ProviderAccount) -> Result[SubmitRequest, ProviderFailure]:
        """What the provider is sent: the job's model (its remote id: None on a job made
        before models, the adapter's default), the job's inputs (topped up with its parent's
        results up to what the operation needs), staged for this provider, within the call
        timeout. A model removed from the catalog since is a final failure."""
        operation: ModelOperation | None = None
        remote_id: str | None = None
        if job.model is not None:
            model = find(await self._catalog.models(), job.model)
            operation = model.operation(job.operation_type) if model is not None else None
            if model is None or operation is None or model.provider_id != job.provider_id:
                return Failure(ProviderFailure(kind=FailureKind.INVALID, code=FailureCode.MODEL_GONE,
                                               message=f"model {job.model} is no longer offered"))
            remote_id = model.remote_id
        spec = client.info.operation(job.operation_type)
        wanted = operation.min_inputs if operation is not None else (
            spec.unwrap().min_inputs if isinstance(spec, Success) else 0)
        staged = await self._calls.call(self._inputs.stage(
            job, await self._inputs.input_ids(job, wanted), client, account), "input upload")
        return staged.map(lambda inputs: SubmitRequest(
            reference=reference, operation_type=job.operation_type, params=job.params, inputs=inputs,
            model=remote_id, input_fields=operation.input_fields if operation is not None else ()))

    async def submit(self, job: Job, client: ProviderClient, account: ProviderAccount) -> Result[Step, DomainError]:
        submission_id = self._ids.new_id()
        request = await self.request_for(job, submission_id, client, account)
        if isinstance(request, Failure):
            return await self._finish.fail_or_retry(job, account, request.failure())
        now = self._clock.now()
        submission = ProviderSubmission(id=submission_id, job_id=job.id, account_id=account.id,
                                        attempt=job.attempts, submitted_at=now)
        recorded = record_submission(job, submission.id, now)
        if not await self._uow.record_submission(recorded, job.version, submission):
            return Failure(lease_lost(job.id))
        saved = msgspec.structs.replace(recorded, version=job.version + 1)
        return await self._send(saved, client, account, request.unwrap(), submission)

    async def reattach(self, job: Job, client: ProviderClient, account: ProviderAccount,
                       submission: ProviderSubmission | None = None) -> Result[Step, DomainError]:
        assert job.submission_id is not None
        found = await self._calls.call(client.find(account.secret, job.submission_id), "find")
        if isinstance(found, Failure):
            return await self._finish.fail_or_retry(job, account, found.failure())
        provider_job_id = found.unwrap()
        if provider_job_id is not None:
            return await self._attach(job, client, account, provider_job_id, submission)
        if not client.info.finds_by_reference:
            # The provider cannot tell whether it took this submission: sending it again could
            # start (and bill) a second remote job, and doing so on every recovery would never
            # end. Count it as a failed attempt instead: bounded by max_attempts.
            return await self._finish.fail_or_retry(job, account, ProviderFailure(
                kind=FailureKind.TRANSIENT, code=FailureCode.SUBMIT_OUTCOME_UNKNOWN,
                message="the submission's answer was lost and the provider cannot look it up"),
                blame_account=False)
        request = await self.request_for(job, job.submission_id, client, account)
        if isinstance(request, Failure):
            return await self._finish.fail_or_retry(job, account, request.failure())
        return await self._send(job, client, account, request.unwrap(), submission)

    async def _send(self, job: Job, client: ProviderClient, account: ProviderAccount,
                    request: SubmitRequest, submission: ProviderSubmission | None) -> Result[Step, DomainError]:
        answer = await self._calls.call(client.submit(account.secret, request), "submit")
        if isinstance(answer, Failure):
            failure = answer.failure()
            if failure.code == FailureCode.PROVIDER_TIMEOUT:
                return await self._wait(job)  # the provider may have it: re-attach by reference later
            return await self._finish.fail_or_retry(job, account, failure)
        return await self._attach(job, client, account, answer.unwrap(), submission)

    async def _attach(self, job: Job, client: ProviderClient, account: ProviderAccount,
                      provider_job_id: str, submission: ProviderSubmission | None) -> Result[Step, DomainError]:
        now = self._clock.now()
        attached = attach(job, provider_job_id, now)
        if not await self._uow.attach(attached, job.version, provider_job_id):
            # Cancelled (or taken) meanwhile: do not leave an orphan running at the provider.
            await self._calls.best_effort(client.cancel(account.secret, provider_job_id))
            return Failure(lease_lost(job.id))
        if submission is not None and submission.id == attached.submission_id:
            self.attached[job.id] = (msgspec.structs.replace(attached, version=job.version + 1),
                                     msgspec.structs.replace(submission, provider_job_id=provider_job_id))
        await self._events.publish(ProviderSubmitted(job_id=job.id, user_id=job.user_id, at=now,
                                                     account_id=account.id, provider_job_id=provider_job_id))
        return Success(Step.CONTINUE)
