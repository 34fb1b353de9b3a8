"""Provider callbacks through the AcceptWebhook use case."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime, timedelta

import msgspec
from returns.result import Failure, Result, Success

from adapters.providers.registry import StaticProviderRegistry
from adapters.providers.sim import SimProvider
from application.jobs.create import CreateJob, JobRequest
from application.pipeline.run import DrainOnce
from application.pipeline.webhook import AcceptWebhook
from domain.errors import DomainError, ErrorCode, unauthenticated
from domain.jobs import JobStatus
from domain.providers import WebhookEvent
from entrypoints.bootstrap import build_container
from tests.support.seed import add_account, add_user
from tests.support.wiring import memory_wiring


class SigningSim(SimProvider):
    """The sim, plus callbacks signed with a shared word (enough to test the use case)."""

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime
                       ) -> Result[WebhookEvent, DomainError]:
        if headers.get("x-signature") != "good":
            return Failure(unauthenticated("bad signature"))
        data = json.loads(body)
        sent = datetime.fromisoformat(data["sent_at"])
        if abs((now - sent).total_seconds()) > 300:
            return Failure(unauthenticated("stale delivery"))
        return Success(WebhookEvent(webhook_id=data["id"], provider_job_id=data["job"], sent_at=sent))


def delivery(webhook_id: str, job: str, sent_at: datetime) -> bytes:
    return json.dumps({"id": webhook_id, "job": job, "sent_at": sent_at.isoformat()}).encode()


def test_a_signed_callback_makes_the_poll_due_now_and_replays_change_nothing() -> None:
    async def scenario() -> None:
        w = memory_wiring()
        sim = SigningSim(clock=w.clock.now)
        ports = dataclasses.replace(w.ports, providers=StaticProviderRegistry([sim]))
        container = build_container(ports)
        alice = await add_user(w)
        await add_account(w)
        created = await container.resolve(CreateJob)(alice, JobRequest(
            provider_id="sim", operation_type="text_to_image", params={"prompt": "x", "sim_latency_ms": 1000}))
        job_id = created.unwrap().job.id
        await container.resolve(DrainOnce)()
        async with w.ports.uow() as uow:
            parked = await uow.jobs.get(job_id)
        assert parked is not None and parked.next_poll_at == w.clock.now() + timedelta(seconds=2)
        accept: AcceptWebhook = container.resolve(AcceptWebhook)
        now = w.clock.now()
        body = delivery("d1", parked.provider_job_id or "", now)
        bad = await accept("sim", {"x-signature": "forged"}, body)
        assert isinstance(bad, Failure) and bad.failure().code is ErrorCode.UNAUTHENTICATED
        stale = await accept("sim", {"x-signature": "good"}, delivery("d0", "x", now - timedelta(minutes=6)))
        assert isinstance(stale, Failure) and stale.failure().code is ErrorCode.UNAUTHENTICATED
        accepted = await accept("sim", {"x-signature": "good"}, body)
        assert accepted.unwrap() == msgspec.convert({"job_id": job_id, "duplicate": False}, type(accepted.unwrap()))
        async with w.ports.uow() as uow:
            poked = await uow.jobs.get(job_id)
        assert poked is not None and poked.next_poll_at == now
        assert await ports.signal.wait(0.01)  # the workers were woken
        replay = await accept("sim", {"x-signature": "good"}, body)
        assert replay.unwrap().duplicate and replay.unwrap().job_id is None
        unknown = await accept("sim", {"x-signature": "good"}, delivery("d2", "sim-unknown", now))
        assert unknown.unwrap().job_id is None and not unknown.unwrap().duplicate
        w.clock.advance(1.5)
        await container.resolve(DrainOnce)()
        async with w.ports.uow() as uow:
            done = await uow.jobs.get(job_id)
        assert done is not None and done.status is JobStatus.COMPLETED

    asyncio.run(scenario())


def test_providers_without_webhooks_and_unknown_providers_are_not_found() -> None:
    async def scenario() -> None:
        w = memory_wiring()
        accept = w.get(AcceptWebhook)
        for provider in ("sim", "nope"):
            result = await accept(provider, {}, b"{}")
            assert isinstance(result, Failure) and result.failure().code is ErrorCode.NOT_FOUND

    asyncio.run(scenario())
