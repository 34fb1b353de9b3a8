"""Routed jobs in the use cases: which requests are routed, what they hold, where they go
first and after a provider-side failure, and what the API shows of it."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from adapters.models import BUILTIN_MODELS
from adapters.providers.registry import StaticProviderRegistry
from adapters.providers.sim import SimProvider
from application.jobs.create import CreateJob, JobRequest
from application.jobs.quote import QuoteJob
from application.jobs.routing import options
from application.models.catalog import ModelCatalog
from application.pipeline.run import DrainOnce
from domain.errors import ErrorCode
from domain.jobs import Job, JobStatus
from domain.jobs import OperationType as Op
from domain.models import ModelOperation, ModelRecord, check_params
from domain.providers import PriceRule, PriceUnit
from entrypoints.http.schemas_jobs import job_out
from tests.support.seed import ActorStub, add_account, add_user
from tests.support.wiring import Wiring
from tests.unit.application.jobs_world import drained, run

STRICT = {"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"],
          "additionalProperties": False}


def record(w: Wiring, model_id: str, credits: int, aliases: tuple[str, ...] = ("quick",),
           schema: dict[str, Any] | None = None) -> ModelRecord:
    now = w.clock.now()
    return ModelRecord(id=model_id, provider_id=model_id.split("/")[0], remote_id="image", name=model_id,
                       aliases=aliases, operations=(ModelOperation(operation_type=Op.TEXT_TO_IMAGE),),
                       price=PriceRule(credits_per_unit=credits, unit=PriceUnit.JOB), params_schema=schema,
                       default_for=(Op.TEXT_TO_IMAGE,), created_at=now, updated_at=now)


async def with_second_sim(w: Wiring, *records: ModelRecord) -> ActorStub:
    registry = w.ports.providers
    assert isinstance(registry, StaticProviderRegistry)
    registry.register(SimProvider(clock=w.clock.now, provider_id="sim_b"))
    async with w.ports.uow() as uow:
        for each in records or (record(w, "sim/image", 1), record(w, "sim_b/image", 3)):
            await uow.models.put(each)
        await uow.commit()
    w.get(ModelCatalog).forget()
    return await add_user(w)


async def create(w: Wiring, actor: ActorStub, **fields: Any) -> Job:
    fields.setdefault("params", {"prompt": "fox"})
    made = await w.get(CreateJob)(actor, JobRequest(operation_type="text_to_image", **fields))
    assert isinstance(made, Success), made
    return made.unwrap().job


def test_a_model_id_or_an_alias_of_one_provider_is_not_routed() -> None:
    async def scenario(w: Wiring) -> None:
        actor = await with_second_sim(w, record(w, "sim/image", 1, aliases=("solo",)), record(w, "sim_b/image", 3))
        for fields in ({"model": "solo"}, {"model": "sim_b/image"}, {"provider_id": "sim"}):
            job = await create(w, actor, **fields)
            assert job.route is None and job.routed_to is None
            assert job_out(job).routed_to is None and job_out(job).route_reason is None

    run(scenario)


def test_an_alias_of_two_providers_is_routed_and_holds_the_dearest_price() -> None:
    async def scenario(w: Wiring) -> None:
        actor = await with_second_sim(w)
        await add_account(w, "a")
        await add_account(w, "b", provider_id="sim_b")
        job = await create(w, actor, model="quick")
        assert job.route is not None and job.route.candidates == ("sim/image", "sim_b/image")
        assert (job.model, job.cost_estimate, job.route.held) == ("sim/image", 1, 3)
        async with w.ports.uow() as uow:
            hold = await uow.ledger.get_hold(job.hold_id or "")
        assert hold is not None and hold.amount == 3
        shown = job_out(job)
        assert (shown.routed_to, shown.route_reason) == ("sim/image", "cheapest available")
        quote = await w.get(QuoteJob)(JobRequest(operation_type="text_to_image", model="quick",
                                                 params={"prompt": "x"}))
        assert quote.unwrap().credits == 3
        done = await drained(w, job.id)
        assert done.status is JobStatus.COMPLETED
        async with w.ports.uow() as uow:
            hold = await uow.ledger.get_hold(job.hold_id or "")
        assert hold is not None and hold.captured == 1  # charged where it ran

    run(scenario)


def test_availability_is_read_at_submit_an_account_less_provider_is_passed_over() -> None:
    async def scenario(w: Wiring) -> None:
        actor = await with_second_sim(w)
        await add_account(w, "b", provider_id="sim_b")
        job = await create(w, actor, model="quick")
        assert (job.routed_to, job.route.reason if job.route else None) == (
            "sim_b/image", "cheapest available: sim no usable account")
        assert job.cost_estimate == 3

    run(scenario)


def test_a_candidate_whose_schema_refuses_the_params_is_left_out() -> None:
    async def scenario(w: Wiring) -> None:
        actor = await with_second_sim(w, record(w, "sim/image", 1),
                                      record(w, "sim_b/image", 3, schema=STRICT))
        job = await create(w, actor, model="quick", params={"prompt": "fox", "num_images": 2})
        assert job.route is not None and job.route.candidates == ("sim/image",)
        refused = await w.get(CreateJob)(actor, JobRequest(operation_type="text_to_image", model="quick",
                                                           params={"nope": 1}))
        assert isinstance(refused, Failure) and refused.failure().code is ErrorCode.VALIDATION_ERROR

    run(scenario)


def test_auto_with_an_unknown_model_or_operation_is_refused() -> None:
    async def scenario(w: Wiring) -> None:
        actor = await with_second_sim(w)
        for fields in ({"provider_id": "auto", "model": "nothing"},):
            refused = await w.get(CreateJob)(actor, JobRequest(operation_type="text_to_image", params={"prompt": "x"},
                                                               **fields))
            assert isinstance(refused, Failure) and refused.failure().field == "model"
        refused = await w.get(CreateJob)(actor, JobRequest(operation_type="text_to_video", provider_id="auto",
                                                           model="quick", params={"prompt": "x"}))
        assert isinstance(refused, Failure) and refused.failure().code is ErrorCode.VALIDATION_ERROR

    run(scenario)


def test_a_transient_failure_fails_over_at_once_and_is_charged_where_it_completes() -> None:
    async def scenario(w: Wiring) -> None:
        actor = await with_second_sim(w)
        await add_account(w, "a")
        await add_account(w, "b", provider_id="sim_b")
        job = await create(w, actor, model="quick", params={"prompt": "fox", "sim_outcome": "transient_error"})
        await w.get(DrainOnce)()  # fails on sim
        async with w.ports.uow() as uow:
            moved = await uow.jobs.get(job.id)
        assert moved is not None and moved.status is JobStatus.PENDING and moved.run_after == w.clock.now()
        assert moved.route is not None and moved.route.failed == ("sim/image",)
        assert (moved.provider_id, moved.model, moved.cost_estimate) == ("sim_b", "sim_b/image", 3)
        assert moved.route.reason == "failover: sim failed (SIM_TRANSIENT)"
        assert moved.params == {"prompt": "fox", "sim_outcome": "transient_error"}  # the params as given
        done = await drained(w, job.id)
        # sim_b's own first attempt of the same params fails too (the simulator's rule): it
        # goes back to sim, which has failed it already, since nothing else is left
        assert done.status is JobStatus.COMPLETED and done.route is not None
        assert done.route.failed == ("sim/image", "sim_b/image")

    run(scenario)


@settings(max_examples=60, deadline=None)
@given(st.none() | st.sampled_from(sorted({a for m in BUILTIN_MODELS for a in m.aliases}
                                          | {m.id for m in BUILTIN_MODELS})),
       st.sampled_from(list(Op)), st.sampled_from([{}, {"prompt": "a fox"}, {"prompt": "x", "seed": 1}]))
def test_routing_never_offers_an_incapable_model(model: str | None, operation: Op, params: dict[str, Any]) -> None:
    found = options(BUILTIN_MODELS, model, operation, params)
    for option in found.value_or([]):
        assert option.chosen.model.operation(operation) is not None
        assert model is None or model in (option.chosen.model.id, *option.chosen.model.aliases)
        assert isinstance(check_params(option.chosen, params), Success)
    if isinstance(found, Success):
        assert found.unwrap() == sorted(found.unwrap(), key=lambda o: o.chosen.model.id)
