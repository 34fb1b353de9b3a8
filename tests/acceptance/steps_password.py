"""Changing one's password, from one of her devices (steps_auth's `laptop` and `phone`)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pytest_bdd import then, when
from returns.result import Result

from application.auth.authenticate import Authenticate, Principal
from application.auth.login import LoginResult
from application.auth.password import ChangePassword
from domain.errors import DomainError, ErrorCode
from tests.acceptance.steps_auth import log_in
from tests.acceptance.steps_common import p
from tests.acceptance.support import PASSWORD, code_of, ok
from tests.support.wiring import Wiring

Outcome = Result[Any, DomainError]


def _change(runner: asyncio.Runner, wiring: Wiring, request: pytest.FixtureRequest, device: str,
            new: str, current: str) -> Outcome:
    tokens: LoginResult = request.getfixturevalue(device)

    async def change() -> Outcome:
        principal: Principal = ok(await wiring.get(Authenticate)(tokens.access_token))
        return await wiring.get(ChangePassword)(principal.user_id, tokens.session_id, current, new)

    return runner.run(change())


@when(p('she changes her password to "{new}" on her {device:Device}'), target_fixture="outcome")
def changes_password(runner: asyncio.Runner, wiring: Wiring, request: pytest.FixtureRequest, new: str,
                     device: str) -> Outcome:
    return _change(runner, wiring, request, device, new, PASSWORD)


@when(p('she changes her password to "{new}" on her {device:Device}, giving "{current}"'),
      target_fixture="outcome")
def changes_password_giving(runner: asyncio.Runner, wiring: Wiring, request: pytest.FixtureRequest, new: str,
                            device: str, current: str) -> Outcome:
    return _change(runner, wiring, request, device, new, current)


@then(p('"{email}" logs in with "{password}" but not with her old password'))
def new_password_only(runner: asyncio.Runner, wiring: Wiring, email: str, password: str) -> None:
    ok(runner.run(log_in(wiring, email, password)))
    assert code_of(runner.run(log_in(wiring, email, PASSWORD))) is ErrorCode.UNAUTHENTICATED


@then(p('"{email}" can still log in with her old password'))
def old_password_still(runner: asyncio.Runner, wiring: Wiring, email: str) -> None:
    ok(runner.run(log_in(wiring, email, PASSWORD)))
