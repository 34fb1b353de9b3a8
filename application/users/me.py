"""A user's own profile: quota, today's usage and credits."""

from __future__ import annotations

from datetime import date, datetime

import msgspec
from returns.result import Failure, Result, Success

from application.actor import refused
from domain.clock import utc_day
from domain.credentials import Credential
from domain.errors import DomainError
from domain.ports import Clock, Standing, UnitOfWork, UnitOfWorkFactory
from domain.quotas import QuotaPolicy
from domain.users import Role, User


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """Today's counters (UTC day; they start from zero at 00:00 UTC) and the running totals."""

    day: date
    jobs_created: int
    jobs_completed: int
    assets_created: int
    credits_spent: int
    bytes_stored: int
    storage_bytes: int
    running_jobs: int


class Profile(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    email: str
    username: str
    role: Role
    is_active: bool
    quota: QuotaPolicy
    usage: Usage
    credits: int  # spendable: open holds are not included
    credits_held: int
    created_at: datetime


async def load_profile(uow: UnitOfWork, user: User, now: datetime) -> Profile:
    return profile_of(Standing(user=user, today=await uow.usage.get(user.id, utc_day(now)),
                               balance=await uow.ledger.balance(user.id)))


def profile_of(standing: Standing) -> Profile:
    user, today, balance = standing.user, standing.today, standing.balance
    usage = Usage(
        day=today.day, jobs_created=today.jobs_created, jobs_completed=today.jobs_completed,
        assets_created=today.assets_created, credits_spent=today.credits_spent,
        bytes_stored=today.bytes_stored, storage_bytes=user.storage_bytes, running_jobs=user.running_jobs,
    )
    return Profile(
        id=user.id, email=user.email, username=user.username, role=user.role, is_active=user.is_active,
        quota=user.quota, usage=usage, credits=balance.available, credits_held=balance.held,
        created_at=user.created_at,
    )


class GetProfile:
    """The caller's profile.

    - `quota` is the caller's policy (null limits are unlimited).
    - `usage` counts today's UTC day, plus the bytes stored and jobs running now.
    - `credits` is the spendable balance; credits held for unfinished jobs are apart.
    - The caller's credential is checked in the same read (one step, one round trip).
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, user_id: str, credential: Credential | None = None) -> Result[Profile, DomainError]:
        credential = credential or Credential.of_user(user_id)
        found = await self._uow.read_standing(credential, self._clock.now())
        if not found.granted or found.value is None:
            return Failure(refused(credential))
        return Success(profile_of(found.value))
