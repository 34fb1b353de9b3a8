"""Outbound webhooks: endpoints, what the receiver was sent, and the delivery log."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from pytest_bdd import given, then, when
from standardwebhooks.webhooks import Webhook

from adapters.memory.webhook_sender import RecordingWebhookSender
from application.webhooks.deliver import DeliverWebhooks
from application.webhooks.deliveries import ListDeliveries
from application.webhooks.endpoints import CreateWebhookEndpoint, GetWebhookEndpoint
from domain.errors import ErrorCode
from tests.acceptance.steps_common import p
from tests.acceptance.support import actor, code_of, job_named, ok
from tests.support.wiring import Wiring

Endpoints = dict[str, tuple[str, str, str]]  # name -> (id, secret, owner)


@pytest.fixture
def webhook_endpoints() -> Endpoints:
    return {}


def receiver(wiring: Wiring) -> RecordingWebhookSender:
    sender = wiring.ports.webhook_sender
    assert isinstance(sender, RecordingWebhookSender)
    return sender


def add_endpoint(runner: asyncio.Runner, wiring: Wiring, endpoints: Endpoints, user: str, name: str,
                 events: list[str] | None = None) -> None:
    async def create() -> tuple[str, str, str]:
        made = ok(await wiring.get(CreateWebhookEndpoint)(
            await actor(wiring, user), f"https://{name}.example.com/hook", events))
        return made.endpoint.id, made.secret, user

    endpoints[name] = runner.run(create())


@given(p('"{user}" has a webhook endpoint "{name}"'))
def has_endpoint(runner: asyncio.Runner, wiring: Wiring, webhook_endpoints: Endpoints, user: str, name: str) -> None:
    add_endpoint(runner, wiring, webhook_endpoints, user, name)


@given(p('"{user}" has a webhook endpoint "{name}" for "{event}" only'))
def has_endpoint_for(runner: asyncio.Runner, wiring: Wiring, webhook_endpoints: Endpoints, user: str, name: str,
                     event: str) -> None:
    add_endpoint(runner, wiring, webhook_endpoints, user, name, [event])


@given(p("the receiver fails {n:d} times"))
def receiver_fails(wiring: Wiring, n: int) -> None:
    receiver(wiring).answers = [500] * n


@when("the webhooks go out")
def webhooks_go_out(runner: asyncio.Runner, wiring: Wiring) -> None:
    runner.run(deliver_all(wiring))


@when(p("the webhooks go out for {n:d} hour{:Plural}"))
def webhooks_go_out_for(runner: asyncio.Runner, wiring: Wiring, n: int) -> None:
    async def run() -> None:
        for _ in range(n * 60):
            await deliver_all(wiring)
            wiring.clock.advance(60)
        await deliver_all(wiring)

    runner.run(run())


async def deliver_all(wiring: Wiring) -> None:
    while await wiring.get(DeliverWebhooks)():
        pass


@then(p('endpoint "{name}" was sent "{event}" for job "{job}" {n:d} time{:Plural}, signed with its secret'))
def was_sent(runner: asyncio.Runner, wiring: Wiring, webhook_endpoints: Endpoints, name: str, event: str,
             job: str, n: int) -> None:
    job_id = runner.run(job_named(wiring, job)).id
    sent = [s for s in receiver(wiring).sent if s.url == f"https://{name}.example.com/hook"]
    assert len(sent) == n, sent
    signer = Webhook(webhook_endpoints[name][1])  # the reference implementation's own signature
    for delivery in sent:
        stamp = datetime.fromtimestamp(int(delivery.headers["webhook-timestamp"]), UTC)
        expected = signer.sign(delivery.headers["webhook-id"], stamp, delivery.body.decode())
        assert expected in delivery.headers["webhook-signature"].split(" ")
        body = json.loads(delivery.body)
        assert body["type"] == event and body["data"]["job"]["id"] == job_id


@then(p('the delivery log of "{name}" shows attempts answered {codes}'))
def log_shows(runner: asyncio.Runner, wiring: Wiring, webhook_endpoints: Endpoints, name: str, codes: str) -> None:
    async def read() -> list[int | None]:
        endpoint_id, _, owner = webhook_endpoints[name]
        log = ok(await wiring.get(ListDeliveries)(await actor(wiring, owner), endpoint_id))
        [delivery] = log.deliveries.items
        return [a.status_code for a in log.attempts[delivery.id]]

    assert runner.run(read()) == [int(c) for c in codes.split(", ")]


@then("nothing was sent")
def nothing_sent(wiring: Wiring) -> None:
    assert receiver(wiring).sent == []


@then(p('"{user}" cannot see endpoint "{name}"'))
def cannot_see_endpoint(runner: asyncio.Runner, wiring: Wiring, webhook_endpoints: Endpoints, user: str,
                        name: str) -> None:
    async def look() -> object:
        return await wiring.get(GetWebhookEndpoint)(await actor(wiring, user), webhook_endpoints[name][0])

    assert code_of(runner.run(look())) is ErrorCode.NOT_FOUND
