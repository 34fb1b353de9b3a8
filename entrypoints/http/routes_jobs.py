"""Generation jobs: create, quote, read, list, cancel, and follow as server-sent events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody
from litestar.response import ServerSentEvent, ServerSentEventMessage
from returns.result import Failure

from application.auth.authenticate import Principal
from application.jobs.cancel import CancelJob
from application.jobs.create import CreateJob
from application.jobs.queries import GetJob, ListJobs
from application.jobs.quote import QuoteJob
from application.jobs.waiting import ShowJob
from domain.events import TERMINAL_EVENTS, DomainEvent, event_name
from domain.jobs import Job, JobStatus, OperationType
from domain.ports import EventBus
from entrypoints.http.deps import (
    BEARER_SECURITY,
    CHECKED_IN_STEP,
    doc,
    ports_of,
    require_user,
    uses,
    uses_after_caller,
)
from entrypoints.http.errors import ok, problems
from entrypoints.http.routes_jobs_more import CreatedBound, NamePrefix, check_query_times, remove
from entrypoints.http.schemas_jobs import (
    JobIn,
    JobList,
    JobOut,
    QuoteIn,
    QuoteOut,
    event_data,
    job_out,
    quote_out,
)

T = TypeVar("T")
HEARTBEAT_SECONDS = 15.0
STATUS_EVENT = "job.status"


@post("/", operation_id="createJob", status_code=202, summary="Submit a job", description=doc(CreateJob), opt=CHECKED_IN_STEP,
      dependencies=uses_after_caller(create_job=CreateJob), responses=problems(401, 402, 404, 409, 422, 429))
async def submit(data: JSONBody[JobIn], principal: NamedDependency[Principal], create_job: NamedDependency[CreateJob],
                 idempotency_key: Annotated[str | None, HeaderParameter(
                     name="Idempotency-Key", min_length=1, max_length=255,
                     description="the same key and body give the same job back")] = None,
                 ) -> JobOut:
    created = ok(await create_job(principal, data.to_request(), idempotency_key))
    return job_out(created.job)


@post("/quote", operation_id="quoteJob", status_code=200, summary="Price a job", description=doc(QuoteJob),
      dependencies=uses(quote_job=QuoteJob), responses=problems(401, 422))
async def quote(data: JSONBody[QuoteIn], quote_job: NamedDependency[QuoteJob]) -> QuoteOut:
    return quote_out(ok(await quote_job(data.to_request())))


@get("/", operation_id="listJobs", summary="My jobs", description=doc(ListJobs), dependencies=uses_after_caller(list_jobs=ListJobs),
     responses=problems(401, 422), opt=CHECKED_IN_STEP)
async def my_jobs(request: Request[Any, Any, Any], principal: NamedDependency[Principal],
                  list_jobs: NamedDependency[ListJobs],
                  status: FromQuery[JobStatus | None] = None, provider_id: FromQuery[str | None] = None,
                  operation_type: FromQuery[OperationType | None] = None,
                  workspace_id: FromQuery[str | None] = None, cursor: FromQuery[str | None] = None,
                  limit: FromQuery[int | None] = None, name: NamePrefix = None,
                  created_after: CreatedBound = None, created_before: CreatedBound = None) -> JobList:
    check_query_times(request, created_after=created_after, created_before=created_before)
    page = ok(await list_jobs(principal, status=status, provider_id=provider_id, operation_type=operation_type,
                              workspace_id=workspace_id, cursor=cursor, limit=limit, name=name,
                              created_after=created_after, created_before=created_before))
    return JobList(items=[job_out(j) for j in page.items], next_cursor=page.next_cursor)


@get("/{job_id:str}", operation_id="getJob", summary="One job", description=doc(ShowJob),
     dependencies=uses_after_caller(show_job=ShowJob), responses=problems(401, 404), opt=CHECKED_IN_STEP)
async def one_job(job_id: FromPath[str], principal: NamedDependency[Principal],
                  show_job: NamedDependency[ShowJob]) -> JobOut:
    job, waiting = ok(await show_job(principal, job_id))
    return job_out(job, waiting)


@post("/{job_id:str}/cancel", operation_id="cancelJob", status_code=200, summary="Cancel a job", description=doc(CancelJob),
      dependencies=uses(cancel_job=CancelJob), responses=problems(401, 404, 409))
async def cancel(job_id: FromPath[str], principal: NamedDependency[Principal],
                 cancel_job: NamedDependency[CancelJob]) -> JobOut:
    return job_out(ok(await cancel_job(principal, job_id)))


@get("/{job_id:str}/events", operation_id="streamJobEvents", summary="Follow a job", dependencies=uses(get_job=GetJob),
     responses=problems(401, 404), description=(
         "Server-sent events for one of the caller's jobs (another user's job is 404).\n\n"
         f"- The first event, `{STATUS_EVENT}`, is the job as it is now.\n"
         "- Then every event of the job as it happens (`job.started`, `account.selected`, "
         "`provider.submitted`, `asset.created`, `job.retrying`, ...).\n"
         "- The stream ends after `job.completed`, `job.failed` or `job.cancelled`, at once "
         "when the job has already ended; a comment line keeps idle connections alive."))
async def events(request: Request[Any, Any, Any], job_id: FromPath[str], principal: NamedDependency[Principal],
                 get_job: NamedDependency[GetJob]) -> ServerSentEvent:
    ok(await get_job(principal, job_id))  # 404 before the stream starts
    return ServerSentEvent(job_stream(ports_of(request).events, get_job, principal, job_id),
                           headers={"X-Accel-Buffering": "no"})  # proxies must not hold events back


async def job_stream(bus: EventBus, get_job: GetJob, principal: Principal, job_id: str,
                     heartbeat: float = HEARTBEAT_SECONDS) -> AsyncIterator[ServerSentEventMessage]:
    # Subscribe before reading the job, so nothing that happens in between is missed.
    async with bus.subscribe(job_id) as stream:
        found = await get_job(principal, job_id)
        if isinstance(found, Failure):
            return
        yield status_message(found.unwrap())
        if found.unwrap().is_terminal:
            return
        async for event in with_heartbeat(stream, heartbeat):
            if event is None:
                # Quiet for a while: the job is the truth, in case an event was lost.
                current = await get_job(principal, job_id)
                if isinstance(current, Failure) or current.unwrap().is_terminal:
                    if not isinstance(current, Failure):
                        yield status_message(current.unwrap())
                    return
                yield ServerSentEventMessage(comment="keep-alive")
                continue
            yield ServerSentEventMessage(event=event_name(event), data=msgspec.json.encode(event_data(event)))
            if isinstance(event, TERMINAL_EVENTS):
                return


def status_message(job: Job) -> ServerSentEventMessage:
    return ServerSentEventMessage(event=STATUS_EVENT, data=msgspec.json.encode(job_out(job)))


async def with_heartbeat(source: AsyncIterator[DomainEvent], seconds: float) -> AsyncIterator[DomainEvent | None]:
    """The source's items, and None after every `seconds` without one.

    The pending read is kept across timeouts rather than cancelled: cancelling it would
    close the source."""

    async def next_item() -> DomainEvent | None:
        return await anext(source, None)  # None: the source has ended

    pending: asyncio.Task[DomainEvent | None] | None = None
    try:
        while True:
            pending = pending or asyncio.ensure_future(next_item())
            done, _ = await asyncio.wait({pending}, timeout=seconds)
            if not done:
                yield None
                continue
            item, pending = pending.result(), None
            if item is None:
                return
            yield item
    finally:
        if pending is not None:
            pending.cancel()


router = Router(path="/v1/jobs", tags=["jobs"], guards=[require_user], security=BEARER_SECURITY,
                route_handlers=[submit, quote, my_jobs, one_job, cancel, events, remove])
