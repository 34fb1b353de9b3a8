"""Bodies of the provider-account routes (admin pool and private accounts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from application.accounts.admin import AccountPatch, AccountView
from domain.accounts import AccountStatus
from entrypoints.http.schemas_common import In, utc, utc_or_none

Label = Annotated[str, Meta(max_length=100, examples=["sim pool 1"])]
Secret = Annotated[str, Meta(max_length=4096, description="the provider API key; never returned")]


class AccountIn(In, frozen=True):
    provider_id: Annotated[str, Meta(max_length=64, examples=["sim"])]
    label: Label
    secret: Secret
    credits: int = 0
    max_concurrent_jobs: int = 1
    priority: Annotated[int, Meta(description="-1000..1000, higher is picked first")] = 0


class AccountPatchIn(In, frozen=True):
    """Omitted fields keep their value."""

    label: Label | UnsetType = UNSET
    secret: Secret | UnsetType = UNSET
    status: Annotated[str, Meta(max_length=32, examples=["active"])] | UnsetType = UNSET
    priority: int | UnsetType = UNSET
    max_concurrent_jobs: int | UnsetType = UNSET

    def to_domain(self) -> AccountPatch:
        return AccountPatch(label=self.label, secret=self.secret, status=self.status, priority=self.priority,
                            max_concurrent_jobs=self.max_concurrent_jobs)


class AccountCreditsIn(In, frozen=True):
    amount: Annotated[int, Meta(description="non-zero; negative takes credits away", examples=[1000])]


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
