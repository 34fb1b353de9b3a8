"""Provider accounts: the admin pool and users' private accounts. Secrets never leave."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from datetime import timedelta
from typing import Any

import httpx
import msgspec
import pytest

from adapters.providers.httpio import SafeDownloader
from adapters.providers.kling import KlingProvider
from adapters.providers.registry import StaticProviderRegistry
from adapters.providers.sim import SimProvider
from application.accounts.admin import AccountPatch, AccountView, CreateAccount, UpdateAccount
from application.accounts.private import AddPrivateAccount
from application.audit import AuditTrail
from domain.account_secrets import secret_fields
from domain.accounts import AccountStatus, ProviderAccount
from domain.errors import ErrorCode
from domain.quotas import QuotaPolicy
from tests.unit.application.media_world import Caller, World, failure_code

SECRET = "sk-live-very-secret-key"


@pytest.fixture
def world() -> Iterator[World]:
    with asyncio.Runner() as runner:
        yield World(runner)


@pytest.fixture
def admin(world: World) -> Caller:
    return world.user("root", admin=True)


def create(world: World, admin: Caller, **fields: Any) -> AccountView:
    values: dict[str, Any] = {"provider_id": "sim", "label": "pool 1", "secret": SECRET, "credits": 100,
                              "max_concurrent_jobs": 2, "priority": 5}
    return world.run(world.create_account(admin, **(values | fields))).unwrap()


def busy(world: World, account_id: str, jobs: int = 1) -> None:
    stored = world.state.accounts[account_id]
    world.state.accounts[account_id] = msgspec.structs.replace(stored, current_jobs=jobs)


def assert_no_secret(value: object) -> None:
    assert SECRET.encode() not in msgspec.json.encode(value)


# ---------------------------------------------------------------- admin pool


def test_an_admin_creates_a_shared_account(world: World, admin: Caller) -> None:
    account = create(world, admin)
    assert (account.provider_id, account.label, account.owner_user_id, account.status) == (
        "sim", "pool 1", None, AccountStatus.ACTIVE)
    assert (account.credits, account.max_concurrent_jobs, account.priority, account.current_jobs) == (100, 2, 5, 0)
    assert world.state.accounts[account.id].secret == SECRET
    [entry] = world.state.audit
    assert (entry.action, entry.actor_id, entry.resource_id) == ("account.create", "root", account.id)
    assert_no_secret(entry)


def test_views_have_no_secret_field() -> None:
    assert "secret" not in AccountView.__struct_fields__


@pytest.mark.parametrize("fields", [
    {"provider_id": "nope"}, {"credits": -1}, {"max_concurrent_jobs": 0}, {"label": "  "},
    {"label": "x" * 101}, {"secret": ""}, {"secret": " padded "}, {"priority": 10_000},
])
def test_bad_fields_are_validation_errors(world: World, admin: Caller, fields: dict[str, Any]) -> None:
    values: dict[str, Any] = {"provider_id": "sim", "label": "pool", "secret": SECRET}
    result = world.run(world.create_account(admin, **(values | fields)))
    assert failure_code(result) is ErrorCode.VALIDATION_ERROR
    assert world.state.accounts == {} and world.state.audit == []


def test_admin_routes_are_forbidden_to_users(world: World, admin: Caller) -> None:
    account = create(world, admin)
    alice = world.user("alice")
    calls: list[Callable[[], Coroutine[Any, Any, Any]]] = [
        lambda: world.create_account(alice, provider_id="sim", label="mine", secret=SECRET),
        lambda: world.list_accounts(alice),
        lambda: world.get_account(alice, account.id),
        lambda: world.update_account(alice, account.id, AccountPatch(label="hijacked")),
        lambda: world.delete_account(alice, account.id),
        lambda: world.add_credits(alice, account.id, 10),
    ]
    for call in calls:
        assert failure_code(world.run(call())) is ErrorCode.FORBIDDEN
    assert world.state.accounts[account.id].label == "pool 1" and len(world.state.accounts) == 1


def test_list_and_get_show_every_account_without_secrets(world: World, admin: Caller) -> None:
    shared = create(world, admin)
    alice = world.user("alice")
    private = world.run(world.add_private(alice, provider_id="sim", label="mine", secret=SECRET)).unwrap()
    world.state.accounts["other"] = ProviderAccount(id="other", provider_id="replicate", label="r",
                                                    secret=SECRET, created_at=world.clock.now())
    listed = world.run(world.list_accounts(admin)).unwrap()
    assert {a.id for a in listed} == {shared.id, private.id, "other"}
    assert {a.id for a in world.run(world.list_accounts(admin, provider_id="sim")).unwrap()} == {
        shared.id, private.id}
    assert world.run(world.get_account(admin, shared.id)).unwrap() == shared
    assert failure_code(world.run(world.get_account(admin, "missing"))) is ErrorCode.NOT_FOUND
    assert_no_secret(listed)


def test_update_changes_the_given_fields_only(world: World, admin: Caller) -> None:
    account = create(world, admin)
    patch = AccountPatch(label="renamed", secret="sk-new", priority=9, max_concurrent_jobs=4)
    updated = world.run(world.update_account(admin, account.id, patch)).unwrap()
    assert (updated.label, updated.priority, updated.max_concurrent_jobs, updated.credits) == (
        "renamed", 9, 4, 100)
    assert world.state.accounts[account.id].secret == "sk-new"
    assert_no_secret(updated)
    entry = world.state.audit[-1]
    assert entry.action == "account.update"
    assert entry.details == {"fields": ["label", "max_concurrent_jobs", "priority", "secret"]}


def test_setting_active_ends_a_cooldown(world: World, admin: Caller) -> None:
    account = create(world, admin)
    stored = world.state.accounts[account.id]
    world.state.accounts[account.id] = msgspec.structs.replace(
        stored, status=AccountStatus.COOLING_DOWN, cooldown_until=world.clock.now() + timedelta(minutes=5))
    updated = world.run(world.update_account(admin, account.id, AccountPatch(status="active"))).unwrap()
    assert (updated.status, updated.cooldown_until) == (AccountStatus.ACTIVE, None)
    assert world.state.accounts[account.id].cooldown_until is None


def test_disabling_keeps_the_rest(world: World, admin: Caller) -> None:
    account = create(world, admin)
    updated = world.run(world.update_account(admin, account.id, AccountPatch(status="disabled"))).unwrap()
    assert updated.status is AccountStatus.DISABLED and updated.label == account.label


@pytest.mark.parametrize("patch", [AccountPatch(status="cooling_down"), AccountPatch(status="broken"),
                                   AccountPatch(max_concurrent_jobs=0), AccountPatch(label=""),
                                   AccountPatch(secret="")])
def test_bad_patches_are_validation_errors(world: World, admin: Caller, patch: AccountPatch) -> None:
    account = create(world, admin)
    result = world.run(world.update_account(admin, account.id, patch))
    assert failure_code(result) is ErrorCode.VALIDATION_ERROR
    assert world.actions() == ["account.create"]


def test_slots_cannot_go_below_the_running_jobs(world: World, admin: Caller) -> None:
    account = create(world, admin, max_concurrent_jobs=3)
    busy(world, account.id, jobs=2)
    result = world.run(world.update_account(admin, account.id, AccountPatch(max_concurrent_jobs=1)))
    assert failure_code(result) is ErrorCode.CONFLICT
    assert world.state.accounts[account.id].max_concurrent_jobs == 3
    assert world.run(world.update_account(admin, account.id, AccountPatch(max_concurrent_jobs=2))).unwrap()


def test_an_empty_patch_changes_and_records_nothing(world: World, admin: Caller) -> None:
    account = create(world, admin)
    assert world.run(world.update_account(admin, account.id, AccountPatch())).unwrap() == account
    assert world.actions() == ["account.create"]


def test_update_of_a_missing_account_is_not_found(world: World, admin: Caller) -> None:
    result = world.run(world.update_account(admin, "missing", AccountPatch(label="x")))
    assert failure_code(result) is ErrorCode.NOT_FOUND


def test_delete_refuses_while_jobs_run(world: World, admin: Caller) -> None:
    account = create(world, admin)
    busy(world, account.id)
    assert failure_code(world.run(world.delete_account(admin, account.id))) is ErrorCode.CONFLICT
    busy(world, account.id, jobs=0)
    world.run(world.delete_account(admin, account.id)).unwrap()
    assert world.state.accounts == {} and world.actions() == ["account.create", "account.delete"]
    assert failure_code(world.run(world.delete_account(admin, account.id))) is ErrorCode.NOT_FOUND


def test_credits_go_up_and_down_but_never_below_zero(world: World, admin: Caller) -> None:
    account = create(world, admin, credits=100)
    assert world.run(world.add_credits(admin, account.id, 50)).unwrap().credits == 150
    assert world.run(world.add_credits(admin, account.id, -150)).unwrap().credits == 0
    assert failure_code(world.run(world.add_credits(admin, account.id, -1))) is ErrorCode.VALIDATION_ERROR
    assert failure_code(world.run(world.add_credits(admin, account.id, 0))) is ErrorCode.VALIDATION_ERROR
    assert failure_code(world.run(world.add_credits(admin, "missing", 5))) is ErrorCode.NOT_FOUND
    assert world.state.accounts[account.id].credits == 0
    credit_entries = [e for e in world.state.audit if e.action == "account.credits"]
    assert [e.details for e in credit_entries] == [{"amount": 50, "balance": 150}, {"amount": -150, "balance": 0}]


# ---------------------------------------------------------------- private accounts


def test_a_user_adds_private_accounts_within_their_quota(world: World) -> None:
    alice = world.user("alice", QuotaPolicy(max_private_accounts=2))
    first = world.run(world.add_private(alice, provider_id="sim", label="one", secret=SECRET)).unwrap()
    world.run(world.add_private(alice, provider_id="sim", label="two", secret=SECRET)).unwrap()
    third = world.run(world.add_private(alice, provider_id="sim", label="three", secret=SECRET))
    assert failure_code(third) is ErrorCode.QUOTA_EXCEEDED
    assert first.owner_user_id == "alice" and len(world.state.accounts) == 2
    assert_no_secret(first)
    assert world.actions() == ["account.create", "account.create"]


def test_no_limit_means_unlimited_private_accounts(world: World) -> None:
    alice = world.user("alice", QuotaPolicy(max_private_accounts=None))
    for n in range(5):
        world.run(world.add_private(alice, provider_id="sim", label=f"k{n}", secret=SECRET)).unwrap()
    assert len(world.run(world.list_private(alice)).unwrap()) == 5


def test_private_accounts_follow_the_field_rules(world: World) -> None:
    alice = world.user("alice")
    result = world.run(world.add_private(alice, provider_id="elsewhere", label="x", secret=SECRET))
    assert failure_code(result) is ErrorCode.VALIDATION_ERROR
    result = world.run(world.add_private(alice, provider_id="sim", label="x", secret=SECRET, credits=-5))
    assert failure_code(result) is ErrorCode.VALIDATION_ERROR


def test_users_see_and_delete_only_their_own(world: World, admin: Caller) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    shared = create(world, admin)
    mine = world.run(world.add_private(alice, provider_id="sim", label="mine", secret=SECRET)).unwrap()
    theirs = world.run(world.add_private(bob, provider_id="sim", label="theirs", secret=SECRET)).unwrap()
    assert [a.id for a in world.run(world.list_private(alice)).unwrap()] == [mine.id]
    assert failure_code(world.run(world.delete_private(alice, theirs.id))) is ErrorCode.NOT_FOUND
    assert failure_code(world.run(world.delete_private(alice, shared.id))) is ErrorCode.NOT_FOUND
    busy(world, mine.id)
    assert failure_code(world.run(world.delete_private(alice, mine.id))) is ErrorCode.CONFLICT
    busy(world, mine.id, jobs=0)
    world.run(world.delete_private(alice, mine.id)).unwrap()
    assert set(world.state.accounts) == {shared.id, theirs.id}
    assert world.actions()[-1] == "account.delete"


def test_a_deleted_private_account_frees_its_quota_slot(world: World) -> None:
    alice = world.user("alice", QuotaPolicy(max_private_accounts=1))
    mine = world.run(world.add_private(alice, provider_id="sim", label="one", secret=SECRET)).unwrap()
    world.run(world.delete_private(alice, mine.id)).unwrap()
    assert world.run(world.add_private(alice, provider_id="sim", label="two", secret=SECRET)).unwrap()


# ---------------------------------------------------------------- structured (key-pair) secrets


KLING_PAIR = {"access_key": "AK-kling-access", "secret_key": "SK-kling-very-secret"}


@pytest.fixture
def pair_world(world: World) -> Iterator[tuple[World, CreateAccount, UpdateAccount, AddPrivateAccount]]:
    """The world, with Kling (a provider whose secret is an access key and a secret key) offered too."""
    client = httpx.AsyncClient()
    kling = KlingProvider(client, SafeDownloader(client, max_bytes=1), clock=world.clock.now)
    providers = StaticProviderRegistry([SimProvider(world.clock.now), kling])
    audit = AuditTrail(world.clock, world.ids)
    yield (world, CreateAccount(world.uow, providers, world.clock, world.ids, audit),
           UpdateAccount(world.uow, providers, audit), AddPrivateAccount(world.uow, providers, world.clock, world.ids, audit))
    world.run(client.aclose())


def test_a_key_pair_account_stores_its_fields_and_never_shows_them(
        pair_world: tuple[World, CreateAccount, UpdateAccount, AddPrivateAccount], admin: Caller) -> None:
    world, create_account, update_account, _ = pair_world
    view = world.run(create_account(admin, provider_id="kling", label="kling 1", secret=KLING_PAIR)).unwrap()
    stored = world.state.accounts[view.id].secret
    assert secret_fields(stored) == KLING_PAIR
    rotated = KLING_PAIR | {"secret_key": "SK-rotated-secret"}
    world.run(update_account(admin, view.id, AccountPatch(secret=rotated))).unwrap()
    assert secret_fields(world.state.accounts[view.id].secret) == rotated
    encoded = msgspec.json.encode([view, world.state.audit])
    assert not any(value.encode() in encoded for value in (*KLING_PAIR.values(), "SK-rotated-secret"))


@pytest.mark.parametrize(("provider_id", "secret"), [
    ("kling", "AK:SK"), ("kling", {"access_key": "AK"}), ("kling", KLING_PAIR | {"extra": "x"}),
    ("sim", KLING_PAIR),
])
def test_a_secret_of_the_wrong_shape_for_its_provider_is_refused(
        pair_world: tuple[World, CreateAccount, UpdateAccount, AddPrivateAccount], admin: Caller,
        provider_id: str, secret: str | dict[str, str]) -> None:
    world, create_account, _, add_private = pair_world
    assert failure_code(world.run(create_account(admin, provider_id=provider_id, label="x", secret=secret))) \
        is ErrorCode.VALIDATION_ERROR
    assert failure_code(world.run(add_private(world.user("alice"), provider_id=provider_id, label="x",
                                              secret=secret))) is ErrorCode.VALIDATION_ERROR
    assert world.state.accounts == {}


def test_a_patched_secret_takes_the_shape_of_the_accounts_provider(
        pair_world: tuple[World, CreateAccount, UpdateAccount, AddPrivateAccount], admin: Caller) -> None:
    world, create_account, update_account, _ = pair_world
    kling = world.run(create_account(admin, provider_id="kling", label="k", secret=KLING_PAIR)).unwrap()
    sim = world.run(create_account(admin, provider_id="sim", label="s", secret=SECRET)).unwrap()
    before = dict(world.state.accounts)
    for account_id, secret in ((kling.id, "one-string"), (sim.id, KLING_PAIR)):
        result = world.run(update_account(admin, account_id, AccountPatch(secret=secret)))
        assert failure_code(result) is ErrorCode.VALIDATION_ERROR
    assert world.state.accounts == before
