"""Create a generation job."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from returns.result import Failure, Result, Success

from application.actor import Actor, credential_of, refused
from application.jobs.routing import first_choice, is_routed, options
from application.models.catalog import ModelCatalog
from application.policy import WebhookPolicy
from application.webhooks.endpoints import checked_events, checked_url
from domain.audit import AuditEntry
from domain.clock import seconds_until_next_utc_day
from domain.errors import (
    DomainError,
    ErrorCode,
    conflict,
    insufficient_credits,
    not_found,
    quota_exceeded,
)
from domain.events import JobCreated
from domain.jobs import DEFAULT_MAX_ATTEMPTS, DEFAULT_PRIORITY, Job, JobStatus, OperationType, check_priority
from domain.ledger import place_hold
from domain.models import Chosen, Model, ModelOperation, check_params, price_of, resolve
from domain.ports import (
    CircuitStates,
    Clock,
    CreateStatus,
    EventBus,
    IdGenerator,
    JobDraft,
    UnitOfWorkFactory,
    WorkSignal,
)
from domain.providers import check_input_count
from domain.routing import JobRoute


class JobRequest(msgspec.Struct, frozen=True, kw_only=True):
    operation_type: str
    provider_id: str | None = None
    model: str | None = None
    params: dict[str, Any] = {}
    input_asset_ids: list[str] = []
    priority: int = DEFAULT_PRIORITY
    scheduled_at: datetime | None = None
    parent_job_id: str | None = None
    workspace_id: str | None = None
    name: str | None = None
    webhook_url: str | None = None
    webhook_events_filter: list[str] | None = None

    def fingerprint(self) -> str:
        """Same body, same fingerprint: what an idempotency key is compared against. Unset
        webhook fields are left out, so fingerprints made before they existed still match."""
        body = msgspec.to_builtins(self)
        for name in OPTIONAL_FIELDS:
            if body[name] is None:
                del body[name]
        return hashlib.sha256(msgspec.json.encode(body, order="sorted")).hexdigest()


WEBHOOK_FIELDS = ("webhook_url", "webhook_events_filter")
OPTIONAL_FIELDS = (*WEBHOOK_FIELDS, "model", "provider_id")


def check_job_webhook(request: JobRequest, policy: WebhookPolicy) -> Result[None, DomainError]:
    """A job's own webhook: a URL a webhook endpoint could have, and known events."""
    if request.webhook_url is not None:
        checked = checked_url(request.webhook_url, policy)
        if isinstance(checked, Failure):
            return Failure(msgspec.structs.replace(checked.failure(), field="webhook_url"))
    if request.webhook_events_filter is not None:
        events = checked_events(request.webhook_events_filter)
        if isinstance(events, Failure):
            return Failure(msgspec.structs.replace(events.failure(), field="webhook_events_filter"))
    return Success(None)


class Created(msgspec.Struct, frozen=True):
    job: Job
    created: bool  # False when an idempotency key gave back an earlier job


class Priced(msgspec.Struct, frozen=True):
    chosen: Chosen
    params: dict[str, Any]
    cost: int
    hold: int | None = None  # a routed job holds what its dearest candidate costs
    route: JobRoute | None = None

    @property
    def spec(self) -> ModelOperation:
        return self.chosen.operation

    @property
    def held(self) -> int:
        return self.cost if self.hold is None else self.hold


def price_request(models: Sequence[Model], request: JobRequest) -> Result[Priced, DomainError]:
    """The model (named, or the provider's default), its operation, and the params checked
    against its schema and priced by its rule. A routed request (domain/routing.py) is
    priced on its first candidate by id and holds the most any candidate costs; where it
    goes first is chosen when it is created."""
    if is_routed(models, request.model, request.provider_id, request.operation_type):
        found = options(models, request.model, request.operation_type, request.params)
        if isinstance(found, Failure):
            return Failure(found.failure())
        able = found.unwrap()
        return Success(Priced(able[0].chosen, able[0].params, able[0].price, hold=max(o.price for o in able),
                              route=JobRoute(candidates=tuple(o.chosen.model.id for o in able),
                                             params=request.params, held=max(o.price for o in able))))
    chosen = resolve(models, model=request.model, provider_id=request.provider_id,
                     operation_type=request.operation_type)
    if isinstance(chosen, Failure):
        return Failure(chosen.failure())
    params = check_params(chosen.unwrap(), request.params)
    if isinstance(params, Failure):
        return Failure(params.failure())
    checked = params.unwrap()
    return Success(Priced(chosen.unwrap(), checked, price_of(chosen.unwrap().model, checked)))


class CreateJob:
    """Create a generation job.

    - The caller's credential is checked in the same atomic step that creates the job: a
      revoked session or a deactivated user writes nothing (401 UNAUTHENTICATED).
    - `model` names the model (by id or alias); `provider_id` alone means that provider's
      default model for the operation; both given must agree. The model must offer the
      operation and params must match its schema; its price rule prices the job.
    - Routed: an alias several providers serve, or `provider_id: "auto"` (with `model`:
      every provider's model of that id or alias; without: every provider's default model
      for the operation). It goes to the best able candidate (a free account and a closed
      circuit, then price, then expected time) and fails over to the next on a provider-side
      failure; `routed_to` and `route_reason` say where and why. It holds the most any
      candidate costs and is charged the price of the one it completes on.
    - Input assets must be the caller's own and not deleted; a child job may leave its
      inputs to its parent: the parent's results are used when it runs.
    - A parent job must be the caller's and not already failed or cancelled.
    - Priority 0 (highest) .. 10; a job scheduled in the future waits until then.
    - The daily job limit is checked atomically (429 QUOTA_EXCEEDED with Retry-After).
    - The estimated cost is held on the caller's credits (402 INSUFFICIENT_CREDITS).
    - Same Idempotency-Key and same body give the same job back; another body is 422.
    - `webhook_url` (optional) receives the job's terminal events (those named in
      `webhook_events_filter`, default all), signed with the caller's default signing secret.
    """

    def __init__(self, uow: UnitOfWorkFactory, catalog: ModelCatalog, clock: Clock,
                 ids: IdGenerator, events: EventBus, signal: WorkSignal, webhooks: WebhookPolicy,
                 circuits: CircuitStates) -> None:
        self._webhooks = webhooks
        self._circuits = circuits
        self._uow = uow
        self._catalog = catalog
        self._clock = clock
        self._ids = ids
        self._events = events
        self._signal = signal

    async def __call__(self, actor: Actor, request: JobRequest, idempotency_key: str | None = None, *,
                       retried_from: str | None = None) -> Result[Created, DomainError]:
        models = await self._catalog.models()
        priced = price_request(models, request)
        if isinstance(priced, Failure):
            return Failure(priced.failure())
        if priced.unwrap().route is not None:
            priced = Success(await self._route(actor, models, request, priced.unwrap()))
        checked = check_priority(request.priority).bind(lambda _: check_job_webhook(request, self._webhooks))
        if isinstance(checked, Failure):
            return Failure(checked.failure())
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
            return Failure(DomainError(ErrorCode.VALIDATION_ERROR, "Idempotency-Key must be 1-255 characters"))
        fingerprint = request.fingerprint()
        counted = check_inputs(request, priced.unwrap().spec)
        if isinstance(counted, Failure):
            return counted
        if request.input_asset_ids or request.parent_job_id is not None:
            related = await self._check_relations(actor, request, idempotency_key)
            if isinstance(related, Failure):
                return Failure(related.failure())
            earlier = related.unwrap()
            if earlier is not None:
                return replayed(earlier, fingerprint)
        now = self._clock.now()
        draft = self._draft(actor, request, priced.unwrap(), idempotency_key, fingerprint, now, retried_from)
        credential = credential_of(actor)
        outcome = await self._uow.create_job(credential, draft, now)
        match outcome.status:
            case CreateStatus.CREATED:
                job = draft.job
                await self._events.publish(JobCreated(job_id=job.id, user_id=job.user_id, at=now,
                                                      provider_id=job.provider_id,
                                                      operation_type=str(job.operation_type)))
                await self._signal.notify()
                return Success(Created(job, created=True))
            case CreateStatus.REPLAYED if outcome.job is not None:
                return replayed(outcome.job, fingerprint)
            case CreateStatus.DAILY_LIMIT:
                return Failure(quota_exceeded(
                    f"daily job limit of {outcome.daily_limit} reached; it resets at 00:00 UTC",
                    retry_after=seconds_until_next_utc_day(now)))
            case CreateStatus.INSUFFICIENT_CREDITS:
                return Failure(insufficient_credits(draft.hold.amount, outcome.available))
            case CreateStatus.KEY_IN_FLIGHT:
                return Failure(conflict("a request with this Idempotency-Key is already being processed"))
            case _:
                return Failure(refused(credential))

    async def _route(self, actor: Actor, models: Sequence[Model], request: JobRequest, priced: Priced) -> Priced:
        """Where a routed job goes first: one read of the accounts' health, and the circuits."""
        able = options(models, request.model, request.operation_type, request.params).unwrap()
        option, reason = await first_choice(self._uow, self._circuits, able, actor.user_id, self._clock.now())
        route = msgspec.structs.replace(priced.route, reason=reason) if priced.route is not None else None
        return msgspec.structs.replace(priced, chosen=option.chosen, params=option.params, cost=option.price,
                                       route=route)

    def _draft(self, actor: Actor, request: JobRequest, priced: Priced, idempotency_key: str | None,
               fingerprint: str, now: datetime, retried_from: str | None = None) -> JobDraft:
        job_id = self._ids.new_id()
        hold, hold_tx = place_hold(self._ids.new_id(), self._ids.new_id(), actor.user_id, priced.held, now,
                                   job_id=job_id).unwrap()
        model = priced.chosen.model
        job = Job(
            id=job_id, user_id=actor.user_id, provider_id=model.provider_id, model=model.id,
            operation_type=OperationType(priced.spec.operation_type), params=priced.params,
            input_asset_ids=tuple(request.input_asset_ids), workspace_id=request.workspace_id,
            name=request.name, priority=request.priority, scheduled_at=request.scheduled_at,
            run_after=max(now, request.scheduled_at) if request.scheduled_at else now,
            parent_job_id=request.parent_job_id, max_attempts=DEFAULT_MAX_ATTEMPTS,
            cost_estimate=priced.cost, hold_id=hold.id, idempotency_key=idempotency_key,
            request_fingerprint=fingerprint, created_at=now, updated_at=now, retried_from=retried_from,
            webhook_url=request.webhook_url, route=priced.route,
            webhook_events=tuple(dict.fromkeys(request.webhook_events_filter))
            if request.webhook_events_filter is not None else None,
        )
        audit = AuditEntry(id=self._ids.new_id(), at=now, actor_id=actor.user_id, action="job.create",
                           resource_type="job", resource_id=job.id,
                           details={"provider_id": job.provider_id, "model": job.model,
                                    "operation_type": str(job.operation_type), "cost_estimate": job.cost_estimate,
                                    **({"route_reason": priced.route.reason} if priced.route else {})})
        return JobDraft(job=job, hold=hold, hold_tx=hold_tx, audit=audit)

    async def _check_relations(self, actor: Actor, request: JobRequest,
                               idempotency_key: str | None) -> Result[Job | None, DomainError]:
        """Inputs and parent, read in one step of their own before the job is created (a
        job naming them costs one read more); the job with this idempotency key, if any, is
        given back without checking them again."""
        credential = credential_of(actor)
        found = await self._uow.read_relations(credential, request.input_asset_ids, request.parent_job_id,
                                               idempotency_key, self._clock.now())
        if not found.granted or found.value is None:
            return Failure(refused(credential))
        relations = found.value
        if relations.earlier is not None:
            return Success(relations.earlier)
        owned = {a.id: a for a in relations.assets}
        for asset_id in request.input_asset_ids:
            asset = owned.get(asset_id)
            if asset is None or asset.owner_id != actor.user_id or asset.is_deleted:
                return Failure(not_found(f"asset {asset_id}"))
        if request.parent_job_id is not None:
            parent = relations.parent
            if parent is None or parent.user_id != actor.user_id:
                return Failure(not_found("parent job"))
            if parent.status in (JobStatus.FAILED, JobStatus.CANCELLED):
                return Failure(conflict(f"parent job already ended {parent.status}"))
        return Success(None)


def check_inputs(request: JobRequest, spec: ModelOperation) -> Result[Created, DomainError] | None:
    """No duplicates, and as many inputs as the operation takes (a child job may leave them
    to its parent)."""
    inputs = request.input_asset_ids
    if len(set(inputs)) != len(inputs):
        return Failure(DomainError(ErrorCode.VALIDATION_ERROR, "input_asset_ids has duplicates",
                                   field="input_asset_ids"))
    from_parent = spec.max_inputs if request.parent_job_id else 0
    if len(inputs) + from_parent < spec.min_inputs or len(inputs) > spec.max_inputs:
        counted = check_input_count(spec, len(inputs))
        if isinstance(counted, Failure):
            return Failure(counted.failure())
    return None


def replayed(earlier: Job, fingerprint: str) -> Result[Created, DomainError]:
    """The job an idempotency key gave back: the same body, or a mismatch."""
    if earlier.request_fingerprint == fingerprint:
        return Success(Created(earlier, created=False))
    return Failure(DomainError(ErrorCode.IDEMPOTENCY_MISMATCH,
                               "this Idempotency-Key was used with another request body"))
