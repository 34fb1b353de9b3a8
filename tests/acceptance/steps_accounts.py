"""Provider accounts: their state as the pipeline leaves it, and managing them."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from pytest_bdd import given, then, when
from returns.result import Result

from application.accounts.admin import (
    AccountPatch,
    AddAccountCredits,
    CreateAccount,
    DeleteAccount,
    GetAccount,
    ListAccounts,
    UpdateAccount,
)
from application.accounts.private import AddPrivateAccount, DeletePrivateAccount, ListPrivateAccounts
from application.admin.audit_log import ListAudit
from domain.accounts import AccountStatus
from domain.errors import DomainError
from tests.acceptance.steps_common import p
from tests.acceptance.support import account_labelled, actor, find_account, ok
from tests.support.wiring import Wiring

Outcome = Result[Any, DomainError]


# ---------------------------------------------------------------- state


@then(p('account "{label}" is {status:AccountStatus}'))
def account_status(runner: asyncio.Runner, wiring: Wiring, label: str, status: AccountStatus) -> None:
    account = runner.run(account_labelled(wiring, label))
    assert account.status is status, account
    if status is AccountStatus.COOLING_DOWN:
        assert account.cooldown_until is not None and account.cooldown_until > wiring.clock.now()


@then(p("accounts {labels:Names} are {status:AccountStatus}"))
def accounts_status(runner: asyncio.Runner, wiring: Wiring, labels: list[str], status: AccountStatus) -> None:
    for label in labels:
        account_status(runner, wiring, label, status)


@then(p('account "{label}" has {n:d} job{:Plural} running'))
def account_running(runner: asyncio.Runner, wiring: Wiring, label: str, n: int) -> None:
    assert runner.run(account_labelled(wiring, label)).current_jobs == n


@then(p('account "{label}" has {n:d} credits'))
def account_credits(runner: asyncio.Runner, wiring: Wiring, label: str, n: int) -> None:
    assert runner.run(account_labelled(wiring, label)).credits == n


@then(p('account "{label}" has priority {priority:d} and room for {n:d} jobs at a time'))
def account_settings(runner: asyncio.Runner, wiring: Wiring, label: str, priority: int, n: int) -> None:
    account = runner.run(account_labelled(wiring, label))
    assert (account.priority, account.max_concurrent_jobs) == (priority, n)


@then(p('account "{label}" no longer exists'))
def account_gone(runner: asyncio.Runner, wiring: Wiring, label: str) -> None:
    assert runner.run(find_account(wiring, label)) is None


# ---------------------------------------------------------------- admins manage the shared pool


@when(p('"{admin}" adds a shared account "{label}" with the secret "{secret}" and {credits:d} credits'),
      target_fixture="outcome")
def admin_adds(runner: asyncio.Runner, wiring: Wiring, admin: str, label: str, secret: str,
               credits: int) -> Outcome:
    async def add() -> Outcome:
        return await wiring.get(CreateAccount)(await actor(wiring, admin), provider_id="sim", label=label,
                                               secret=secret, credits=credits, max_concurrent_jobs=2)

    return runner.run(add())


@then(p('"{admin}" sees account "{label}" as {status:AccountStatus} with {credits:d} credits'))
def admin_sees(runner: asyncio.Runner, wiring: Wiring, admin: str, label: str, status: AccountStatus,
               credits: int) -> None:
    listed = ok(runner.run(wiring.get(ListAccounts)(runner.run(actor(wiring, admin)), "sim")))
    assert [(a.status, a.credits, a.owner_user_id) for a in listed if a.label == label] == [
        (status, credits, None)]


@then(p('the secret "{secret}" appears nowhere in what "{admin}" sees'))
def secret_hidden(runner: asyncio.Runner, wiring: Wiring, secret: str, admin: str) -> None:
    async def everything() -> bytes:
        who = await actor(wiring, admin)
        listed = ok(await wiring.get(ListAccounts)(who))
        one = [ok(await wiring.get(GetAccount)(who, a.id)) for a in listed]
        audit = ok(await wiring.get(ListAudit)(who))
        return msgspec.json.encode([listed, one, audit.items])

    seen = runner.run(everything())
    assert secret.encode() not in seen and b'"secret"' not in seen
    assert b'"label"' in seen  # the accounts were there to look at


def _update(runner: asyncio.Runner, wiring: Wiring, admin: str, label: str, patch: AccountPatch) -> Outcome:
    async def update() -> Outcome:
        account = await account_labelled(wiring, label)
        return await wiring.get(UpdateAccount)(await actor(wiring, admin), account.id, patch)

    return runner.run(update())


@when(p('"{admin}" changes account "{label}" to priority {priority:d} and room for {n:d} jobs at a time'),
      target_fixture="outcome")
def admin_changes(runner: asyncio.Runner, wiring: Wiring, admin: str, label: str, priority: int,
                  n: int) -> Outcome:
    return _update(runner, wiring, admin, label, AccountPatch(priority=priority, max_concurrent_jobs=n))


@when(p('"{admin}" sets account "{label}" to {status:AccountStatus}'), target_fixture="outcome")
def admin_sets_status(runner: asyncio.Runner, wiring: Wiring, admin: str, label: str,
                      status: AccountStatus) -> Outcome:
    return _update(runner, wiring, admin, label, AccountPatch(status=str(status)))


@when(p('"{admin}" removes account "{label}"'), target_fixture="outcome")
def admin_removes(runner: asyncio.Runner, wiring: Wiring, admin: str, label: str) -> Outcome:
    async def remove() -> Outcome:
        account = await account_labelled(wiring, label)
        return await wiring.get(DeleteAccount)(await actor(wiring, admin), account.id)

    return runner.run(remove())


def _credits(runner: asyncio.Runner, wiring: Wiring, admin: str, label: str, amount: int) -> Outcome:
    async def change() -> Outcome:
        account = await account_labelled(wiring, label)
        return await wiring.get(AddAccountCredits)(await actor(wiring, admin), account.id, amount)

    return runner.run(change())


@when(p('"{admin}" adds {n:d} credits to account "{label}"'), target_fixture="outcome")
def admin_tops_up(runner: asyncio.Runner, wiring: Wiring, admin: str, n: int, label: str) -> Outcome:
    return _credits(runner, wiring, admin, label, n)


@when(p('"{admin}" takes {n:d} credits from account "{label}"'), target_fixture="outcome")
def admin_draws_down(runner: asyncio.Runner, wiring: Wiring, admin: str, n: int, label: str) -> Outcome:
    return _credits(runner, wiring, admin, label, -n)


# ---------------------------------------------------------------- users' private accounts


def _add_private(runner: asyncio.Runner, wiring: Wiring, user: str, label: str) -> Outcome:
    async def add() -> Outcome:
        return await wiring.get(AddPrivateAccount)(await actor(wiring, user), provider_id="sim", label=label,
                                                   secret=f"private-key-{label}", credits=100)

    return runner.run(add())


@given(p('"{user}" has added private accounts {labels:Names}'))
def has_added_private(runner: asyncio.Runner, wiring: Wiring, user: str, labels: list[str]) -> None:
    for label in labels:
        ok(_add_private(runner, wiring, user, label))


@when(p('"{user}" adds a private account "{label}"'), target_fixture="outcome")
def adds_private(runner: asyncio.Runner, wiring: Wiring, user: str, label: str) -> Outcome:
    return _add_private(runner, wiring, user, label)


@then(p('"{user}" sees her private accounts {labels:Names}, without their secrets'))
def sees_private(runner: asyncio.Runner, wiring: Wiring, user: str, labels: list[str]) -> None:
    who = runner.run(actor(wiring, user))
    listed = ok(runner.run(wiring.get(ListPrivateAccounts)(who)))
    assert [a.label for a in listed] == labels
    assert all(a.owner_user_id == who.user_id for a in listed)
    shown = msgspec.json.encode(listed)
    for account in listed:
        secret = runner.run(account_labelled(wiring, account.label)).secret
        assert secret.encode() not in shown


@when(p('"{user}" removes the private account "{label}"'), target_fixture="outcome")
def removes_private(runner: asyncio.Runner, wiring: Wiring, user: str, label: str) -> Outcome:
    async def remove() -> Outcome:
        account = await account_labelled(wiring, label)
        return await wiring.get(DeletePrivateAccount)(await actor(wiring, user), account.id)

    return runner.run(remove())
