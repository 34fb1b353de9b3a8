"""Submit many jobs at once."""

from __future__ import annotations

from collections.abc import Sequence

from returns.result import Failure, Result, Success

from application.actor import Actor
from application.jobs.create import Created, CreateJob, JobRequest
from domain.errors import DomainError, validation

MAX_BATCH = 100
MAX_BATCH_KEY = 250  # room for ".<index>" within the 255 of a job's key


class CreateJobs:
    """Submit up to 100 jobs; each is accepted or refused on its own, in order.

    - Every job meets the rules of a single submission: the daily limit, the credit hold,
      its inputs and parent (a refused job does not stop the others; the answer says why).
    - With an Idempotency-Key, job `i` of the batch is submitted under `<key>.<i>`: sending
      the same batch again gives the same jobs back, and the jobs already made are not made
      twice after an interrupted batch.
    - An empty batch, or one of more than 100 jobs, is 422 VALIDATION_ERROR.
    """

    def __init__(self, create_job: CreateJob) -> None:
        self._create_job = create_job

    async def __call__(self, actor: Actor, requests: Sequence[JobRequest], idempotency_key: str | None = None
                       ) -> Result[list[Result[Created, DomainError]], DomainError]:
        if not 1 <= len(requests) <= MAX_BATCH:
            return Failure(validation(f"a batch has 1-{MAX_BATCH} jobs", "jobs"))
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_BATCH_KEY:
            return Failure(validation(f"Idempotency-Key of a batch must be 1-{MAX_BATCH_KEY} characters"))
        # One unit of work per job (the create use case's own), in order: a job refused
        # leaves nothing behind and the next one sees the quota and balance as they are.
        outcomes = [await self._create_job(actor, request, None if idempotency_key is None
                                           else f"{idempotency_key}.{index}")
                    for index, request in enumerate(requests)]
        return Success(outcomes)
