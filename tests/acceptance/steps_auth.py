"""Registration, logging in, sessions and their tokens.

A user's devices are the `laptop` and `phone` fixtures: the tokens of one login each.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from pytest_bdd import given, then, when
from returns.result import Result

from application.auth.authenticate import Authenticate, Principal
from application.auth.login import LogIn, LoginResult
from application.auth.refresh import RefreshSession
from application.auth.register import RegisterUser
from application.auth.sessions import ListSessions, LogOut, RevokeAllSessions, RevokeSession
from domain.errors import DomainError, ErrorCode
from domain.quotas import QuotaPolicy
from domain.users import User
from tests.acceptance.steps_common import p
from tests.acceptance.support import PASSWORD, code_of, email_of, ok, profile, user_named
from tests.support.wiring import Wiring

HOME_ADDRESS = "198.51.100.1"

Outcome = Result[Any, DomainError]


async def log_in(w: Wiring, email: str, password: str = PASSWORD,
                 address: str = HOME_ADDRESS) -> Result[LoginResult, DomainError]:
    return await w.get(LogIn)(email, password, address, "acceptance-spec")


async def identify(w: Wiring, access_token: str) -> Result[Principal, DomainError]:
    return await w.get(Authenticate)(access_token)


def device(request: pytest.FixtureRequest, name: str) -> LoginResult:
    tokens: LoginResult = request.getfixturevalue(name)
    return tokens


# ---------------------------------------------------------------- registering


@given(p('"{email}" has registered'))
def registered(runner: asyncio.Runner, wiring: Wiring, email: str) -> None:
    ok(runner.run(wiring.get(RegisterUser)(email, email.split("@")[0], PASSWORD)))


@given(p('"{email}" has registered as "{username}"'))
def registered_as(runner: asyncio.Runner, wiring: Wiring, email: str, username: str) -> None:
    ok(runner.run(wiring.get(RegisterUser)(email, username, PASSWORD)))


@when(p('someone registers with email "{email}", username "{username}" and password "{password}"'),
      target_fixture="outcome")
def registers(runner: asyncio.Runner, wiring: Wiring, email: str, username: str,
              password: str) -> Result[User, DomainError]:
    return runner.run(wiring.get(RegisterUser)(email, username, password))


@then(p('"{email}" is a user with the role "{role}" and {credits:d} credits'))
def user_with_role(runner: asyncio.Runner, wiring: Wiring, email: str, role: str, credits: int) -> None:
    found = runner.run(profile(wiring, email))
    assert (found.email, str(found.role), found.credits, found.is_active) == (email, role, credits, True)


@then(p('"{email}" may create {jobs:d} job{:Plural} a day and run {running:d} at a time'))
def quota_of(runner: asyncio.Runner, wiring: Wiring, email: str, jobs: int, running: int) -> None:
    quota: QuotaPolicy = runner.run(profile(wiring, email)).quota
    assert (quota.max_jobs_per_day, quota.max_concurrent_jobs) == (jobs, running)


@then(p('"{email}" may create any number of jobs a day'))
def unlimited_jobs(runner: asyncio.Runner, wiring: Wiring, email: str) -> None:
    assert runner.run(profile(wiring, email)).quota.max_jobs_per_day is None


@then(p("there {:Verb} {n:d} user{:Plural}"))
def user_count(runner: asyncio.Runner, wiring: Wiring, n: int) -> None:
    async def count() -> int:
        async with wiring.ports.uow() as uow:
            return await uow.users.count()

    assert runner.run(count()) == n


# ---------------------------------------------------------------- logging in


@when(p('"{email}" logs in with the right password'), target_fixture="outcome")
def logs_in(runner: asyncio.Runner, wiring: Wiring, email: str) -> Outcome:
    return runner.run(log_in(wiring, email_of(email)))


@when(p('"{email}" logs in with the right password from "{address}"'), target_fixture="outcome")
def logs_in_from(runner: asyncio.Runner, wiring: Wiring, email: str, address: str) -> Outcome:
    return runner.run(log_in(wiring, email_of(email), address=address))


@when(p('"{email}" logs in with the password "{password}"'), target_fixture="outcome")
def logs_in_with(runner: asyncio.Runner, wiring: Wiring, email: str, password: str) -> Outcome:
    return runner.run(log_in(wiring, email_of(email), password))


@then("the login succeeds")
def login_succeeds(runner: asyncio.Runner, wiring: Wiring, outcome: Outcome) -> None:
    tokens: LoginResult = ok(outcome)
    principal = ok(runner.run(identify(wiring, tokens.access_token)))
    assert principal.session_id == tokens.session_id and tokens.token_type == "bearer"


@then(p('the access token identifies "{email}"'))
def token_identifies(runner: asyncio.Runner, wiring: Wiring, outcome: Outcome, email: str) -> None:
    principal = ok(runner.run(identify(wiring, ok(outcome).access_token)))
    assert principal.user_id == runner.run(user_named(wiring, email)).id


@then(p('"{email}" cannot log in anymore'))
def cannot_log_in(runner: asyncio.Runner, wiring: Wiring, email: str) -> None:
    assert code_of(runner.run(log_in(wiring, email_of(email)))) is ErrorCode.UNAUTHENTICATED


@when(p('someone tries the password "{password}" for "{email}" {n:d} times'), target_fixture="attempts")
def hammer_one_email(runner: asyncio.Runner, wiring: Wiring, password: str, email: str,
                     n: int) -> list[Outcome]:
    return [runner.run(log_in(wiring, email, password)) for _ in range(n)]


@when(p('someone at "{address}" tries the password "{password}" for {n:d} different emails'),
      target_fixture="attempts")
def hammer_from_one_address(runner: asyncio.Runner, wiring: Wiring, address: str, password: str,
                            n: int) -> list[Outcome]:
    return [runner.run(log_in(wiring, f"guess{i}@example.com", password, address)) for i in range(n)]


@then(p("every one of those attempts was refused as {reason:Reason}"))
def every_attempt_refused(attempts: list[Outcome], reason: ErrorCode) -> None:
    assert attempts and [code_of(a) for a in attempts] == [reason] * len(attempts)


# ---------------------------------------------------------------- sessions on devices


@given(p('"{email}" is signed in on her laptop'), target_fixture="laptop")
def on_laptop(runner: asyncio.Runner, wiring: Wiring, email: str) -> LoginResult:
    tokens: LoginResult = ok(runner.run(log_in(wiring, email_of(email))))
    return tokens


@given(p('"{email}" is signed in on her phone'), target_fixture="phone")
def on_phone(runner: asyncio.Runner, wiring: Wiring, email: str) -> LoginResult:
    tokens: LoginResult = ok(runner.run(log_in(wiring, email_of(email), address="203.0.113.50")))
    return tokens


@given(p("she has refreshed the session on her {name:Device}"), target_fixture="refreshed")
def has_refreshed(runner: asyncio.Runner, wiring: Wiring, request: pytest.FixtureRequest,
                  name: str) -> LoginResult:
    tokens: LoginResult = ok(runner.run(wiring.get(RefreshSession)(device(request, name).refresh_token)))
    return tokens


@when(p("she refreshes the session on her {name:Device}"), target_fixture="outcome")
def refreshes(runner: asyncio.Runner, wiring: Wiring, request: pytest.FixtureRequest, name: str) -> Outcome:
    return runner.run(wiring.get(RefreshSession)(device(request, name).refresh_token))


@then(p("she gets a new refresh token for the session on her {name:Device}"))
def new_refresh_token(outcome: Outcome, request: pytest.FixtureRequest, name: str) -> None:
    before, after = device(request, name), ok(outcome)
    assert after.session_id == before.session_id and after.refresh_token != before.refresh_token


@then(p('the new access token identifies "{email}"'))
def new_token_identifies(runner: asyncio.Runner, wiring: Wiring, outcome: Outcome, email: str) -> None:
    token_identifies(runner, wiring, outcome, email)


@then("the new refresh token can be traded once more")
def traded_again(runner: asyncio.Runner, wiring: Wiring, outcome: Outcome) -> None:
    again: LoginResult = ok(runner.run(wiring.get(RefreshSession)(ok(outcome).refresh_token)))
    assert again.refresh_token != ok(outcome).refresh_token


@when(p("the first refresh token of her {name:Device} is presented again"), target_fixture="outcome")
def old_token_again(runner: asyncio.Runner, wiring: Wiring, request: pytest.FixtureRequest,
                    name: str) -> Outcome:
    return runner.run(wiring.get(RefreshSession)(device(request, name).refresh_token))


@then("the latest refresh token no longer works")
def latest_refresh_dead(runner: asyncio.Runner, wiring: Wiring, refreshed: LoginResult) -> None:
    result = runner.run(wiring.get(RefreshSession)(refreshed.refresh_token))
    assert code_of(result) is ErrorCode.UNAUTHENTICATED


@then(p("the refresh token of her {name:Device} no longer works"))
def refresh_dead(runner: asyncio.Runner, wiring: Wiring, request: pytest.FixtureRequest, name: str) -> None:
    result = runner.run(wiring.get(RefreshSession)(device(request, name).refresh_token))
    assert code_of(result) is ErrorCode.UNAUTHENTICATED


@then(p("her {name:Device} is signed out"))
def signed_out(runner: asyncio.Runner, wiring: Wiring, request: pytest.FixtureRequest, name: str) -> None:
    assert code_of(runner.run(identify(wiring, device(request, name).access_token))) is ErrorCode.UNAUTHENTICATED


@then(p("her {name:Device} is still signed in"))
def still_signed_in(runner: asyncio.Runner, wiring: Wiring, request: pytest.FixtureRequest, name: str) -> None:
    tokens = device(request, name)
    assert ok(runner.run(identify(wiring, tokens.access_token))).session_id == tokens.session_id


@when(p("she logs out on her {name:Device}"), target_fixture="outcome")
def logs_out(runner: asyncio.Runner, wiring: Wiring, request: pytest.FixtureRequest, name: str) -> Outcome:
    return runner.run(wiring.get(LogOut)(device(request, name).session_id))


@when(p('"{email}" ends all her sessions'), target_fixture="outcome")
def ends_all(runner: asyncio.Runner, wiring: Wiring, email: str) -> Outcome:
    user = runner.run(user_named(wiring, email))
    return runner.run(wiring.get(RevokeAllSessions)(user.id))


@when(p('"{email}" ends the {name:Device} session'), target_fixture="outcome")
def ends_one(runner: asyncio.Runner, wiring: Wiring, request: pytest.FixtureRequest, email: str,
             name: str) -> Outcome:
    user = runner.run(user_named(wiring, email))
    return runner.run(wiring.get(RevokeSession)(user.id, device(request, name).session_id))


@then(p("{n:d} sessions were ended"))
def sessions_ended(outcome: Outcome, n: int) -> None:
    assert ok(outcome) == n


@then(p('"{email}" has {n:d} live session{:Plural}'))
def live_sessions(runner: asyncio.Runner, wiring: Wiring, email: str, n: int) -> None:
    user = runner.run(user_named(wiring, email))
    assert len(ok(runner.run(wiring.get(ListSessions)(user.id)))) == n


@then(p('the only live session of "{email}" is the one on her {name:Device}'))
def only_session(runner: asyncio.Runner, wiring: Wiring, request: pytest.FixtureRequest, email: str,
                 name: str) -> None:
    user = runner.run(user_named(wiring, email))
    live = ok(runner.run(wiring.get(ListSessions)(user.id)))
    assert [s.id for s in live] == [device(request, name).session_id]


# ---------------------------------------------------------------- login limits count failures only

_addresses = itertools.count(1)


@given(p('"{email}" has logged out everywhere'))
def logged_out_everywhere(runner: asyncio.Runner, wiring: Wiring, email: str) -> None:
    user = runner.run(user_named(wiring, email))
    ok(runner.run(wiring.get(RevokeAllSessions)(user.id)))


@when(p('"{email}" logs in with the right password {n:d} times'), target_fixture="logins")
def logs_in_many_times(runner: asyncio.Runner, wiring: Wiring, email: str, n: int) -> list[Outcome]:
    return [runner.run(log_in(wiring, email_of(email))) for _ in range(n)]


@then("every one of those logins succeeded")
def every_login_succeeded(logins: list[Outcome]) -> None:
    assert logins and all(isinstance(ok(outcome), LoginResult) for outcome in logins)


@when(p('someone tries the password "{password}" for "{email}" from {n:d} different addresses'),
      target_fixture="attempts")
@when(p('someone tries the password "{password}" for "{email}" from {n:d} different address'),
      target_fixture="attempts")
def hammer_from_many_addresses(runner: asyncio.Runner, wiring: Wiring, password: str, email: str,
                               n: int) -> list[Outcome]:
    addresses = [f"10.{(i // 250) % 250}.{i % 250}.1" for i in (next(_addresses) for _ in range(n))]
    return [runner.run(log_in(wiring, email_of(email), password, address)) for address in addresses]
