"""RunImagesCall over the in-memory wiring: an ordinary job, waited for while a worker runs it."""

from __future__ import annotations

import asyncio

from returns.result import Failure, Result

from application.openai_compat.images import ImagesOutcome, RunImagesCall
from application.openai_compat.models import ImageAsk
from application.pipeline.run import DrainOnce
from application.policy import OpenAICompatPolicy, Policies
from domain.errors import DomainError, ErrorCode
from domain.jobs import JobStatus
from tests.support.seed import ActorStub, add_account, add_user
from tests.support.wiring import Wiring, memory_wiring

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def wiring(wait: float = 5) -> Wiring:
    return memory_wiring(policies=Policies(openai=OpenAICompatPolicy(wait_seconds=wait, recheck_seconds=0.05)))


async def worker(w: Wiring, rounds: int = 100) -> None:
    for _ in range(rounds):
        await w.get(DrainOnce)()
        w.clock.advance(5)
        await asyncio.sleep(0.01)


async def call_with_worker(w: Wiring, actor: ActorStub, model: str, ask: ImageAsk,
                           inline: bool) -> Result[ImagesOutcome, DomainError]:
    running = asyncio.create_task(worker(w))
    try:
        return await w.get(RunImagesCall)(actor, model, ask, inline=inline)
    finally:
        running.cancel()


def test_a_generation_waits_for_its_job_and_gives_its_images_and_their_bytes() -> None:
    w = wiring()

    async def go() -> tuple[ImagesOutcome, int]:
        actor = await add_user(w, credits=100)
        await add_account(w)
        outcome = (await call_with_worker(w, actor, "sim/image", ImageAsk(prompt="a fox", n=2), inline=True)).unwrap()
        async with w.ports.uow() as uow:
            user = await uow.users.get(actor.user_id)
            balance = (await uow.ledger.balance(actor.user_id)).available if user else -1
        return outcome, balance

    outcome, balance = asyncio.run(go())
    assert outcome.finished and outcome.job.status is JobStatus.COMPLETED
    assert outcome.job.name == "openai:sim/image" and outcome.job.params["num_images"] == 2
    assert len(outcome.images) == 2 and all((i.data or b"").startswith(PNG_MAGIC) for i in outcome.images)
    assert [i.asset.id for i in outcome.images] == list(outcome.job.result_asset_ids)
    assert balance == 98  # two images, charged like any job


def test_without_inline_no_bytes_are_read_and_an_unfinished_job_comes_back_as_it_is() -> None:
    w = wiring(wait=0.2)

    async def go() -> tuple[ImagesOutcome, ImagesOutcome]:
        actor = await add_user(w)
        await add_account(w)
        done = (await call_with_worker(w, actor, "sim/image", ImageAsk(prompt="a fox"), inline=False)).unwrap()
        late = (await w.get(RunImagesCall)(actor, "sim/image", ImageAsk(prompt="slow"))).unwrap()  # no worker
        return done, late

    done, late = asyncio.run(go())
    assert done.finished and done.images[0].data is None
    assert not late.finished and late.job.status is JobStatus.PENDING and late.images == ()


def test_an_unknown_model_creates_no_job() -> None:
    w = wiring()

    async def go() -> tuple[Result[ImagesOutcome, DomainError], int]:
        actor = await add_user(w)
        unknown = await w.get(RunImagesCall)(actor, "nope", ImageAsk(prompt="x"))
        async with w.ports.uow() as uow:
            balance = (await uow.ledger.balance(actor.user_id)).available
        return unknown, balance

    unknown, balance = asyncio.run(go())
    assert isinstance(unknown, Failure) and unknown.failure().code is ErrorCode.NOT_FOUND
    assert balance == 1000  # nothing held
