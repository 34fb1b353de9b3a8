"""Steps every feature uses: people, shared accounts, workers, time, answers, credits."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import msgspec
from pytest_bdd import given, parsers, then, when
from returns.result import Result

from application.accounts.private import AddPrivateAccount
from application.pipeline.run import DrainOnce
from domain.accounts import AccountStatus
from domain.errors import DomainError, ErrorCode
from domain.quotas import USER_DEFAULT
from domain.users import Role
from tests.acceptance.phrases import TYPES
from tests.acceptance.support import (
    account_labelled,
    actor,
    drain,
    ledger_problems,
    ok,
    profile,
    refusal,
    run_workers_for,
)
from tests.support.seed import add_account, add_user
from tests.support.wiring import Wiring


def p(text: str) -> parsers.parse:
    """A step pattern with the feature files' own argument types (see phrases.TYPES). A
    quoted argument never spans a quote, so "{a}" cannot swallow `x" again as "y`."""
    return parsers.parse(re.sub(r'"\{(\w+)\}"', r'"{\1:Quoted}"', text), extra_types=TYPES)


# ---------------------------------------------------------------- people


@given(p('a user "{name}"'))
def a_user(runner: asyncio.Runner, wiring: Wiring, name: str) -> None:
    runner.run(add_user(wiring, name))


@given(p('a user "{name}" with {credits:d} credits'))
def a_user_with_credits(runner: asyncio.Runner, wiring: Wiring, name: str, credits: int) -> None:
    runner.run(add_user(wiring, name, credits=credits))


def _user_with(runner: asyncio.Runner, wiring: Wiring, name: str, **limits: int) -> None:
    runner.run(add_user(wiring, name, quota=msgspec.structs.replace(USER_DEFAULT, **limits)))


@given(p('a user "{name}" allowed {n:d} job{:Plural} a day'))
def a_user_with_daily_limit(runner: asyncio.Runner, wiring: Wiring, name: str, n: int) -> None:
    _user_with(runner, wiring, name, max_jobs_per_day=n)


@given(p('a user "{name}" allowed to run {n:d} job{:Plural} at a time'))
def a_user_with_concurrency(runner: asyncio.Runner, wiring: Wiring, name: str, n: int) -> None:
    _user_with(runner, wiring, name, max_concurrent_jobs=n)


@given(p('a user "{name}" with room for {n:d} bytes of storage'))
def a_user_with_storage(runner: asyncio.Runner, wiring: Wiring, name: str, n: int) -> None:
    _user_with(runner, wiring, name, max_storage_bytes=n)


@given(p('an admin "{name}"'))
def an_admin(runner: asyncio.Runner, wiring: Wiring, name: str) -> None:
    runner.run(add_user(wiring, name, role=Role.ADMIN))


# ---------------------------------------------------------------- provider accounts


def _account(runner: asyncio.Runner, wiring: Wiring, label: str, **fields: Any) -> None:
    runner.run(add_account(wiring, label, **fields))


@given(p('a shared account "{label}"'))
def a_shared_account(runner: asyncio.Runner, wiring: Wiring, label: str) -> None:
    _account(runner, wiring, label)


@given(p('a shared account "{label}" with priority {priority:d}'))
def a_shared_account_with_priority(runner: asyncio.Runner, wiring: Wiring, label: str, priority: int) -> None:
    _account(runner, wiring, label, priority=priority)


@given(p('a shared account "{label}" with {credits:d} credits'))
def a_shared_account_with_credits(runner: asyncio.Runner, wiring: Wiring, label: str, credits: int) -> None:
    _account(runner, wiring, label, credits=credits)


@given(p('a shared account "{label}" with priority {priority:d} and {credits:d} credits'))
def a_shared_account_with_priority_and_credits(runner: asyncio.Runner, wiring: Wiring, label: str,
                                               priority: int, credits: int) -> None:
    _account(runner, wiring, label, priority=priority, credits=credits)


@given(p('a shared account "{label}" with room for {n:d} job{:Plural} at a time'))
def a_shared_account_with_slots(runner: asyncio.Runner, wiring: Wiring, label: str, n: int) -> None:
    _account(runner, wiring, label, max_concurrent_jobs=n)


@given(p('a shared account "{label}" with priority {priority:d} and room for {n:d} job{:Plural} at a time'))
def a_shared_account_with_priority_and_slots(runner: asyncio.Runner, wiring: Wiring, label: str,
                                             priority: int, n: int) -> None:
    _account(runner, wiring, label, priority=priority, max_concurrent_jobs=n)


@given(p('a shared account "{label}" whose key the provider rejects'))
def a_shared_account_with_a_bad_key(runner: asyncio.Runner, wiring: Wiring, label: str) -> None:
    _account(runner, wiring, label, secret="sim-invalid-key")  # the sim always rejects this key


@given(p('"{user}" has a private account "{label}"'))
def a_private_account(runner: asyncio.Runner, wiring: Wiring, user: str, label: str) -> None:
    async def add() -> None:
        ok(await wiring.get(AddPrivateAccount)(await actor(wiring, user), provider_id="sim", label=label,
                                               secret=f"key-{label}", credits=10_000, max_concurrent_jobs=2))

    runner.run(add())


@given(p('account "{label}" is cooling down for {minutes:d} minutes'))
def cooling_down(runner: asyncio.Runner, wiring: Wiring, label: str, minutes: int) -> None:
    async def cool() -> None:
        account = await account_labelled(wiring, label)
        async with wiring.ports.uow() as uow:
            await uow.accounts.save_health(msgspec.structs.replace(
                account, status=AccountStatus.COOLING_DOWN, consecutive_failures=1,
                cooldown_until=wiring.clock.now() + timedelta(minutes=minutes)))
            await uow.commit()

    runner.run(cool())


@given(p('account "{label}" is {status:AccountStatus}'))
def account_in_state(runner: asyncio.Runner, wiring: Wiring, label: str, status: AccountStatus) -> None:
    async def change() -> None:
        account = await account_labelled(wiring, label)
        async with wiring.ports.uow() as uow:
            await uow.accounts.update(msgspec.structs.replace(account, status=status))
            await uow.commit()

    runner.run(change())


# ---------------------------------------------------------------- workers and time


@given("the workers have run")
@when("the workers run")
def workers_run(runner: asyncio.Runner, wiring: Wiring) -> None:
    runner.run(drain(wiring))


@when(p("the workers run for {n:d} minute{:Plural}"))
def workers_run_minutes(runner: asyncio.Runner, wiring: Wiring, n: int) -> None:
    runner.run(run_workers_for(wiring, n * 60))


@when(p("the workers run for {n:d} seconds"))
def workers_run_seconds(runner: asyncio.Runner, wiring: Wiring, n: int) -> None:
    runner.run(run_workers_for(wiring, n))


async def side_by_side(wiring: Wiring, workers: int) -> int:
    """Several workers claim and run at the same time; how many jobs they took in all."""
    return sum(await asyncio.gather(*(wiring.get(DrainOnce)() for _ in range(workers))))


@when(p("{n:d} workers run side by side"))
def workers_side_by_side(runner: asyncio.Runner, wiring: Wiring, n: int) -> None:
    for _ in range(10):
        if not runner.run(side_by_side(wiring, n)):
            return


@when(p("{n:d} workers keep running side by side for {minutes:d} minutes"))
def workers_side_by_side_for(runner: asyncio.Runner, wiring: Wiring, n: int, minutes: int) -> None:
    for _ in range(minutes * 12):
        wiring.clock.advance(5)
        workers_side_by_side(runner, wiring, n)


@when("a worker takes a single job")
def one_job(runner: asyncio.Runner, wiring: Wiring) -> None:
    assert runner.run(wiring.get(DrainOnce)(limit=1)) == 1


@given(p("it is {hour:d}:{minute:d} UTC"))
def it_is(wiring: Wiring, hour: int, minute: int) -> None:
    wiring.clock.set(wiring.clock.now().replace(hour=hour, minute=minute, second=0, microsecond=0))


@when(p("{n:d} minute{:Plural} pass{:Plural}"))
def minutes_pass(wiring: Wiring, n: int) -> None:
    wiring.clock.advance(minutes=n)


@when(p("{n:d} hour{:Plural} pass{:Plural}"))
def hours_pass(wiring: Wiring, n: int) -> None:
    wiring.clock.advance(hours=n)


# ---------------------------------------------------------------- answers


@then("the request succeeds")
def succeeds(outcome: Result[Any, DomainError]) -> None:
    ok(outcome)


@then(p("the request is refused as {reason:Reason}"))
def refused(outcome: Result[Any, DomainError], reason: ErrorCode) -> None:
    assert refusal(outcome).code is reason, refusal(outcome)


@then(p("she is told to retry in {n:d} hours"))
def retry_in_hours(outcome: Result[Any, DomainError], n: int) -> None:
    assert refusal(outcome).retry_after == n * 3600


@then(p("she is told to retry in {n:d} minutes"))
def retry_in_minutes(outcome: Result[Any, DomainError], n: int) -> None:
    assert refusal(outcome).retry_after == n * 60


@then("she is told to retry later")
def retry_later(outcome: Result[Any, DomainError]) -> None:
    retry_after = refusal(outcome).retry_after
    assert retry_after is not None and retry_after > 0


# ---------------------------------------------------------------- credits


@then(p('"{user}" has {available:d} credit{:Plural} to spend and {held:d} on hold'))
def credits_of(runner: asyncio.Runner, wiring: Wiring, user: str, available: int, held: int) -> None:
    found = runner.run(profile(wiring, user))
    assert (found.credits, found.credits_held) == (available, held)


@then(p('"{user}" was charged {n:d} credit{:Plural} today'))
def charged_today(runner: asyncio.Runner, wiring: Wiring, user: str, n: int) -> None:
    assert runner.run(profile(wiring, user)).usage.credits_spent == n


@then("the credits ledger is balanced")
def ledger_balanced(runner: asyncio.Runner, wiring: Wiring) -> None:
    assert runner.run(ledger_problems(wiring)) == []
