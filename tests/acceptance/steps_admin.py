"""Administration: users' quotas, roles and activity, credit grants, the audit log, statistics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from pytest_bdd import then, when
from returns.result import Result

from application.accounts.admin import AccountPatch, CreateAccount, DeleteAccount, ListAccounts, UpdateAccount
from application.admin.audit_log import ListAudit
from application.admin.stats import ProviderReport, ProviderStats
from application.users.admin import GrantCredits, ListUsers, UpdateUser
from domain.audit import AuditEntry, AuditFilter
from domain.errors import DomainError
from domain.quotas import QuotaPatch
from tests.acceptance.steps_common import p
from tests.acceptance.support import account_labelled, actor, ok, user_named
from tests.support.seed import ActorStub
from tests.support.wiring import Wiring

Outcome = Result[Any, DomainError]

ADMIN_ACTIONS: dict[str, Callable[[Wiring, ActorStub], Awaitable[Outcome]]] = {
    "list the provider accounts": lambda w, a: w.get(ListAccounts)(a),
    "add a shared account": lambda w, a: w.get(CreateAccount)(a, provider_id="sim", label="mine", secret="k"),
    "change a shared account": lambda w, a: w.get(UpdateAccount)(a, "any", AccountPatch(priority=100)),
    "remove a shared account": lambda w, a: w.get(DeleteAccount)(a, "any"),
    "list the users": lambda w, a: w.get(ListUsers)(a),
    "raise her own daily limit": lambda w, a: w.get(UpdateUser)(
        a, a.user_id, quota=QuotaPatch(max_jobs_per_day=10_000)),
    "make herself an admin": lambda w, a: w.get(UpdateUser)(a, a.user_id, role="admin"),
    "grant herself credits": lambda w, a: w.get(GrantCredits)(a, a.user_id, 500),
    "read the audit log": lambda w, a: w.get(ListAudit)(a),
    "read the statistics": lambda w, a: w.get(ProviderStats)(a),
}


@when(p('"{user}" tries to {action}'), target_fixture="outcome")
def tries_to(runner: asyncio.Runner, wiring: Wiring, user: str, action: str) -> Outcome:
    async def attempt() -> Outcome:
        return await ADMIN_ACTIONS[action](wiring, await actor(wiring, user))

    return runner.run(attempt())


def _update_user(runner: asyncio.Runner, wiring: Wiring, admin: str, user: str, **changes: Any) -> Outcome:
    async def update() -> Outcome:
        target = await user_named(wiring, user)
        return await wiring.get(UpdateUser)(await actor(wiring, admin), target.id, **changes)

    return runner.run(update())


@when(p('"{admin}" sets the daily job limit of "{user}" to {n:d}'), target_fixture="outcome")
def sets_daily_limit(runner: asyncio.Runner, wiring: Wiring, admin: str, user: str, n: int) -> Outcome:
    return _update_user(runner, wiring, admin, user, quota=QuotaPatch(max_jobs_per_day=n))


@when(p('"{admin}" removes the daily job limit of "{user}"'), target_fixture="outcome")
def lifts_daily_limit(runner: asyncio.Runner, wiring: Wiring, admin: str, user: str) -> Outcome:
    return _update_user(runner, wiring, admin, user, quota=QuotaPatch(max_jobs_per_day=None))


@when(p('"{admin}" makes "{user}" an admin'), target_fixture="outcome")
def promotes(runner: asyncio.Runner, wiring: Wiring, admin: str, user: str) -> Outcome:
    return _update_user(runner, wiring, admin, user, role="admin")


@when(p('"{admin}" deactivates "{user}"'), target_fixture="outcome")
def deactivates(runner: asyncio.Runner, wiring: Wiring, admin: str, user: str) -> Outcome:
    return _update_user(runner, wiring, admin, user, is_active=False)


@when(p('"{admin}" grants "{user}" {n:d} credits'), target_fixture="outcome")
def grants(runner: asyncio.Runner, wiring: Wiring, admin: str, user: str, n: int) -> Outcome:
    async def grant() -> Outcome:
        target = await user_named(wiring, user)
        return await wiring.get(GrantCredits)(await actor(wiring, admin), target.id, n, "acceptance spec")

    return runner.run(grant())


# ---------------------------------------------------------------- the audit log


async def describe(w: Wiring, entry: AuditEntry) -> list[str]:
    """An entry as the audit table in a feature file shows it: who, action, about what."""
    async with w.ports.uow() as uow:
        who = await uow.users.get(entry.actor_id) if entry.actor_id else None
        if entry.resource_type == "user":
            user = await uow.users.get(entry.resource_id)
            about = user.username if user else "?"
        elif entry.resource_type == "account":
            account = await uow.accounts.get(entry.resource_id)
            about = account.label if account else "?"
        elif entry.resource_type == "job":
            job = await uow.jobs.get(entry.resource_id)
            about = (job.name or "?") if job else "?"
        else:
            about = entry.resource_id
    return [who.username if who else "system", entry.action, about]


async def audit_rows(w: Wiring, admin: str, where: AuditFilter | None = None) -> list[list[str]]:
    page = ok(await w.get(ListAudit)(await actor(w, admin), where, None, 100))
    return [await describe(w, entry) for entry in page.items]


@then(p('the audit log, as "{admin}" reads it, begins with'))
def audit_begins_with(runner: asyncio.Runner, wiring: Wiring, admin: str, datatable: list[list[str]]) -> None:
    header, *expected = datatable
    assert header == ["who", "did", "to"]
    assert runner.run(audit_rows(wiring, admin))[:len(expected)] == expected


@then(p('the audit log of "{who}", as "{admin}" reads it, holds only'))
def audit_of_actor(runner: asyncio.Runner, wiring: Wiring, who: str, admin: str,
                   datatable: list[list[str]]) -> None:
    header, *expected = datatable
    assert header == ["who", "did", "to"]
    someone = runner.run(user_named(wiring, who))
    assert runner.run(audit_rows(wiring, admin, AuditFilter(actor_id=someone.id))) == expected


# ---------------------------------------------------------------- statistics


def _report(runner: asyncio.Runner, wiring: Wiring, admin: str, provider_id: str) -> ProviderReport:
    async def read() -> ProviderReport:
        report = ok(await wiring.get(ProviderStats)(await actor(wiring, admin)))
        found: list[ProviderReport] = [r for r in report.providers if r.provider_id == provider_id]
        assert len(found) == 1
        return found[0]

    return runner.run(read())


@then(p('"{admin}" sees {completed:d} completed, {failed:d} failed, {processing:d} processing and '
        '{pending:d} pending jobs for provider "{provider_id}"'))
def stats_by_status(runner: asyncio.Runner, wiring: Wiring, admin: str, completed: int, failed: int,
                    processing: int, pending: int, provider_id: str) -> None:
    report = _report(runner, wiring, admin, provider_id)
    assert report.jobs_by_status == {"completed": completed, "failed": failed, "processing": processing,
                                     "pending": pending, "cancelled": 0}


@then(p('"{admin}" sees account "{label}" of provider "{provider_id}" with {successes:d} '
        'success{:Plural} and {failures:d} failure{:Plural}'))
def stats_of_account(runner: asyncio.Runner, wiring: Wiring, admin: str, label: str, provider_id: str,
                     successes: int, failures: int) -> None:
    report = _report(runner, wiring, admin, provider_id)
    account = runner.run(account_labelled(wiring, label))
    [stats] = [a for a in report.accounts if a.account_id == account.id]
    assert (stats.success_count, stats.failure_count) == (successes, failures)
    attempts = successes + failures
    assert stats.success_rate == (successes / attempts if attempts else None)
