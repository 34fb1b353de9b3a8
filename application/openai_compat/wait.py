"""Wait for a job to end, by its events, for at most a while."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from returns.result import Failure, Result, Success

from application.actor import Actor
from application.jobs.queries import GetJob
from domain.errors import DomainError
from domain.events import TERMINAL_EVENTS, DomainEvent
from domain.jobs import Job
from domain.ports import EventBus


class AwaitJob:
    """One of the caller's jobs once it has ended, or as it is when `seconds` have passed.

    - Woken by the job's own events (the event bus): the job is read again on its terminal
      event, and at the latest `recheck_seconds` after the last read (an event may be lost:
      the job is the truth). No tight polling: at most one read per `recheck_seconds`
      besides the terminal event's.
    - Another user's job is NOT_FOUND.
    """

    def __init__(self, get_job: GetJob, events: EventBus) -> None:
        self._get_job = get_job
        self._events = events

    async def __call__(self, actor: Actor, job_id: str, seconds: float,
                       recheck_seconds: float = 1.0) -> Result[Job, DomainError]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, seconds)
        # Subscribe before reading the job, so nothing that happens in between is missed.
        async with self._events.subscribe(job_id) as stream:
            pending: asyncio.Task[DomainEvent | None] | None = None
            try:
                while True:
                    found = await self._get_job(actor, job_id)
                    if isinstance(found, Failure) or found.unwrap().is_terminal:
                        return found
                    if loop.time() >= deadline:
                        return Success(found.unwrap())
                    recheck_at = min(deadline, loop.time() + recheck_seconds)
                    pending = await _until_terminal(stream, pending, recheck_at)
            finally:
                if pending is not None:
                    pending.cancel()


async def _until_terminal(stream: AsyncIterator[DomainEvent], pending: asyncio.Task[DomainEvent | None] | None,
                          until: float) -> asyncio.Task[DomainEvent | None] | None:
    """Read events until a terminal one, the stream's end or the time `until`; the read
    still pending then (kept, not cancelled: cancelling it would close the stream)."""
    loop = asyncio.get_running_loop()
    while (left := until - loop.time()) > 0:
        pending = pending or asyncio.ensure_future(_next(stream))
        done, _ = await asyncio.wait({pending}, timeout=left)
        if not done:
            return pending
        event, pending = pending.result(), None
        if event is None:  # the stream is over: only rechecks are left
            await asyncio.sleep(left)
            return None
        if isinstance(event, TERMINAL_EVENTS):
            return None
    return pending


async def _next(stream: AsyncIterator[DomainEvent]) -> DomainEvent | None:
    return await anext(stream, None)
