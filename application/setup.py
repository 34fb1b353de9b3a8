"""What a fresh installation needs before its first request: an admin and an account pool."""

from __future__ import annotations

import msgspec
from returns.result import Failure, Result, Success

from application.bootstrap_admin import EnsureAdmin
from domain.accounts import ProviderAccount
from domain.errors import DomainError
from domain.ports import Clock, IdGenerator, RandomSource, UnitOfWorkFactory

GENERATED_ADMIN_EMAIL = "admin@pixrelay.local"


class SetupReport(msgspec.Struct, frozen=True, kw_only=True):
    admin_email: str | None = None
    generated_password: str | None = None  # shown once: only when generated on this start
    accounts_created: int = 0


class FirstRunSetup:
    """Prepare an installation; safe to run on every start.

    - A configured admin (email + password) is created when absent.
    - With no admin configured and no user at all, an admin with a generated password is
      created and its credentials are answered once, to be printed at first start.
    - A provider given a pool size gets that many shared accounts when it has none.
    """

    def __init__(self, uow: UnitOfWorkFactory, ensure_admin: EnsureAdmin, clock: Clock, ids: IdGenerator,
                 random: RandomSource) -> None:
        self._uow = uow
        self._ensure_admin = ensure_admin
        self._clock = clock
        self._ids = ids
        self._random = random

    async def __call__(self, *, admin_email: str | None, admin_password: str | None,
                       pools: dict[str, int], pool_credits: int = 1_000_000,
                       pool_concurrency: int = 4) -> Result[SetupReport, DomainError]:
        report = SetupReport()
        if admin_email and admin_password:
            ensured = await self._ensure_admin(admin_email, admin_password)
            if isinstance(ensured, Failure):
                return Failure(ensured.failure())
            report = SetupReport(admin_email=admin_email)
        else:
            async with self._uow() as uow:
                empty = await uow.users.count() == 0
            if empty:
                password = self._random.token(18)
                ensured = await self._ensure_admin(GENERATED_ADMIN_EMAIL, password)
                if isinstance(ensured, Failure):
                    return Failure(ensured.failure())
                report = SetupReport(admin_email=GENERATED_ADMIN_EMAIL, generated_password=password)
        created = 0
        for provider_id, size in pools.items():
            created += await self._ensure_pool(provider_id, size, pool_credits, pool_concurrency)
        return Success(msgspec.structs.replace(report, accounts_created=created))

    async def _ensure_pool(self, provider_id: str, size: int, credits: int, concurrency: int) -> int:
        async with self._uow() as uow:
            if await uow.accounts.find(provider_id, shared_only=True):
                return 0
            for number in range(1, size + 1):
                await uow.accounts.add(ProviderAccount(
                    id=self._ids.new_id(), provider_id=provider_id, label=f"{provider_id}-pool-{number}",
                    secret=f"{provider_id}-key-{self._random.token(12)}", created_at=self._clock.now(),
                    credits=credits, max_concurrent_jobs=concurrency))
            await uow.commit()
        return size
