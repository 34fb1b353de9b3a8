"""Create a generation job."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import msgspec
from returns.result import Failure, Result, Success

from application.actor import Actor
from application.audit import AuditTrail
from application.events import Outbox
from domain.clock import seconds_until_next_utc_day, utc_day
from domain.errors import DomainError, ErrorCode, conflict, insufficient_credits, not_found, quota_exceeded
from domain.events import JobCreated
from domain.jobs import DEFAULT_MAX_ATTEMPTS, DEFAULT_PRIORITY, Job, JobStatus, OperationType, check_priority
from domain.ledger import place_hold
from domain.ports import (
    Clock,
    EventBus,
    IdGenerator,
    ProviderRegistry,
    UnitOfWork,
    UnitOfWorkFactory,
    WorkSignal,
)
from domain.providers import OperationSpec, check_input_count, validate_params


class JobRequest(msgspec.Struct, frozen=True, kw_only=True):
    provider_id: str
    operation_type: str
    params: dict[str, Any] = {}
    input_asset_ids: list[str] = []
    priority: int = DEFAULT_PRIORITY
    scheduled_at: datetime | None = None
    parent_job_id: str | None = None
    workspace_id: str | None = None
    name: str | None = None

    def fingerprint(self) -> str:
        """Same body, same fingerprint: what an idempotency key is compared against."""
        return hashlib.sha256(msgspec.json.encode(self, order="sorted")).hexdigest()


class Created(msgspec.Struct, frozen=True):
    job: Job
    created: bool  # False when an idempotency key gave back an earlier job


class Priced(msgspec.Struct, frozen=True):
    spec: OperationSpec
    params: dict[str, Any]
    cost: int


def price_request(providers: ProviderRegistry, request: JobRequest) -> Result[Priced, DomainError]:
    """Provider, operation and params checked against the provider's declared schema."""
    client = providers.get(request.provider_id)
    if client is None:
        return Failure(DomainError(ErrorCode.VALIDATION_ERROR, f"unknown provider {request.provider_id}",
                                   field="provider_id"))
    spec_result = client.info.operation(request.operation_type)
    if isinstance(spec_result, Failure):
        return Failure(spec_result.failure())
    spec = spec_result.unwrap()
    params_result = validate_params(spec, request.params)
    if isinstance(params_result, Failure):
        return Failure(params_result.failure())
    params = params_result.unwrap()
    return Success(Priced(spec, params, spec.price.cost(params)))


class CreateJob:
    """Create a generation job.

    - The provider must exist and offer the operation; params must match its schema.
    - Input assets must be the caller's own and not deleted; a child job may leave its
      inputs to its parent: the parent's results are used when it runs.
    - A parent job must be the caller's and not already failed or cancelled.
    - Priority 0 (highest) .. 10; a job scheduled in the future waits until then.
    - The daily job limit is checked atomically (429 QUOTA_EXCEEDED with Retry-After).
    - The estimated cost is held on the caller's credits (402 INSUFFICIENT_CREDITS).
    - Same Idempotency-Key and same body give the same job back; another body is 422.
    """

    def __init__(self, uow: UnitOfWorkFactory, providers: ProviderRegistry, clock: Clock,
                 ids: IdGenerator, audit: AuditTrail, events: EventBus, signal: WorkSignal) -> None:
        self._uow = uow
        self._providers = providers
        self._clock = clock
        self._ids = ids
        self._audit = audit
        self._events = events
        self._signal = signal

    async def __call__(self, actor: Actor, request: JobRequest, idempotency_key: str | None = None, *,
                       retried_from: str | None = None) -> Result[Created, DomainError]:
        priced = price_request(self._providers, request)
        if isinstance(priced, Failure):
            return Failure(priced.failure())
        checked = check_priority(request.priority)
        if isinstance(checked, Failure):
            return Failure(checked.failure())
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
            return Failure(DomainError(ErrorCode.VALIDATION_ERROR, "Idempotency-Key must be 1-255 characters"))
        outbox = Outbox()
        async with self._uow() as uow:
            result = await self._create(uow, actor, request, priced.unwrap(), idempotency_key, outbox,
                                        retried_from)
            if isinstance(result, Success) and result.unwrap().created:
                await uow.commit()
        if isinstance(result, Success) and result.unwrap().created:
            await outbox.flush(self._events)
            await self._signal.notify()
        return result

    async def _create(self, uow: UnitOfWork, actor: Actor, request: JobRequest, priced: Priced,
                      idempotency_key: str | None, outbox: Outbox,
                      retried_from: str | None = None) -> Result[Created, DomainError]:
        now = self._clock.now()
        fingerprint = request.fingerprint()
        if idempotency_key is not None:
            earlier = await uow.jobs.find_by_idempotency_key(actor.user_id, idempotency_key)
            if earlier is not None:
                if earlier.request_fingerprint == fingerprint:
                    return Success(Created(earlier, created=False))
                return Failure(DomainError(ErrorCode.IDEMPOTENCY_MISMATCH,
                                           "this Idempotency-Key was used with another request body"))
        user = await uow.users.get(actor.user_id)
        if user is None or not user.is_active:
            return Failure(not_found("user"))
        checked = await self._check_relations(uow, actor, request, priced.spec)
        if isinstance(checked, Failure):
            return checked
        job_id = self._ids.new_id()
        hold, hold_tx = place_hold(self._ids.new_id(), self._ids.new_id(), user.id, priced.cost, now,
                                   job_id=job_id).unwrap()
        # The credit balance is locked before the day's usage row, in the order completing
        # a job locks them: the other order deadlocks a submit against a completion.
        held = await uow.ledger.apply(hold_tx)
        if not await uow.usage.try_count_job(user.id, utc_day(now), user.quota.max_jobs_per_day):
            return Failure(quota_exceeded(
                f"daily job limit of {user.quota.max_jobs_per_day} reached; it resets at 00:00 UTC",
                retry_after=seconds_until_next_utc_day(now)))
        if not held:
            balance = await uow.ledger.balance(user.id)
            return Failure(insufficient_credits(priced.cost, balance.available))
        await uow.ledger.add_hold(hold)
        job = Job(
            id=job_id, user_id=user.id, provider_id=request.provider_id,
            operation_type=OperationType(priced.spec.operation_type), params=priced.params,
            input_asset_ids=tuple(request.input_asset_ids), workspace_id=request.workspace_id,
            name=request.name, priority=request.priority, scheduled_at=request.scheduled_at,
            run_after=max(now, request.scheduled_at) if request.scheduled_at else now,
            parent_job_id=request.parent_job_id, max_attempts=DEFAULT_MAX_ATTEMPTS,
            cost_estimate=priced.cost, hold_id=hold.id, idempotency_key=idempotency_key,
            request_fingerprint=fingerprint, created_at=now, updated_at=now, retried_from=retried_from,
        )
        if not await uow.jobs.add(job):
            return Failure(conflict("a request with this Idempotency-Key is already being processed"))
        await self._audit.record(uow, actor.user_id, "job.create", "job", job.id,
                                 provider_id=job.provider_id, operation_type=str(job.operation_type),
                                 cost_estimate=job.cost_estimate)
        outbox.add(JobCreated(job_id=job.id, user_id=job.user_id, at=now, provider_id=job.provider_id,
                              operation_type=str(job.operation_type)))
        return Success(Created(job, created=True))

    async def _check_relations(self, uow: UnitOfWork, actor: Actor, request: JobRequest,
                               spec: OperationSpec) -> Result[None, DomainError]:
        inputs = list(dict.fromkeys(request.input_asset_ids))
        if len(inputs) != len(request.input_asset_ids):
            return Failure(DomainError(ErrorCode.VALIDATION_ERROR, "input_asset_ids has duplicates",
                                       field="input_asset_ids"))
        owned = {a.id: a for a in await uow.assets.many(inputs)} if inputs else {}
        for asset_id in inputs:
            asset = owned.get(asset_id)
            if asset is None or asset.owner_id != actor.user_id or asset.is_deleted:
                return Failure(not_found(f"asset {asset_id}"))
        from_parent = spec.max_inputs if request.parent_job_id else 0
        if len(inputs) + from_parent < spec.min_inputs or len(inputs) > spec.max_inputs:
            counted = check_input_count(spec, len(inputs))
            if isinstance(counted, Failure):
                return Failure(counted.failure())
        if request.parent_job_id is not None:
            parent = await uow.jobs.get(request.parent_job_id)
            if parent is None or parent.user_id != actor.user_id:
                return Failure(not_found("parent job"))
            if parent.status in (JobStatus.FAILED, JobStatus.CANCELLED):
                return Failure(conflict(f"parent job already ended {parent.status}"))
        return Success(None)
