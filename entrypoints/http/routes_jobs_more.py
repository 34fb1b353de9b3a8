"""More job routes: retry, delete, submit in a batch; and the listing's time filters."""

from __future__ import annotations

import re
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any

from litestar import Request, Router, delete, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from returns.result import Failure

from application.auth.authenticate import Principal
from application.jobs.batch import CreateJobs
from application.jobs.manage import DeleteJob, RetryJob
from domain.errors import DomainError, validation
from entrypoints.http.deps import BEARER_SECURITY, doc, require_user, uses
from entrypoints.http.errors import Problem, ProblemException, ok, problem_type, problems, status_of
from entrypoints.http.schemas_common import fits_utc
from entrypoints.http.schemas_jobs import JobOut, job_out
from entrypoints.http.schemas_jobs_batch import BatchIn, BatchItemOut, BatchOut

# Litestar reads a date-time query leniently (`0.5` is a Unix time); the schema says RFC 3339.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")
NamePrefix = Annotated[str | None, QueryParameter(max_length=200, description="a prefix of the job's name")]
CreatedBound = Annotated[datetime | None, QueryParameter(
    description="RFC 3339; `created_after` is inclusive, `created_before` exclusive")]
IdempotencyKey = Annotated[str | None, HeaderParameter(
    name="Idempotency-Key", min_length=1, max_length=255, description="the same key gives the same job back")]
BatchKey = Annotated[str | None, HeaderParameter(
    name="Idempotency-Key", min_length=1, max_length=250,
    description="job `i` is submitted under `<key>.<i>`: the same batch again gives the same jobs back")]


def check_query_times(request: Request[Any, Any, Any], **moments: datetime | None) -> None:
    for name, moment in moments.items():
        if moment is not None and not RFC3339.fullmatch(request.query_params.get(name, "")):
            raise ProblemException(validation(f"{name} must be an RFC 3339 date-time with a time zone", name))
        if moment is not None and not fits_utc(moment):
            raise ProblemException(validation(f"{name} is out of range", name))


def problem_of(error: DomainError) -> Problem:
    status = status_of(error.code)
    return Problem(type=problem_type(error.code), title=HTTPStatus(status).phrase, status=status,
                   detail=error.detail, code=error.code, field=error.field)


@post("/{job_id:str}/retry", status_code=202, summary="Run a failed or cancelled job again", operation_id="retryJob",
      description=doc(RetryJob), dependencies=uses(retry_job=RetryJob),
      responses=problems(401, 402, 403, 404, 409, 422, 429))
async def retry(job_id: FromPath[str], principal: NamedDependency[Principal], retry_job: NamedDependency[RetryJob],
                idempotency_key: IdempotencyKey = None) -> JobOut:
    return job_out(ok(await retry_job(principal, job_id, idempotency_key)).job)


@delete("/{job_id:str}", status_code=204, summary="Delete a finished job", operation_id="deleteJob",
        description=doc(DeleteJob), dependencies=uses(delete_job=DeleteJob), responses=problems(401, 403, 404, 409))
async def remove(job_id: FromPath[str], principal: NamedDependency[Principal],
                 delete_job: NamedDependency[DeleteJob]) -> None:
    ok(await delete_job(principal, job_id))


@post("/batch", status_code=200, summary="Submit many jobs", operation_id="createJobBatch",
      description=doc(CreateJobs) + "\n\nThe answer is 200 with one item per job sent, in order: "
      "`status` 202 and the `job`, or the `problem` a single submission would have answered.",
      dependencies=uses(create_jobs=CreateJobs), responses=problems(401, 403, 422))
async def batch(data: JSONBody[BatchIn], principal: NamedDependency[Principal], create_jobs: NamedDependency[CreateJobs],
                idempotency_key: BatchKey = None) -> BatchOut:
    outcomes = ok(await create_jobs(principal, [job.to_request() for job in data.jobs], idempotency_key))
    items = [BatchItemOut(index=i, status=HTTPStatus.BAD_REQUEST, problem=problem_of(o.failure()))
             if isinstance(o, Failure) else BatchItemOut(index=i, status=202, job=job_out(o.unwrap().job))
             for i, o in enumerate(outcomes)]
    for item in items:
        if item.problem is not None:
            item.status = item.problem.status
    accepted = sum(1 for item in items if item.job is not None)
    return BatchOut(items=items, accepted=accepted, refused=len(items) - accepted)


router = Router(path="/v1/jobs", tags=["jobs"], guards=[require_user], security=BEARER_SECURITY,
                route_handlers=[retry, batch])
# DELETE /v1/jobs/{job_id} shares its path with GET: it is registered on routes_jobs' router.
