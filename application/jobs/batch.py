"""Submit many jobs at once."""

from __future__ import annotations

from collections.abc import Sequence

from returns.result import Failure, Result, Success

from application.actor import Actor
from application.jobs.create import Created, CreateJob, JobRequest, price_request
from application.models.catalog import ModelCatalog
from domain.errors import DomainError, validation
from domain.models import Model
from domain.providers import check_input_count

MAX_BATCH = 100
MAX_BATCH_KEY = 250  # room for ".<index>" within the 255 of a job's key


class CreateJobs:
    """Submit up to 100 jobs; each is accepted or refused on its own, in order.

    - Every job meets the rules of a single submission: the daily limit, the credit hold,
      its inputs and parent (a refused job does not stop the others; the answer says why).
    - With an Idempotency-Key, job `i` of the batch is submitted under `<key>.<i>`: sending
      the same batch again gives the same jobs back, and the jobs already made are not made
      twice after an interrupted batch.
    - An empty batch, or one of more than 100 jobs, is 422 VALIDATION_ERROR; so is a batch
      with a job that does not fit its model's schema (unknown model, provider or operation,
      params, number of inputs), naming the job (`jobs[i]`): nothing is submitted then.
    """

    def __init__(self, create_job: CreateJob, catalog: ModelCatalog) -> None:
        self._create_job = create_job
        self._catalog = catalog

    @staticmethod
    def _misfit(models: Sequence[Model], request: JobRequest) -> DomainError | None:
        """What the API schema says of a job body: model or provider, operation, params, inputs."""
        priced = price_request(models, request)
        if isinstance(priced, Failure):
            refused: DomainError = priced.failure()
            return refused
        spec, inputs = priced.unwrap().spec, request.input_asset_ids
        if len(set(inputs)) != len(inputs):
            return validation("input_asset_ids has duplicates", "input_asset_ids")
        if len(inputs) > spec.max_inputs or (request.parent_job_id is None and len(inputs) < spec.min_inputs):
            counted = check_input_count(spec, len(inputs))
            if isinstance(counted, Failure):
                error: DomainError = counted.failure()
                return error
        return None

    async def __call__(self, actor: Actor, requests: Sequence[JobRequest], idempotency_key: str | None = None
                       ) -> Result[list[Result[Created, DomainError]], DomainError]:
        if not 1 <= len(requests) <= MAX_BATCH:
            return Failure(validation(f"a batch has 1-{MAX_BATCH} jobs", "jobs"))
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_BATCH_KEY:
            return Failure(validation(f"Idempotency-Key of a batch must be 1-{MAX_BATCH_KEY} characters"))
        models = await self._catalog.models()
        for index, request in enumerate(requests):
            misfit = self._misfit(models, request)
            if misfit is not None:
                where = f"jobs[{index}].{misfit.field}" if misfit.field else f"jobs[{index}]"
                return Failure(validation(f"job {index}: {misfit.detail}", where))
        # One unit of work per job (the create use case's own), in order: a job refused
        # leaves nothing behind and the next one sees the quota and balance as they are.
        outcomes = [await self._create_job(actor, request, None if idempotency_key is None
                                           else f"{idempotency_key}.{index}")
                    for index, request in enumerate(requests)]
        return Success(outcomes)
