"""Bodies of the batch submission route."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from application.jobs.batch import MAX_BATCH
from entrypoints.http.errors import Problem
from entrypoints.http.schemas_common import In
from entrypoints.http.schemas_jobs import JobIn, JobOut


class BatchIn(In, frozen=True):
    jobs: Annotated[list[JobIn], Meta(min_length=1, max_length=MAX_BATCH, examples=[[
        {"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "a red fox"}, "name": "fox"},
        {"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "a snow owl"}, "name": "owl"},
    ]])]


class BatchItemOut(msgspec.Struct, kw_only=True):
    """One job of the batch, in the order sent: `job` when accepted (status 202), else
    `problem`, the RFC 9457 problem a single submission would have answered."""

    index: int
    status: Annotated[int, Meta(examples=[202])]
    job: JobOut | None = None
    problem: Problem | None = None


class BatchOut(msgspec.Struct, kw_only=True):
    items: list[BatchItemOut]
    accepted: int
    refused: int
