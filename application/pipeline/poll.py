"""The poll phase: ask the provider how its job is going, and act on the answer."""

from __future__ import annotations

from returns.result import Failure, Result

from application.pipeline.failures import FailureCode, ProviderCalls, Step, timed_out
from application.pipeline.finish import Finish
from application.pipeline.wait import WaitForProvider
from application.policy import PipelinePolicy
from domain.accounts import FailureKind, ProviderAccount
from domain.errors import DomainError
from domain.jobs import Job
from domain.ports import Clock, Leased, ProviderClient, UnitOfWorkFactory
from domain.providers import ProviderFailure, RemoteState

STILL_WAITING = (FailureKind.TRANSIENT, FailureKind.RATE_LIMITED, FailureKind.UNAVAILABLE)


class PollPhase:
    """- Queued or running: wait for the next poll; past max_remote_seconds since the
      submission, cancel it there and retry.
    - Succeeded: finish (fetch outputs, store, capture).
    - Failed or cancelled there: classify and fail or retry.
    - A poll that fails transiently waits for the next one. A provider that says it does not
      know the job (JOB_NOT_FOUND: it lost it, or was restarted) is a retryable failure of
      this attempt, counted against max_attempts: not the job's final failure."""

    def __init__(self, uow: UnitOfWorkFactory, calls: ProviderCalls, clock: Clock, policy: PipelinePolicy,
                 finish: Finish, wait: WaitForProvider) -> None:
        self._uow = uow
        self._calls = calls
        self._clock = clock
        self._policy = policy
        self._finish = finish
        self._wait = wait

    async def __call__(self, job: Job, client: ProviderClient, account: ProviderAccount,
                       leased: Leased | None = None) -> Result[Step, DomainError]:
        assert job.provider_job_id is not None
        answer = await self._calls.call(client.status(account.secret, job.provider_job_id), "status")
        if isinstance(answer, Failure):
            failure = answer.failure()
            if failure.code == FailureCode.JOB_NOT_FOUND:
                return await self._finish.fail_or_retry(job, account, ProviderFailure(
                    kind=FailureKind.TRANSIENT, code=FailureCode.JOB_NOT_FOUND, message=failure.message),
                    blame_account=False)
            if failure.kind in STILL_WAITING and not await self._overdue(job):
                return await self._wait(job, leased)
            return await self._finish.fail_or_retry(job, account, failure)
        status = answer.unwrap()
        if status.state in (RemoteState.QUEUED, RemoteState.RUNNING):
            if await self._overdue(job):
                await self._calls.best_effort(client.cancel(account.secret, job.provider_job_id))
                return await self._finish.fail_or_retry(job, account, timed_out("the provider job"))
            return await self._wait(job, leased)
        if status.state is RemoteState.SUCCEEDED:
            return await self._finish.complete(job, client, account, status, leased)
        cancelled = status.state is RemoteState.CANCELLED
        failure = status.failure or ProviderFailure(
            kind=FailureKind.INVALID if cancelled else FailureKind.TRANSIENT,
            code=FailureCode.PROVIDER_CANCELLED if cancelled else FailureCode.PROVIDER_ERROR,
            message=f"the provider reported {status.raw_status}")
        return await self._finish.fail_or_retry(job, account, failure)

    async def _overdue(self, job: Job) -> bool:
        """Measured from when the provider accepted it (started_at), else the submission."""
        since = job.started_at
        if since is None:
            async with self._uow() as uow:
                submission = await uow.submissions.get(job.submission_id or "")
            if submission is None:
                return False
            since = submission.submitted_at
        return (self._clock.now() - since).total_seconds() > self._policy.max_remote_seconds
