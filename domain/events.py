"""Domain events: a tagged union, one Struct per event, tag = the event name."""

from __future__ import annotations

from datetime import datetime

import msgspec


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    job_id: str
    user_id: str
    at: datetime


class JobCreated(_Event, frozen=True, tag="job.created"):
    provider_id: str
    operation_type: str


class JobStarted(_Event, frozen=True, tag="job.started"):
    attempt: int


class AccountSelected(_Event, frozen=True, tag="account.selected"):
    account_id: str
    attempt: int


class ProviderSubmitted(_Event, frozen=True, tag="provider.submitted"):
    account_id: str
    provider_job_id: str


class ProviderCompleted(_Event, frozen=True, tag="provider.completed"):
    provider_job_id: str


class AssetCreated(_Event, frozen=True, tag="asset.created"):
    asset_id: str


class JobCompleted(_Event, frozen=True, tag="job.completed"):
    result_asset_ids: tuple[str, ...]


class JobRetrying(_Event, frozen=True, tag="job.retrying"):
    error_code: str
    attempt: int


class JobFailed(_Event, frozen=True, tag="job.failed"):
    error_code: str
    error_message: str


class JobCancelled(_Event, frozen=True, tag="job.cancelled"):
    pass


DomainEvent = (
    JobCreated | JobStarted | AccountSelected | ProviderSubmitted | ProviderCompleted
    | AssetCreated | JobCompleted | JobRetrying | JobFailed | JobCancelled
)

TERMINAL_EVENTS = (JobCompleted, JobFailed, JobCancelled)


def event_name(event: DomainEvent) -> str:
    return str(type(event).__struct_config__.tag)


def encode(event: DomainEvent) -> bytes:
    return msgspec.json.encode(event)


def decode(data: bytes) -> DomainEvent:
    event: DomainEvent = msgspec.json.decode(data, type=DomainEvent)
    return event
