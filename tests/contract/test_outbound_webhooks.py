"""The outbound webhook repositories and the unit of work's outbox, on memory, SQLite and Postgres."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import msgspec
from sqlalchemy import event

from adapters.sql.uow import SqlUnitOfWorkFactory
from domain.jobs import JobStatus, cancel, fail
from domain.outbound import (
    DeliveryAttempt,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    delivery_id,
)
from domain.ports import UnitOfWork, UnitOfWorkFactory
from tests.contract.builders import T0, add_user, at, in_uow, job, new_id


def endpoint(user_id: str, **changes: object) -> WebhookEndpoint:
    values: dict[str, object] = {
        "id": new_id("we"), "user_id": user_id, "url": "https://hooks.example.com/in",
        "events": ("job.completed", "job.failed", "job.cancelled"), "secret": "whsec_c2VjcmV0c2VjcmV0c2VjcmV0",
        "created_at": T0,
    }
    return WebhookEndpoint(**{**values, **changes})  # type: ignore[arg-type]


async def add_endpoint(factory: UnitOfWorkFactory, user_id: str, **changes: object) -> WebhookEndpoint:
    made = endpoint(user_id, **changes)

    async def work(uow: UnitOfWork) -> None:
        await uow.hook_endpoints.add(made)

    await in_uow(factory, work)
    return made


async def end_job(factory: UnitOfWorkFactory, user_id: str, *, commit: bool = True, status: JobStatus = JobStatus.CANCELLED,
                  **changes: object) -> str:
    """A job added, then ended (cancelled or failed) in a second unit of work."""
    created = job(user_id, **changes)

    async def add(uow: UnitOfWork) -> None:
        assert await uow.jobs.add(created)

    await in_uow(factory, add)
    ended = (cancel(created, at(5)) if status is JobStatus.CANCELLED
             else fail(created, "PROVIDER_ERROR", "boom", at(5))).unwrap()

    async def save(uow: UnitOfWork) -> None:
        assert await uow.jobs.save(ended, created.version)

    await in_uow(factory, save, commit=commit)
    return created.id


async def claim(factory: UnitOfWorkFactory, seconds: float, token: str = "lease-1",
                limit: int = 10) -> list[WebhookDelivery]:
    async def work(uow: UnitOfWork) -> list[WebhookDelivery]:
        return await uow.hook_deliveries.claim_due(at(seconds), token, at(seconds + 60), limit)

    return await in_uow(factory, work)


def test_endpoints_round_trip_with_their_secrets(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        first = await add_endpoint(uow_factory, owner.id, description="orders")
        second = await add_endpoint(uow_factory, owner.id, created_at=at(1), events=("job.failed",))
        rotated = msgspec.structs.replace(first, secret="whsec_bmV3bmV3bmV3bmV3bmV3bmV3", previous_secret=first.secret,
                                          previous_secret_until=at(86400), updated_at=at(2))

        async def work(uow: UnitOfWork) -> tuple[WebhookEndpoint | None, list[WebhookEndpoint]]:
            await uow.hook_endpoints.update(rotated)
            return await uow.hook_endpoints.get(first.id), await uow.hook_endpoints.for_user(owner.id)

        got, listed = await in_uow(uow_factory, work)
        assert got == rotated
        assert [e.id for e in listed] == [first.id, second.id]
        assert listed[1].events == ("job.failed",)

    runner.run(scenario())


def test_an_ended_job_writes_its_deliveries_in_its_own_transaction(uow_factory: UnitOfWorkFactory,
                                                                     runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        other = await add_user(uow_factory)
        taking = await add_endpoint(uow_factory, owner.id)
        await add_endpoint(uow_factory, owner.id, events=("job.completed",))  # not this event
        await add_endpoint(uow_factory, owner.id, disabled_at=T0, disabled_reason="off")  # disabled
        await add_endpoint(uow_factory, other.id)  # someone else's
        rolled_back = await end_job(uow_factory, owner.id, commit=False)
        assert await claim(uow_factory, 10) == []  # no commit, no delivery
        assert rolled_back
        job_id = await end_job(uow_factory, owner.id, webhook_url="https://example.com/job-hook",
                               webhook_events=("job.cancelled",))
        claimed = await claim(uow_factory, 10)
        assert {(d.endpoint_id, d.url) for d in claimed} == {(taking.id, None), (None, "https://example.com/job-hook")}
        assert {d.message_id for d in claimed} == {f"msg_{job_id}_cancelled"}
        assert all(d.event_type == "job.cancelled" and d.job_id == job_id and d.user_id == owner.id for d in claimed)
        assert {d.id for d in claimed} == {delivery_id(job_id, taking.id), delivery_id(job_id, None)}

        async def of_job(uow: UnitOfWork) -> tuple[list[WebhookDelivery], list[WebhookDelivery]]:
            return await uow.hook_deliveries.for_job(job_id), await uow.hook_deliveries.for_job(rolled_back)

        mine, none = await in_uow(uow_factory, of_job)
        assert {d.id for d in mine} == {d.id for d in claimed} and none == []

    runner.run(scenario())


def test_a_job_webhook_filter_that_excludes_the_event_sends_nothing(uow_factory: UnitOfWorkFactory,
                                                                      runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        await end_job(uow_factory, owner.id, status=JobStatus.FAILED, webhook_url="https://example.com/h",
                      webhook_events=("job.completed",))
        assert await claim(uow_factory, 10) == []
        await end_job(uow_factory, owner.id, status=JobStatus.FAILED, webhook_url="https://example.com/h")
        assert [d.event_type for d in await claim(uow_factory, 10)] == ["job.failed"]

    runner.run(scenario())


def test_claims_lease_each_delivery_once_until_the_lease_runs_out(uow_factory: UnitOfWorkFactory,
                                                                   runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        await add_endpoint(uow_factory, owner.id)
        await end_job(uow_factory, owner.id)
        await end_job(uow_factory, owner.id)
        first = await claim(uow_factory, 10, "a", limit=1)
        second = await claim(uow_factory, 10, "b", limit=5)
        assert len(first) == 1 and len(second) == 1 and first[0].id != second[0].id
        assert await claim(uow_factory, 69, "c") == []  # both leased until 70
        again = await claim(uow_factory, 71, "d")  # the leases ran out: a dead worker's deliveries
        assert {d.id for d in again} == {first[0].id, second[0].id}

        async def stale_write(uow: UnitOfWork) -> tuple[bool, bool]:
            done = msgspec.structs.replace(again[0], status=DeliveryStatus.DELIVERED, lease_token=None)
            return (await uow.hook_deliveries.save(done, "a"), await uow.hook_deliveries.save(done, "d"))

        assert await in_uow(uow_factory, stale_write) == (False, True)

    runner.run(scenario())


def test_attempts_pages_and_replays(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        hook = await add_endpoint(uow_factory, owner.id)
        await end_job(uow_factory, owner.id)
        [leased] = await claim(uow_factory, 10)

        async def record(uow: UnitOfWork) -> None:
            for n in range(2):
                await uow.hook_deliveries.add_attempt(DeliveryAttempt(
                    id=new_id("at"), delivery_id=leased.id, attempted_at=at(10 + n), duration_ms=12,
                    status_code=500 if n == 0 else None, error=None if n == 0 else "timed out",
                    next_attempt_at=at(100)))
            await uow.hook_deliveries.add(msgspec.structs.replace(
                leased, id="replay-1", created_at=at(20), next_attempt_at=at(20), lease_token=None,
                replay_of=leased.id, payload='{"x":1}'))

        await in_uow(uow_factory, record)

        async def read(uow: UnitOfWork) -> tuple[list[str], list[str], list[DeliveryAttempt], WebhookDelivery | None]:
            first = await uow.hook_deliveries.page(hook.id, None, 1)
            assert first.next_cursor is not None
            from domain.pagination import decode_cursor
            after = decode_cursor(first.next_cursor)
            assert not isinstance(after, ValueError)
            rest = await uow.hook_deliveries.page(hook.id, after, 10)
            return ([d.id for d in first.items], [d.id for d in rest.items],
                    await uow.hook_deliveries.attempts([leased.id]), await uow.hook_deliveries.get("replay-1"))

        newest, older, attempts, replay = await in_uow(uow_factory, read)
        assert newest == ["replay-1"] and older == [leased.id]
        assert [(a.status_code, a.error) for a in attempts] == [(500, None), (None, "timed out")]
        assert replay is not None and replay.replay_of == leased.id and replay.payload == '{"x":1}'

    runner.run(scenario())


def test_failing_endpoints_are_disabled_once_after_the_grace(uow_factory: UnitOfWorkFactory,
                                                             runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        hook = await add_endpoint(uow_factory, owner.id)
        day = timedelta(hours=24)

        async def fail_at(seconds: float) -> bool:
            async def work(uow: UnitOfWork) -> bool:
                return await uow.hook_endpoints.record_failure(hook.id, at(seconds), at(seconds) - day, "down")
            return await in_uow(uow_factory, work)

        async def succeed() -> None:
            async def work(uow: UnitOfWork) -> None:
                await uow.hook_endpoints.record_success(hook.id)
            await in_uow(uow_factory, work)

        async def current() -> WebhookEndpoint:
            async def work(uow: UnitOfWork) -> WebhookEndpoint | None:
                return await uow.hook_endpoints.get(hook.id)
            found = await in_uow(uow_factory, work)
            assert found is not None
            return found

        assert not await fail_at(0)
        assert (await current()).failing_since == at(0)
        assert not await fail_at(3600)
        assert (await current()).failing_since == at(0)  # never moved later
        await succeed()
        assert (await current()).failing_since is None  # a success is a break
        assert not await fail_at(7200)
        assert not await fail_at(7200 + 86399)
        assert await fail_at(7200 + 86400)
        assert not await fail_at(7200 + 86401)  # disabled once
        disabled = await current()
        assert disabled.disabled_at == at(7200 + 86400) and disabled.disabled_reason == "down"
        await end_job(uow_factory, owner.id)
        assert await claim(uow_factory, 10) == []  # a disabled endpoint gets no deliveries

    runner.run(scenario())


def test_deleting_an_endpoint_takes_its_deliveries(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        hook = await add_endpoint(uow_factory, owner.id)
        await end_job(uow_factory, owner.id)

        async def work(uow: UnitOfWork) -> tuple[bool, bool]:
            return await uow.hook_endpoints.delete(hook.id), await uow.hook_endpoints.delete(hook.id)

        assert await in_uow(uow_factory, work) == (True, False)
        assert await claim(uow_factory, 10) == []

    runner.run(scenario())


def test_the_user_signing_key_is_made_once(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)

        async def key(candidate: str) -> str:
            async def work(uow: UnitOfWork) -> str:
                return await uow.hook_endpoints.signing_key(owner.id, candidate, T0)
            return await in_uow(uow_factory, work)

        assert await key("whsec_Zmlyc3RmaXJzdGZpcnN0") == "whsec_Zmlyc3RmaXJzdGZpcnN0"
        assert await key("whsec_c2Vjb25kc2Vjb25k") == "whsec_Zmlyc3RmaXJzdGZpcnN0"

    runner.run(scenario())


def test_the_outbox_costs_one_statement_and_only_when_a_job_ends(sql_uow_factory: SqlUnitOfWorkFactory,
                                                                  runner: asyncio.Runner) -> None:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    async def scenario() -> None:
        owner = await add_user(sql_uow_factory)
        await add_endpoint(sql_uow_factory, owner.id)
        await add_endpoint(sql_uow_factory, owner.id)
        created = job(owner.id)

        async def add(uow: UnitOfWork) -> None:
            assert await uow.jobs.add(created)

        await in_uow(sql_uow_factory, add)
        event.listen(sql_uow_factory.engine.sync_engine, "before_cursor_execute", count)
        try:
            renamed = msgspec.structs.replace(created, name="still pending")

            async def rename(uow: UnitOfWork) -> None:
                assert await uow.jobs.save(renamed, created.version)

            await in_uow(sql_uow_factory, rename)  # not an ending: no outbox statement
            ended = cancel(msgspec.structs.replace(renamed, version=created.version + 1), at(5)).unwrap()

            async def save(uow: UnitOfWork) -> None:
                assert await uow.jobs.save(ended, created.version + 1)

            await in_uow(sql_uow_factory, save)
        finally:
            event.remove(sql_uow_factory.engine.sync_engine, "before_cursor_execute", count)

    runner.run(scenario())
    writes = [s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "SELECT"))]
    assert len(writes) == 3, writes  # two job UPDATEs, and one INSERT ... SELECT for both endpoints
    assert "outbound_deliveries" not in writes[0] + writes[1] and "outbound_deliveries" in writes[2]
