"""The job event stream on its own: keep-alives, and the job as the truth when events are lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

from adapters.memory.event_bus import InMemoryEventBus
from application.auth.authenticate import Principal
from application.jobs.cancel import CancelJob
from application.jobs.create import CreateJob, JobRequest
from application.jobs.queries import GetJob
from domain.events import DomainEvent, JobStarted
from domain.users import Role, Session
from entrypoints.http.routes_jobs import job_stream, with_heartbeat
from tests.support.seed import add_user
from tests.support.wiring import memory_wiring


def test_heartbeats_fill_silences_without_losing_the_next_item() -> None:
    event = JobStarted(job_id="j", user_id="u", at=memory_wiring().clock.now(), attempt=1)

    async def slow() -> AsyncIterator[DomainEvent]:
        await asyncio.sleep(0.05)
        yield event

    async def scenario() -> list[DomainEvent | None]:
        return [item async for item in with_heartbeat(slow(), 0.01)]

    items = asyncio.run(scenario())
    assert items[-1] == event and len(items) >= 3 and set(items[:-1]) == {None}


def test_a_quiet_stream_rechecks_the_job_and_ends_when_it_is_over() -> None:
    async def scenario() -> None:
        w = memory_wiring()
        alice = await add_user(w)
        created = await w.get(CreateJob)(alice, JobRequest(provider_id="sim", operation_type="text_to_image",
                                                           params={"prompt": "x"}))
        job = created.unwrap().job
        now = w.clock.now()
        async with w.ports.uow() as uow:  # a live session: each re-check checks it too
            await uow.sessions.add(Session(id="session", user_id=alice.user_id, refresh_hash="h", created_at=now,
                                           expires_at=now + timedelta(days=1), last_used_at=now))
            await uow.commit()
        principal = Principal(alice.user_id, "session", Role.USER)
        silent = InMemoryEventBus()  # the cancel publishes elsewhere: to this stream, events are lost
        stream = job_stream(silent, w.get(GetJob), principal, job.id, heartbeat=0.01)
        messages = [await anext(stream), await anext(stream)]
        await w.get(CancelJob)(alice, job.id)
        messages += [message async for message in stream]
        assert messages[0].event == "job.status" and b'"pending"' in messages[0].data  # type: ignore[operator]
        assert messages[1].comment == "keep-alive"
        assert messages[-1].event == "job.status" and b'"cancelled"' in messages[-1].data  # type: ignore[operator]
        assert silent.subscriber_count(job.id) == 0

    asyncio.run(scenario())
