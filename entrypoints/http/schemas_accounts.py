"""Bodies of the provider-account routes (admin pool and private accounts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from application.accounts.admin import (
    LABEL_PATTERN,
    MAX_CREDITS,
    MAX_LABEL,
    MAX_SECRET,
    MAX_SLOTS,
    PRIORITY_RANGE,
    SECRET_PATTERN,
    AccountPatch,
    AccountView,
)
from domain.accounts import AccountStatus
from entrypoints.http.schemas_common import In, utc, utc_or_none

Label = Annotated[str, Meta(max_length=MAX_LABEL, pattern=LABEL_PATTERN, examples=["sim pool 1"],
                            description="not blank, no control or invisible characters; kept trimmed")]
Secret = Annotated[str, Meta(min_length=1, max_length=MAX_SECRET, pattern=SECRET_PATTERN,
                             description="the provider API key, without surrounding spaces; never returned")]
SecretFieldName = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
SecretFields = Annotated[dict[SecretFieldName, Secret], Meta(
    min_length=1, max_length=8, examples=[{"access_key": "AK...", "secret_key": "SK..."}],
    description="for a provider that signs with a key pair (kling: access_key and secret_key): its named "
                "fields; sealed at rest, never returned")]
Credits = Annotated[int, Meta(ge=0, le=MAX_CREDITS)]
Slots = Annotated[int, Meta(ge=1, le=MAX_SLOTS)]
Priority = Annotated[int, Meta(ge=PRIORITY_RANGE.start, le=PRIORITY_RANGE.stop - 1,
                               description="higher is picked first")]
SettableStatus = Literal["active", "disabled", "exhausted"]


class AccountIn(In, frozen=True):
    provider_id: Annotated[str, Meta(max_length=64, examples=["sim"])]
    label: Label
    secret: Secret | SecretFields
    credits: Credits = 0
    max_concurrent_jobs: Slots = 1
    priority: Priority = 0


class AccountPatchIn(In, frozen=True):
    """Omitted fields keep their value."""

    label: Label | UnsetType = UNSET
    secret: Secret | SecretFields | UnsetType = UNSET
    status: SettableStatus | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    max_concurrent_jobs: Slots | UnsetType = UNSET

    def to_domain(self) -> AccountPatch:
        return AccountPatch(label=self.label, secret=self.secret, status=self.status, priority=self.priority,
                            max_concurrent_jobs=self.max_concurrent_jobs)


class AccountCreditsIn(In, frozen=True):
    amount: Annotated[int, Meta(ge=-MAX_CREDITS, le=MAX_CREDITS, extra_json_schema={"not": {"const": 0}},
                                description="non-zero; negative takes credits away", examples=[1000])]


class AccountOut(msgspec.Struct, kw_only=True):
    id: str
    provider_id: str
    label: str
    owner_user_id: str | None  # null: the shared pool
    status: AccountStatus
    credits: int
    priority: int
    max_concurrent_jobs: int
    current_jobs: int
    cooldown_until: datetime | None
    success_count: int
    failure_count: int
    consecutive_failures: int
    last_used_at: datetime | None
    avg_generation_seconds: float | None
    created_at: datetime


class AccountList(msgspec.Struct, kw_only=True):
    items: list[AccountOut]
    next_cursor: str | None = None


def account_out(view: AccountView) -> AccountOut:
    return AccountOut(
        id=view.id, provider_id=view.provider_id, label=view.label, owner_user_id=view.owner_user_id,
        status=view.status, credits=view.credits, priority=view.priority,
        max_concurrent_jobs=view.max_concurrent_jobs, current_jobs=view.current_jobs,
        cooldown_until=utc_or_none(view.cooldown_until), success_count=view.success_count,
        failure_count=view.failure_count, consecutive_failures=view.consecutive_failures,
        last_used_at=utc_or_none(view.last_used_at), avg_generation_seconds=view.avg_generation_seconds,
        created_at=utc(view.created_at),
    )
