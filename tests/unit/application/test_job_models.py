"""Jobs and the model catalog: which model a job runs on, what it costs, what the provider is sent."""

from __future__ import annotations

from returns.result import Failure, Success

from application.jobs.create import CreateJob, JobRequest
from application.jobs.manage import RetryJob
from application.jobs.quote import QuoteJob
from application.models.catalog import ModelCatalog
from domain.errors import ErrorCode
from domain.jobs import Job, JobStatus
from domain.jobs import OperationType as Op
from domain.models import ModelOperation, ModelRecord, tombstone
from domain.providers import PriceRule, PriceUnit
from tests.support.seed import ActorStub, add_account, add_user
from tests.support.wiring import Wiring
from tests.unit.application.jobs_world import drained, run

SCHEMA = {"type": "object", "properties": {"prompt": {"type": "string", "minLength": 1},
                                           "num_images": {"type": "integer", "minimum": 1, "maximum": 4}},
          "required": ["prompt"], "additionalProperties": False}


def hq_record(w: Wiring) -> ModelRecord:
    now = w.clock.now()
    return ModelRecord(id="sim/image-hq", provider_id="sim", remote_id="image-hq", name="HQ",
                       operations=(ModelOperation(operation_type=Op.TEXT_TO_IMAGE),),
                       price=PriceRule(credits_per_unit=7, unit=PriceUnit.IMAGE, quantity_param="num_images"),
                       params_schema=SCHEMA, created_at=now, updated_at=now)


async def store(w: Wiring, record: ModelRecord) -> None:
    async with w.ports.uow() as uow:
        await uow.models.put(record)
        await uow.commit()


async def created(w: Wiring, actor: ActorStub, request: JobRequest) -> Job:
    made = await w.get(CreateJob)(actor, request)
    assert isinstance(made, Success), made
    return made.unwrap().job


def test_a_provider_alone_runs_its_default_model_and_the_provider_is_sent_its_remote_id() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        await add_account(w)
        job = await created(w, alice, JobRequest(provider_id="sim", operation_type="text_to_image",
                                                 params={"prompt": "fox", "num_images": 2}))
        assert job.model == "sim/image" and job.cost_estimate == 2
        done = await drained(w, job.id)
        assert done.status is JobStatus.COMPLETED
        remote = w.sim.remote_job(done.provider_job_id or "")
        assert remote is not None and remote.model == "image"

    run(scenario)


def test_a_named_model_sets_the_provider_and_both_given_must_agree() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        job = await created(w, alice, JobRequest(model="sim/video", operation_type="text_to_video",
                                                 params={"prompt": "waves", "seconds": 3}))
        assert (job.provider_id, job.model, job.cost_estimate) == ("sim", "sim/video", 3)
        agreeing = await created(w, alice, JobRequest(model="sim/video", provider_id="sim",
                                                      operation_type="text_to_video", params={"prompt": "waves"}))
        assert agreeing.model == "sim/video"
        for request, field in [
            (JobRequest(model="sim/video", provider_id="replicate", operation_type="text_to_video",
                        params={"prompt": "x"}), "provider_id"),
            (JobRequest(operation_type="text_to_video", params={"prompt": "x"}), "model"),
            (JobRequest(model="sim/nope", operation_type="text_to_video", params={"prompt": "x"}), "model"),
            (JobRequest(model="sim/video", operation_type="text_to_image", params={"prompt": "x"}), "operation_type"),
        ]:
            refused = await w.get(CreateJob)(alice, request)
            assert isinstance(refused, Failure) and refused.failure().code is ErrorCode.VALIDATION_ERROR
            assert refused.failure().field == field
            quoted = await w.get(QuoteJob)(request)
            assert isinstance(quoted, Failure) and quoted.failure().field == field

    run(scenario)


def test_an_admins_model_is_checked_against_its_schema_priced_by_its_rule_and_sent_by_its_remote_id() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        await add_account(w)
        await store(w, hq_record(w))
        w.get(ModelCatalog).forget()
        request = JobRequest(model="sim/image-hq", operation_type="text_to_image",
                             params={"prompt": "fox", "num_images": 3})
        assert (await w.get(QuoteJob)(request)).unwrap().credits == 21
        bad = await w.get(CreateJob)(alice, JobRequest(model="sim/image-hq", operation_type="text_to_image",
                                                       params={"prompt": "fox", "width": 300}))
        assert isinstance(bad, Failure) and bad.failure().field == "params"
        job = await created(w, alice, request)
        assert job.cost_estimate == 21 and job.params == {"prompt": "fox", "num_images": 3}
        done = await drained(w, job.id)
        assert done.status is JobStatus.COMPLETED, done.error_message
        remote = w.sim.remote_job(done.provider_job_id or "")
        assert remote is not None and remote.model == "image-hq"

    run(scenario)


def test_another_replicas_change_is_seen_once_the_cache_is_older_than_its_freshness() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        await created(w, alice, JobRequest(model="sim/image", operation_type="text_to_image",
                                           params={"prompt": "fox"}))  # the catalog is read now
        await store(w, hq_record(w))  # written by another replica: nobody tells this one
        request = JobRequest(model="sim/image-hq", operation_type="text_to_image", params={"prompt": "fox"})
        assert isinstance(await w.get(CreateJob)(alice, request), Failure)
        w.clock.advance(5)
        assert (await created(w, alice, request)).model == "sim/image-hq"
        await store(w, tombstone("sim/image", "sim", "image", w.clock.now(), None))
        w.clock.advance(5)
        default = await created(w, alice, JobRequest(provider_id="sim", operation_type="text_to_image",
                                                     params={"prompt": "fox"}))
        assert default.model == "sim/image-hq"  # the only sim model left offering it

    run(scenario)


def test_a_job_whose_model_was_removed_before_it_ran_fails_without_reaching_the_provider() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        await add_account(w)
        await store(w, hq_record(w))
        w.get(ModelCatalog).forget()
        job = await created(w, alice, JobRequest(model="sim/image-hq", operation_type="text_to_image",
                                                 params={"prompt": "fox"}))
        await store(w, tombstone("sim/image-hq", "sim", "image-hq", w.clock.now(), None))
        w.get(ModelCatalog).forget()
        done = await drained(w, job.id)
        assert done.status is JobStatus.FAILED and done.error_code == "MODEL_GONE"
        assert w.sim.submit_count == 0

    run(scenario)


def test_a_retried_job_runs_on_the_same_model() -> None:
    async def scenario(w: Wiring) -> None:
        alice = await add_user(w)
        await add_account(w)
        job = await created(w, alice, JobRequest(model="sim/image", operation_type="text_to_image",
                                                 params={"prompt": "fox", "sim_outcome": "final_error"}))
        assert (await drained(w, job.id)).status is JobStatus.FAILED
        again = await w.get(RetryJob)(alice, job.id)
        assert isinstance(again, Success), again
        assert again.unwrap().job.model == "sim/image"

    run(scenario)
