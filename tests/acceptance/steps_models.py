"""The model catalog: admins' models, and the model a job ran on."""

from __future__ import annotations

import asyncio
from typing import Any

from pytest_bdd import then, when
from returns.result import Result

from application.jobs.create import CreateJob, JobRequest
from application.models.admin import AddModel, ChangeModel, ModelDraft, ModelPatch, RemoveModel
from domain.errors import DomainError
from domain.jobs import OperationType
from domain.models import ModelOperation
from domain.providers import PriceRule, PriceUnit
from tests.acceptance.steps_common import p
from tests.acceptance.support import actor, job_named, ok
from tests.support.wiring import Wiring

PER_IMAGE = {"unit": PriceUnit.IMAGE, "quantity_param": "num_images"}
IMAGE_PARAMS = {"type": "object", "required": ["prompt"], "additionalProperties": False,
                "properties": {"prompt": {"type": "string", "minLength": 1},
                               "num_images": {"type": "integer", "minimum": 1, "maximum": 4}}}


@when(p('"{admin}" adds the model "{model_id}" for text to image at {credits:d} credits per image'))
def adds_model(runner: asyncio.Runner, wiring: Wiring, admin: str, model_id: str, credits: int) -> None:
    provider_id, _, remote_id = model_id.partition("/")
    draft = ModelDraft(provider_id=provider_id, remote_id=remote_id,
                       operations=(ModelOperation(operation_type=OperationType.TEXT_TO_IMAGE),),
                       price=PriceRule(credits_per_unit=credits, **PER_IMAGE), params_schema=IMAGE_PARAMS)
    ok(runner.run(wiring.get(AddModel)(runner.run(actor(wiring, admin)), draft)))


@when(p('"{admin}" sets the price of model "{model_id}" to {credits:d} credits per image'))
def sets_price(runner: asyncio.Runner, wiring: Wiring, admin: str, model_id: str, credits: int) -> None:
    patch = ModelPatch(price=PriceRule(credits_per_unit=credits, **PER_IMAGE))
    ok(runner.run(wiring.get(ChangeModel)(runner.run(actor(wiring, admin)), model_id, patch)))


@when(p('"{admin}" removes the model "{model_id}"'))
def removes_model(runner: asyncio.Runner, wiring: Wiring, admin: str, model_id: str) -> None:
    ok(runner.run(wiring.get(RemoveModel)(runner.run(actor(wiring, admin)), model_id)))


def _ask(runner: asyncio.Runner, wiring: Wiring, user: str, request: JobRequest) -> Result[Any, DomainError]:
    return runner.run(wiring.get(CreateJob)(runner.run(actor(wiring, user)), request))


@when(p('"{user}" asks model "{model_id}" for {n:d} images named "{name}"'), target_fixture="outcome")
def asks_model_for_images(runner: asyncio.Runner, wiring: Wiring, user: str, model_id: str, n: int,
                          name: str) -> Result[Any, DomainError]:
    return _ask(runner, wiring, user, JobRequest(model=model_id, operation_type="text_to_image", name=name,
                                                 params={"prompt": name, "num_images": n}))


@when(p('"{user}" asks model "{model_id}" for a video named "{name}"'), target_fixture="outcome")
def asks_model_for_video(runner: asyncio.Runner, wiring: Wiring, user: str, model_id: str,
                         name: str) -> Result[Any, DomainError]:
    return _ask(runner, wiring, user, JobRequest(model=model_id, operation_type="text_to_video", name=name,
                                                 params={"prompt": name}))


@then(p('job "{name}" ran on model "{model_id}", sent to the provider as "{remote_id}"'))
def ran_on_model(runner: asyncio.Runner, wiring: Wiring, name: str, model_id: str, remote_id: str) -> None:
    job = runner.run(job_named(wiring, name))
    assert job.model == model_id
    remote = wiring.sim.remote_job(job.provider_job_id or "")
    assert remote is not None and remote.model == remote_id
