"""Users bring their own provider accounts, used for their jobs only (and first)."""

from __future__ import annotations

from returns.result import Failure, Result, Success

from application.accounts.admin import AccountView, build_account, view
from application.actor import Actor
from application.audit import AuditTrail
from domain.account_secrets import SecretValue
from domain.errors import DomainError, conflict, not_found, unauthenticated
from domain.ports import Clock, IdGenerator, ProviderRegistry, UnitOfWorkFactory
from domain.quotas import check_private_accounts


class AddPrivateAccount:
    """Add a private account of the caller's: only their jobs use it, before the shared pool.

    - At most `max_private_accounts` of the caller's quota (QUOTA_EXCEEDED).
    - The provider must be one this gateway offers; the same field rules as shared accounts
      (VALIDATION_ERROR). The secret is stored but never returned.
    """

    def __init__(self, uow: UnitOfWorkFactory, providers: ProviderRegistry, clock: Clock,
                 ids: IdGenerator, audit: AuditTrail) -> None:
        self._uow = uow
        self._providers = providers
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def __call__(self, actor: Actor, *, provider_id: str, label: str, secret: SecretValue, credits: int = 0,
                       max_concurrent_jobs: int = 1, priority: int = 0) -> Result[AccountView, DomainError]:
        built = build_account(self._providers, self._clock, self._ids, provider_id=provider_id, label=label,
                              secret=secret, credits=credits, max_concurrent_jobs=max_concurrent_jobs,
                              priority=priority, owner_user_id=actor.user_id)
        if isinstance(built, Failure):
            return Failure(built.failure())
        account = built.unwrap()
        async with self._uow() as uow:
            user = await uow.users.get(actor.user_id)
            if user is None:
                return Failure(unauthenticated())
            allowed = check_private_accounts(user.quota, await uow.accounts.count_owned(user.id))
            if isinstance(allowed, Failure):
                return Failure(allowed.failure())
            await uow.accounts.add(account)
            await self._audit.record(uow, actor.user_id, "account.create", "account", account.id,
                                     provider_id=provider_id, label=account.label, shared=False)
            await uow.commit()
        return Success(view(account))


class ListPrivateAccounts:
    """The caller's own private accounts, oldest first (never their secrets)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor) -> Result[list[AccountView], DomainError]:
        async with self._uow() as uow:
            accounts = await uow.accounts.find(owner_user_id=actor.user_id)
        return Success([view(a) for a in accounts])


class DeletePrivateAccount:
    """Remove one of the caller's private accounts.

    - Another user's account, or a shared one, is NOT_FOUND.
    - Refused with CONFLICT while jobs run on it.
    """

    def __init__(self, uow: UnitOfWorkFactory, audit: AuditTrail) -> None:
        self._uow = uow
        self._audit = audit

    async def __call__(self, actor: Actor, account_id: str) -> Result[None, DomainError]:
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
            if account is None or account.owner_user_id != actor.user_id:
                return Failure(not_found("account"))
            if account.current_jobs > 0:
                return Failure(conflict(f"{account.current_jobs} jobs run on this account now"))
            await uow.accounts.delete(account_id)
            await self._audit.record(uow, actor.user_id, "account.delete", "account", account_id,
                                     provider_id=account.provider_id, label=account.label)
            await uow.commit()
        return Success(None)
