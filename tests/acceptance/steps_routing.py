"""Routing across providers: a second simulated provider, an alias both serve, circuits."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, cast

from pytest_bdd import given, then, when
from returns.result import Failure

from adapters.providers.guarded import GuardedProvider
from adapters.providers.registry import StaticProviderRegistry
from adapters.providers.sim import SimProvider
from application.accounts.private import AddPrivateAccount
from application.jobs.create import CreateJob, JobRequest
from application.models.catalog import ModelCatalog
from domain.accounts import FailureKind
from domain.jobs import OperationType
from domain.models import ModelOperation, ModelRecord, find
from domain.providers import PriceRule, PriceUnit, ProviderFailure, ProviderInfo, SubmitRequest
from domain.routing import AUTO
from tests.acceptance.phrases import read_job
from tests.acceptance.steps_common import p
from tests.acceptance.support import actor, job_named, ok
from tests.support.seed import add_account
from tests.support.wiring import Wiring


def registry(w: Wiring) -> StaticProviderRegistry:
    providers = w.ports.providers
    assert isinstance(providers, StaticProviderRegistry)
    return providers


def image_record(model_id: str, provider_id: str, credits: int, alias: str, now: datetime) -> ModelRecord:
    return ModelRecord(
        id=model_id, provider_id=provider_id, remote_id="image", name=model_id, aliases=(alias,),
        operations=(ModelOperation(operation_type=OperationType.TEXT_TO_IMAGE),),
        price=PriceRule(credits_per_unit=credits, unit=PriceUnit.JOB), default_for=(OperationType.TEXT_TO_IMAGE,),
        created_at=now, updated_at=now)


@given(p('the model alias "{alias}" is served by "sim" for {a:d} credit{:Plural} and by "{other}" for {b:d} credits'))
def alias_on_two_providers(runner: asyncio.Runner, wiring: Wiring, alias: str, a: int, other: str, b: int) -> None:
    """The sim's image model (its typed params kept) and a second simulator's (a JSON Schema:
    any params), both under the alias."""
    registry(wiring).register(SimProvider(clock=wiring.clock.now, provider_id=other))

    async def put() -> None:
        now = wiring.clock.now()
        async with wiring.ports.uow() as uow:
            await uow.models.put(image_record("sim/image", "sim", a, alias, now))
            await uow.models.put(image_record(f"{other}/image", other, b, alias, now))
            await uow.commit()
        wiring.get(ModelCatalog).forget()
        models = await wiring.get(ModelCatalog).models()
        assert find(models, f"{other}/image") is not None and find(models, "sim/image") is not None

    runner.run(put())


@given(p('a shared "{provider}" account "{label}"'))
def a_shared_account_of(runner: asyncio.Runner, wiring: Wiring, provider: str, label: str) -> None:
    runner.run(add_account(wiring, label, provider_id=provider))


@given(p('"{user}" has a private account "{label}" whose key the provider rejects'))
def a_private_account_with_a_bad_key(runner: asyncio.Runner, wiring: Wiring, user: str, label: str) -> None:
    async def add() -> None:
        ok(await wiring.get(AddPrivateAccount)(await actor(wiring, user), provider_id="sim", label=label,
                                               secret="sim-invalid-key", credits=10_000, max_concurrent_jobs=2))

    runner.run(add())


class Outage:
    """A provider that is down: every call is a 5xx (enough of them open its circuit)."""

    def __init__(self, info: ProviderInfo) -> None:
        self.info = info

    async def submit(self, secret: str, request: Any) -> Failure[ProviderFailure]:
        return Failure(ProviderFailure(kind=FailureKind.TRANSIENT, code="HTTP_503", message="service unavailable"))


@given(p('the circuit of provider "{provider}" is open'))
@when(p('the circuit of provider "{provider}" is open'))
def circuit_open(runner: asyncio.Runner, wiring: Wiring, provider: str) -> None:
    """The provider failed often enough that its breaker refuses calls for the next hour."""
    client = registry(wiring).get(provider)
    assert client is not None
    guarded = GuardedProvider(cast(Any, Outage(client.info)), threshold=1, open_seconds=3600,
                              monotonic=lambda: wiring.clock.now().timestamp())
    runner.run(guarded.submit("key", SubmitRequest(reference="outage", operation_type=OperationType.TEXT_TO_IMAGE,
                                                   params={})))
    registry(wiring).register(guarded)


async def request(w: Wiring, user: str, description: str, *, model: str | None,
                  provider_id: str | None = None) -> None:
    order = read_job(description)
    job = JobRequest(model=model, provider_id=provider_id, operation_type=order.operation_type,
                     params={"prompt": order.name, **order.params}, name=order.name)
    ok(await w.get(CreateJob)(await actor(w, user), job))


@when(p('"{user}" requests {description} from the model "{model}"'))
def requests_model(runner: asyncio.Runner, wiring: Wiring, user: str, description: str, model: str) -> None:
    runner.run(request(wiring, user, description, model=model))


@when(p('"{user}" requests {description} from the model "{model}" {rest}'))
def requests_model_with(runner: asyncio.Runner, wiring: Wiring, user: str, description: str, model: str,
                        rest: str) -> None:
    runner.run(request(wiring, user, f"{description} {rest}", model=model))


@when(p('"{user}" requests {description} from any provider'))
def requests_any(runner: asyncio.Runner, wiring: Wiring, user: str, description: str) -> None:
    runner.run(request(wiring, user, description, model=None, provider_id=AUTO))


@then(p('job "{name}" is routed to "{model}" because "{reason}"'))
def routed(runner: asyncio.Runner, wiring: Wiring, name: str, model: str, reason: str) -> None:
    job = runner.run(job_named(wiring, name))
    assert (job.routed_to, job.route.reason if job.route else None) == (model, reason)
