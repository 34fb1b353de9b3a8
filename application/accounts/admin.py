"""Admins manage the pool of provider accounts."""

from __future__ import annotations

import re
from datetime import datetime

import msgspec
from returns.result import Failure, Result, Success

from application.actor import Actor
from application.audit import AuditTrail
from domain.account_secrets import SecretValue, check_secret_value
from domain.accounts import AccountStatus, ProviderAccount
from domain.errors import DomainError, conflict, forbidden, not_found, validation
from domain.ports import Clock, IdGenerator, ProviderRegistry, UnitOfWorkFactory
from domain.users import WHITESPACE

MAX_LABEL, MAX_SECRET = 100, 4096
MAX_CREDITS = 10**12
MAX_SLOTS = 10_000
PRIORITY_RANGE = range(-1000, 1001)
ADMIN_SETTABLE = frozenset({AccountStatus.ACTIVE, AccountStatus.DISABLED, AccountStatus.EXHAUSTED})
# Control and invisible formatting characters of the Basic Multilingual Plane (Unicode Cc, Cf,
# Zl, Zp), as escapes every regex engine reads alike: the API schema states the same patterns
# (JSON bodies cannot carry lone surrogates: the decoder refuses them). `(?!\n)$` is the end of the text, also for Python, whose `$` matches before a
# final newline.
HIDDEN_CHARACTERS = r"\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
LABEL_PATTERN = rf"^[^{HIDDEN_CHARACTERS}]*[^{WHITESPACE}{HIDDEN_CHARACTERS}][^{HIDDEN_CHARACTERS}]*(?!\n)$"
SECRET_PATTERN = rf"^[^{WHITESPACE}](?:[\s\S]*[^{WHITESPACE}])?(?!\n)$"
LABEL_RE = re.compile(LABEL_PATTERN)


class AccountView(msgspec.Struct, frozen=True, kw_only=True):
    """An account as anyone outside the pipeline sees it: never with its secret."""

    id: str
    provider_id: str
    label: str
    owner_user_id: str | None
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


def view(account: ProviderAccount) -> AccountView:
    return AccountView(
        id=account.id, provider_id=account.provider_id, label=account.label,
        owner_user_id=account.owner_user_id, status=account.status, credits=account.credits,
        priority=account.priority, max_concurrent_jobs=account.max_concurrent_jobs,
        current_jobs=account.current_jobs, cooldown_until=account.cooldown_until,
        success_count=account.success_count, failure_count=account.failure_count,
        consecutive_failures=account.consecutive_failures, last_used_at=account.last_used_at,
        avg_generation_seconds=account.avg_generation_seconds, created_at=account.created_at,
    )


# ---------------------------------------------------------------- field rules (shared with private.py)


def check_label(label: str) -> Result[str, DomainError]:
    """Up to MAX_LABEL characters, not all blank, no control or invisible ones; kept trimmed."""
    if len(label) <= MAX_LABEL and LABEL_RE.match(label):
        return Success(label.strip())
    return Failure(validation(f"label must be 1-{MAX_LABEL} visible characters", "label"))


def check_secret(secret: str) -> Result[str, DomainError]:
    if 1 <= len(secret) <= MAX_SECRET and secret.strip() == secret:
        return Success(secret)
    return Failure(validation(f"secret must be 1-{MAX_SECRET} characters without surrounding spaces",
                              "secret"))


def check_account_secret(providers: ProviderRegistry, provider_id: str,
                         secret: SecretValue) -> Result[str, DomainError]:
    """The secret as stored: one string, or the named fields the provider's secret has."""
    if isinstance(secret, str):
        plain = check_secret(secret)
        if isinstance(plain, Failure):
            return plain
    client = providers.get(provider_id)
    return check_secret_value(provider_id, client.info.secret_fields if client else (), secret)


def check_account_priority(priority: int) -> Result[int, DomainError]:
    """An account's priority: the higher, the sooner it is chosen (a job's priority is the
    other way round: 0 runs first, see `domain.jobs.check_priority`)."""
    if priority in PRIORITY_RANGE:
        return Success(priority)
    return Failure(validation(f"priority must be within {PRIORITY_RANGE.start}..{PRIORITY_RANGE.stop - 1}",
                              "priority"))


def check_slots(max_concurrent_jobs: int) -> Result[int, DomainError]:
    if 1 <= max_concurrent_jobs <= MAX_SLOTS:
        return Success(max_concurrent_jobs)
    return Failure(validation(f"max_concurrent_jobs must be within 1..{MAX_SLOTS}", "max_concurrent_jobs"))


def check_credits(credits: int) -> Result[int, DomainError]:
    if 0 <= credits <= MAX_CREDITS:
        return Success(credits)
    return Failure(validation(f"credits must be within 0..{MAX_CREDITS}", "credits"))


def first_failure(*checks: Result[object, DomainError]) -> DomainError | None:
    for check in checks:
        if isinstance(check, Failure):
            error: DomainError = check.failure()
            return error
    return None


def build_account(providers: ProviderRegistry, clock: Clock, ids: IdGenerator, *, provider_id: str,
                  label: str, secret: SecretValue, credits: int, max_concurrent_jobs: int, priority: int,
                  owner_user_id: str | None) -> Result[ProviderAccount, DomainError]:
    """A new account after every field rule; the provider must be one this gateway offers."""
    if providers.get(provider_id) is None:
        return Failure(validation(f"unknown provider {provider_id}", "provider_id"))
    stored = check_account_secret(providers, provider_id, secret)
    error = first_failure(check_label(label), stored, check_credits(credits),
                          check_slots(max_concurrent_jobs), check_account_priority(priority))
    if error is not None:
        return Failure(error)
    return Success(ProviderAccount(
        id=ids.new_id(), provider_id=provider_id, label=label.strip(), secret=stored.unwrap(),
        created_at=clock.now(), owner_user_id=owner_user_id, credits=credits,
        max_concurrent_jobs=max_concurrent_jobs, priority=priority,
    ))


# ---------------------------------------------------------------- use cases


class CreateAccount:
    """Add an account to a provider's shared pool (admin only, else FORBIDDEN).

    - The provider must be one this gateway offers (VALIDATION_ERROR otherwise).
    - label 1-100 characters, secret 1-4096, credits >= 0, max_concurrent_jobs >= 1,
      priority -1000..1000 (higher is picked first).
    - The secret is one string, or for a provider that signs with a key pair (Kling) an object
      with exactly its named fields (e.g. access_key and secret_key), each 1-4096 characters.
    - The secret is sealed at rest and never returned; the account starts active.
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
        if not actor.is_admin:
            return Failure(forbidden())
        built = build_account(self._providers, self._clock, self._ids, provider_id=provider_id, label=label,
                              secret=secret, credits=credits, max_concurrent_jobs=max_concurrent_jobs,
                              priority=priority, owner_user_id=None)
        if isinstance(built, Failure):
            return Failure(built.failure())
        account = built.unwrap()
        async with self._uow() as uow:
            await uow.accounts.add(account)
            await self._audit.record(uow, actor.user_id, "account.create", "account", account.id,
                                     provider_id=provider_id, label=account.label, shared=True)
            await uow.commit()
        return Success(view(account))


class ListAccounts:
    """Every provider account, shared and private, oldest first (admin only, else FORBIDDEN).
    Optional filter: provider_id."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, provider_id: str | None = None) -> Result[list[AccountView], DomainError]:
        if not actor.is_admin:
            return Failure(forbidden())
        async with self._uow() as uow:
            accounts = await uow.accounts.find(provider_id=provider_id)
        return Success([view(a) for a in accounts])


class GetAccount:
    """One provider account (admin only, else FORBIDDEN; NOT_FOUND when absent)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, account_id: str) -> Result[AccountView, DomainError]:
        if not actor.is_admin:
            return Failure(forbidden())
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
        return Success(view(account)) if account is not None else Failure(not_found("account"))


class AccountPatch(msgspec.Struct, frozen=True, kw_only=True):
    """Fields left UNSET keep their value."""

    label: str | msgspec.UnsetType = msgspec.UNSET
    secret: str | dict[str, str] | msgspec.UnsetType = msgspec.UNSET
    status: str | msgspec.UnsetType = msgspec.UNSET
    priority: int | msgspec.UnsetType = msgspec.UNSET
    max_concurrent_jobs: int | msgspec.UnsetType = msgspec.UNSET


class UpdateAccount:
    """Change an account's label, secret, status, priority or max_concurrent_jobs (admin only).

    - Status may be set to active, disabled or exhausted (cooling_down is the pipeline's);
      setting it active ends any cooldown at once.
    - max_concurrent_jobs may not go below the jobs running on it now (CONFLICT).
    - The same field rules as on creation (VALIDATION_ERROR), the secret's shape by the
      account's provider; NOT_FOUND when absent.
    """

    def __init__(self, uow: UnitOfWorkFactory, providers: ProviderRegistry, audit: AuditTrail) -> None:
        self._uow = uow
        self._providers = providers
        self._audit = audit

    async def __call__(self, actor: Actor, account_id: str, patch: AccountPatch) -> Result[AccountView, DomainError]:
        if not actor.is_admin:
            return Failure(forbidden())
        changes = checked_changes(patch)
        if isinstance(changes, Failure):
            return Failure(changes.failure())
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
            if account is None:
                return Failure(not_found("account"))
            fields = changes.unwrap()
            if not isinstance(patch.secret, msgspec.UnsetType):
                stored = check_account_secret(self._providers, account.provider_id, patch.secret)
                if isinstance(stored, Failure):
                    return Failure(stored.failure())
                fields["secret"] = stored.unwrap()
            if not fields:
                return Success(view(account))  # nothing to change, nothing to record
            slots = fields.get("max_concurrent_jobs", account.max_concurrent_jobs)
            if isinstance(slots, int) and slots < account.current_jobs:
                return Failure(conflict(
                    f"{account.current_jobs} jobs run on this account now; max_concurrent_jobs "
                    f"cannot go below that"))
            if fields.get("status") is AccountStatus.ACTIVE:
                fields["cooldown_until"] = None
            updated = msgspec.structs.replace(account, **fields)
            await uow.accounts.update(updated)
            await self._audit.record(uow, actor.user_id, "account.update", "account", account.id,
                                     fields=sorted(n for n in fields if n != "cooldown_until"))
            await uow.commit()
        return Success(view(updated))


def checked_changes(patch: AccountPatch) -> Result[dict[str, object], DomainError]:
    """The set fields of the patch, each after its rule."""
    changes: dict[str, object] = {}
    checks: list[Result[object, DomainError]] = []
    if not isinstance(patch.label, msgspec.UnsetType):
        checks.append(check_label(patch.label))
        changes["label"] = patch.label.strip()
    if isinstance(patch.secret, str):  # its shape is checked against the account's provider
        checks.append(check_secret(patch.secret))
    if not isinstance(patch.priority, msgspec.UnsetType):
        checks.append(check_account_priority(patch.priority))
        changes["priority"] = patch.priority
    if not isinstance(patch.max_concurrent_jobs, msgspec.UnsetType):
        checks.append(check_slots(patch.max_concurrent_jobs))
        changes["max_concurrent_jobs"] = patch.max_concurrent_jobs
    if not isinstance(patch.status, msgspec.UnsetType):
        if patch.status not in ADMIN_SETTABLE:
            return Failure(validation("status must be active, disabled or exhausted", "status"))
        changes["status"] = AccountStatus(patch.status)
    error = first_failure(*checks)
    return Failure(error) if error is not None else Success(changes)


class DeleteAccount:
    """Remove a provider account (admin only, else FORBIDDEN).

    - Refused with CONFLICT while jobs run on it; NOT_FOUND when absent.
    """

    def __init__(self, uow: UnitOfWorkFactory, audit: AuditTrail) -> None:
        self._uow = uow
        self._audit = audit

    async def __call__(self, actor: Actor, account_id: str) -> Result[None, DomainError]:
        if not actor.is_admin:
            return Failure(forbidden())
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
            if account is None:
                return Failure(not_found("account"))
            if account.current_jobs > 0:
                return Failure(conflict(f"{account.current_jobs} jobs run on this account now"))
            await uow.accounts.delete(account_id)
            await self._audit.record(uow, actor.user_id, "account.delete", "account", account_id,
                                     provider_id=account.provider_id, label=account.label)
            await uow.commit()
        return Success(None)


class AddAccountCredits:
    """Add credits to (or, with a negative amount, take them from) an account (admin only).

    - The amount is a non-zero integer; the balance never goes below zero (VALIDATION_ERROR).
    - NOT_FOUND when the account is absent.
    """

    def __init__(self, uow: UnitOfWorkFactory, audit: AuditTrail) -> None:
        self._uow = uow
        self._audit = audit

    async def __call__(self, actor: Actor, account_id: str, amount: int) -> Result[AccountView, DomainError]:
        if not actor.is_admin:
            return Failure(forbidden())
        if amount == 0 or abs(amount) > MAX_CREDITS:
            return Failure(validation(f"amount must be a non-zero integer within ±{MAX_CREDITS}", "amount"))
        async with self._uow() as uow:
            if await uow.accounts.get(account_id) is None:
                return Failure(not_found("account"))
            updated = await uow.accounts.try_add_credits(account_id, amount)
            if updated is None:
                return Failure(validation("the account's credits cannot go below zero", "amount"))
            await self._audit.record(uow, actor.user_id, "account.credits", "account", account_id,
                                     amount=amount, balance=updated.credits)
            await uow.commit()
        return Success(view(updated))
