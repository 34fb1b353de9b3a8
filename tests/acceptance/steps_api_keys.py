"""API keys: made by their owner or an admin, used as bearer credentials, revoked.

The keys a scenario makes are kept by name in the `api_keys` fixture (the whole key, as
its maker saw it once)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from pytest_bdd import given, then, when
from returns.result import Result

from application.api_keys.manage import (
    CreateApiKey,
    KeyRequest,
    ListApiKeys,
    MintApiKey,
    NewKey,
    RevokeApiKey,
)
from application.auth.authenticate import Principal
from application.auth.authenticate_key import AuthenticateKey
from application.jobs.create import CreateJob, JobRequest
from application.jobs.queries import GetJob
from domain.api_keys import Scope
from domain.errors import DomainError, ErrorCode
from entrypoints.http.scopes import ANY_KEY, required_scope
from tests.acceptance.phrases import read_job
from tests.acceptance.steps_common import p
from tests.acceptance.support import actor, code_of, job_named, ok, user_named
from tests.support.wiring import Wiring

Outcome = Result[Any, DomainError]
HOME = "198.51.100.20"


@pytest.fixture
def api_keys() -> dict[str, NewKey]:
    return {}


async def make_key(w: Wiring, user: str, name: str, scopes: list[str] | None = None,
                   expires_in: timedelta | None = None) -> Result[NewKey, DomainError]:
    owner = await user_named(w, user)
    expires_at = w.clock.now() + expires_in if expires_in else None
    return await w.get(CreateApiKey)(owner.id, KeyRequest(name=name, scopes=scopes, expires_at=expires_at))


def remember(keys: dict[str, NewKey], name: str, outcome: Outcome) -> Outcome:
    if outcome.value_or(None) is not None:
        keys[name] = outcome.unwrap()
    return outcome


async def by_key(w: Wiring, key: str, client: str = HOME) -> Result[Principal, DomainError]:
    return await w.get(AuthenticateKey)(key, client)


def principal_of(runner: asyncio.Runner, wiring: Wiring, keys: dict[str, NewKey], name: str) -> Principal:
    found: Principal = ok(runner.run(by_key(wiring, keys[name].secret_key)))
    return found


def may_call(principal: Principal, method: str, path: str) -> bool:
    """What the HTTP layer lets this key call (entrypoints.http.scopes)."""
    needed = required_scope(method, path)
    return needed is not None and (needed == ANY_KEY or principal.allows(Scope(needed)))


# ---------------------------------------------------------------- making keys


@given(p('"{user}" has an API key "{name}"'))
def has_made_key(runner: asyncio.Runner, wiring: Wiring, api_keys: dict[str, NewKey], user: str, name: str) -> None:
    ok(remember(api_keys, name, runner.run(make_key(wiring, user, name))))


@given(p('"{user}" has an API key "{name}" for "{scope}"'))
def has_made_scoped_key(runner: asyncio.Runner, wiring: Wiring, api_keys: dict[str, NewKey], user: str,
                        name: str, scope: str) -> None:
    ok(remember(api_keys, name, runner.run(make_key(wiring, user, name, [scope]))))


@given(p('"{user}" has an API key "{name}" that expires in {minutes:d} minutes'))
def has_made_expiring_key(runner: asyncio.Runner, wiring: Wiring, api_keys: dict[str, NewKey], user: str,
                          name: str, minutes: int) -> None:
    ok(remember(api_keys, name, runner.run(make_key(wiring, user, name, expires_in=timedelta(minutes=minutes)))))


@when(p('"{user}" makes an API key "{name}" for "{scope}"'), target_fixture="outcome")
def makes_scoped_key(runner: asyncio.Runner, wiring: Wiring, api_keys: dict[str, NewKey], user: str,
                     name: str, scope: str) -> Outcome:
    return remember(api_keys, name, runner.run(make_key(wiring, user, name, [scope])))


async def mint(w: Wiring, admin: str, user: str, name: str) -> Result[NewKey, DomainError]:
    owner = await user_named(w, user)
    return await w.get(MintApiKey)(await actor(w, admin), owner.id, KeyRequest(name=name))


@given(p('"{admin}" has minted an API key "{name}" for "{user}"'))
def has_minted(runner: asyncio.Runner, wiring: Wiring, api_keys: dict[str, NewKey], admin: str, name: str,
               user: str) -> None:
    ok(remember(api_keys, name, runner.run(mint(wiring, admin, user, name))))


@when(p('"{someone}" asks for an API key in the name of "{user}"'), target_fixture="outcome")
def tries_to_mint(runner: asyncio.Runner, wiring: Wiring, someone: str, user: str) -> Outcome:
    return runner.run(mint(wiring, someone, user, "theirs"))


# ---------------------------------------------------------------- using keys


@when(p('the key "{name}" submits {description}'), target_fixture="outcome")
def key_submits(runner: asyncio.Runner, wiring: Wiring, api_keys: dict[str, NewKey], name: str,
                description: str) -> Outcome:
    order = read_job(description)
    request = JobRequest(provider_id=order.provider_id, operation_type=order.operation_type,
                         params={"prompt": order.name, **order.params}, name=order.name)
    return runner.run(wiring.get(CreateJob)(principal_of(runner, wiring, api_keys, name), request, None))


@then(p('the key "{name}" can read job "{job}"'))
def key_reads(runner: asyncio.Runner, wiring: Wiring, api_keys: dict[str, NewKey], name: str, job: str) -> None:
    wanted = runner.run(job_named(wiring, job))
    found = ok(runner.run(wiring.get(GetJob)(principal_of(runner, wiring, api_keys, name), wanted.id)))
    assert found.id == wanted.id


@then(p('the key "{name}" still works'))
def still_works(runner: asyncio.Runner, wiring: Wiring, api_keys: dict[str, NewKey], name: str) -> None:
    principal = principal_of(runner, wiring, api_keys, name)
    assert principal.api_key_id == api_keys[name].key.id


@then(p('the key "{name}" still works from "{client}"'))
def still_works_from(runner: asyncio.Runner, wiring: Wiring, api_keys: dict[str, NewKey], name: str,
                     client: str) -> None:
    ok(runner.run(by_key(wiring, api_keys[name].secret_key, client)))


@then(p('the key "{name}" no longer works'))
def no_longer_works(runner: asyncio.Runner, wiring: Wiring, api_keys: dict[str, NewKey], name: str) -> None:
    assert code_of(runner.run(by_key(wiring, api_keys[name].secret_key))) is ErrorCode.UNAUTHENTICATED


@when(p('someone at "{client}" tries {n:d} wrong API keys'), target_fixture="attempts")
def wrong_keys(runner: asyncio.Runner, wiring: Wiring, client: str, n: int) -> list[Outcome]:
    return [runner.run(by_key(wiring, f"pxr_{i:012d}_{'x' * 43}", client)) for i in range(n)]


@when(p('someone at "{client}" tries a wrong API key'), target_fixture="outcome")
def one_wrong_key(runner: asyncio.Runner, wiring: Wiring, client: str) -> Outcome:
    return runner.run(by_key(wiring, "pxr_nope", client))


# ---------------------------------------------------------------- scopes


@then(p('the key "{name}" may read jobs'))
def may_read_jobs(runner: asyncio.Runner, wiring: Wiring, api_keys: dict[str, NewKey], name: str) -> None:
    assert may_call(principal_of(runner, wiring, api_keys, name), "GET", "/v1/jobs")


@then(p('the key "{name}" may not submit jobs'))
def may_not_submit(runner: asyncio.Runner, wiring: Wiring, api_keys: dict[str, NewKey], name: str) -> None:
    assert not may_call(principal_of(runner, wiring, api_keys, name), "POST", "/v1/jobs")


@then(p('the key "{name}" may not read assets'))
def may_not_read_assets(runner: asyncio.Runner, wiring: Wiring, api_keys: dict[str, NewKey], name: str) -> None:
    assert not may_call(principal_of(runner, wiring, api_keys, name), "GET", "/v1/assets")


@then(p('the key "{name}" may not make more keys'))
def may_not_make_keys(runner: asyncio.Runner, wiring: Wiring, api_keys: dict[str, NewKey], name: str) -> None:
    assert not may_call(principal_of(runner, wiring, api_keys, name), "POST", "/v1/api-keys")


@then(p('the key "{name}" may call the admin routes'))
def may_admin(runner: asyncio.Runner, wiring: Wiring, api_keys: dict[str, NewKey], name: str) -> None:
    principal = principal_of(runner, wiring, api_keys, name)
    assert principal.is_admin and may_call(principal, "GET", "/v1/admin/users")


# ---------------------------------------------------------------- listing and revoking


@when(p('"{user}" revokes the key "{name}"'), target_fixture="outcome")
def revokes(runner: asyncio.Runner, wiring: Wiring, api_keys: dict[str, NewKey], user: str, name: str) -> Outcome:
    who = runner.run(user_named(wiring, user))
    return runner.run(wiring.get(RevokeApiKey)(who.id, api_keys[name].key.id))


@then(p('"{user}" has {n:d} API key{:Plural}'))
def key_count(runner: asyncio.Runner, wiring: Wiring, user: str, n: int) -> None:
    who = runner.run(user_named(wiring, user))
    assert len(ok(runner.run(wiring.get(ListApiKeys)(who.id)))) == n


@then(p('the API keys of "{user}" are {names:Names}'))
def keys_named(runner: asyncio.Runner, wiring: Wiring, user: str, names: list[str]) -> None:
    who = runner.run(user_named(wiring, user))
    assert [k.name for k in ok(runner.run(wiring.get(ListApiKeys)(who.id)))] == names


@then(p('nothing stored or listed shows the secret of the key "{name}"'))
def secret_not_kept(runner: asyncio.Runner, wiring: Wiring, api_keys: dict[str, NewKey], name: str) -> None:
    made = api_keys[name]
    secret = made.secret_key[len(f"pxr_{made.key.id}_"):]

    async def stored() -> str:
        async with wiring.ports.uow() as uow:
            return repr(await uow.api_keys.get(made.key.id))

    listed = repr(ok(runner.run(wiring.get(ListApiKeys)(made.key.user_id))))
    assert made.secret_key.startswith(made.key.prefix)
    assert secret not in runner.run(stored()) and secret not in listed
