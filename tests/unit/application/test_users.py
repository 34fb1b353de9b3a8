"""Profiles, user administration (list, update, grant credits) and the bootstrap admin."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from returns.result import Success

from application.auth.authenticate import Principal
from domain.clock import utc_day
from domain.errors import ErrorCode
from domain.ledger import TxKind, invariant_violations, place_hold
from domain.quotas import ADMIN_DEFAULT, GIB, USER_DEFAULT, QuotaPatch
from domain.users import Role
from tests.unit.application.auth_world import ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, World, failure_code


@pytest.fixture
def world() -> Iterator[World]:
    with asyncio.Runner() as runner:
        yield World(runner)


def not_admin(world: World) -> Principal:
    world.signup("mallory@example.com", "mallory")
    return world.principal(world.log_in("mallory@example.com"))


# ------------------------------------------------------------------ profile


def test_profile_shows_quota_todays_usage_and_spendable_credits(world: World) -> None:
    user = world.signup()
    now = world.clock.now()

    async def use_some() -> None:
        async with world.uow() as uow:
            await uow.usage.try_count_job(user.id, utc_day(now), None)
            hold, tx = place_hold("tx-hold", "hold-1", user.id, 150, now).unwrap()
            assert await uow.ledger.apply(tx)
            await uow.ledger.add_hold(hold)
            assert await uow.users.try_add_storage(user.id, 4096, None)
            await uow.commit()

    world.run(use_some())
    profile = world.run(world.profile(user.id)).unwrap()

    assert (profile.id, profile.email, profile.username, profile.role, profile.is_active) == (
        user.id, "alice@example.com", "alice", Role.USER, True)
    assert profile.quota == USER_DEFAULT
    assert (profile.credits, profile.credits_held) == (850, 150)
    assert (profile.usage.day, profile.usage.jobs_created, profile.usage.storage_bytes) == (
        utc_day(now), 1, 4096)
    assert profile.created_at == user.created_at


def test_daily_usage_starts_again_at_midnight_utc(world: World) -> None:
    user = world.signup()

    async def count_job() -> None:
        async with world.uow() as uow:
            await uow.usage.try_count_job(user.id, utc_day(world.clock.now()), None)
            await uow.commit()

    world.run(count_job())
    world.clock.advance(hours=12)  # 12:00 -> 00:00 the next day

    usage = world.run(world.profile(user.id)).unwrap().usage
    assert (usage.day, usage.jobs_created) == (utc_day(world.clock.now()), 0)


def test_profile_of_an_unknown_user_is_not_found(world: World) -> None:
    assert failure_code(world.run(world.profile("nobody"))) is ErrorCode.NOT_FOUND


# ------------------------------------------------------------------ list users


def test_list_users_pages_newest_first_for_admins(world: World) -> None:
    admin = world.admin()
    for name in ("amy", "ben", "cat"):
        world.clock.advance(1)
        world.signup(f"{name}@example.com", name)

    first = world.run(world.list_users(admin, limit=2)).unwrap()
    second = world.run(world.list_users(admin, cursor=first.next_cursor, limit=2)).unwrap()

    assert [p.username for p in first.items] == ["cat", "ben"]
    assert [p.username for p in second.items] == ["amy", "admin"]
    assert second.next_cursor is None
    assert first.items[0].credits == 1000


def test_list_users_refuses_non_admins_and_bad_cursors(world: World) -> None:
    admin = world.admin()
    assert failure_code(world.run(world.list_users(not_admin(world)))) is ErrorCode.FORBIDDEN
    bad = world.run(world.list_users(admin, cursor="%%%not-a-cursor"))
    assert failure_code(bad) is ErrorCode.VALIDATION_ERROR and bad.failure().field == "cursor"


# ------------------------------------------------------------------ update user


def test_update_user_is_for_admins_only_before_anything_else(world: World) -> None:
    mallory = not_admin(world)
    victim = world.signup()

    for user_id in (victim.id, "no-such-user"):
        result = world.run(world.update_user(mallory, user_id, role="admin"))
        assert failure_code(result) is ErrorCode.FORBIDDEN
    assert world.state.users[victim.id].role is Role.USER


def test_update_of_an_unknown_user_is_not_found(world: World) -> None:
    admin = world.admin()
    assert failure_code(world.run(world.update_user(admin, "no-such-user", is_active=True))) is ErrorCode.NOT_FOUND


def test_a_quota_patch_changes_only_the_fields_it_names(world: World) -> None:
    admin = world.admin()
    user = world.signup()

    profile = world.run(world.update_user(
        admin, user.id, quota=QuotaPatch(max_jobs_per_day=10, max_storage_bytes=None))).unwrap()

    assert profile.quota == msgspec.structs.replace(USER_DEFAULT, max_jobs_per_day=10, max_storage_bytes=None)
    assert world.state.users[user.id].quota == profile.quota
    entry = world.state.audit[-1]
    assert (entry.action, entry.actor_id, entry.resource_id) == ("user.update", admin.user_id, user.id)
    assert entry.details == {"quota": {"max_jobs_per_day": 10, "max_concurrent_jobs": 4,
                                       "max_storage_bytes": None, "max_private_accounts": 3}}

    again = world.run(world.update_user(admin, user.id, quota=QuotaPatch(max_concurrent_jobs=1))).unwrap()
    assert again.quota == msgspec.structs.replace(profile.quota, max_concurrent_jobs=1)


@pytest.mark.parametrize("changes", [
    {"quota": QuotaPatch(max_jobs_per_day=-1)},
    {"role": "superuser"},
    {"role": "admin", "quota": QuotaPatch(max_private_accounts=-3)},
])
def test_bad_updates_are_validation_errors_and_change_nothing(world: World, changes: dict[str, Any]) -> None:
    admin = world.admin()
    user = world.signup()
    audit_before = len(world.state.audit)

    assert failure_code(world.run(world.update_user(admin, user.id, **changes))) is ErrorCode.VALIDATION_ERROR
    assert world.state.users[user.id] == user
    assert len(world.state.audit) == audit_before


def test_a_role_change_moves_a_default_quota_to_the_new_roles_default(world: World) -> None:
    admin = world.admin()
    plain = world.signup()
    custom = world.signup("bob@example.com", "bob")
    world.run(world.update_user(admin, custom.id, quota=QuotaPatch(max_jobs_per_day=7))).unwrap()

    promoted = world.run(world.update_user(admin, plain.id, role="admin")).unwrap()
    kept = world.run(world.update_user(admin, custom.id, role="admin")).unwrap()

    assert (promoted.role, promoted.quota) == (Role.ADMIN, ADMIN_DEFAULT)
    assert (kept.role, kept.quota.max_jobs_per_day) == (Role.ADMIN, 7)
    demoted = world.run(world.update_user(admin, plain.id, role="user",
                                          quota=QuotaPatch(max_storage_bytes=GIB))).unwrap()
    assert demoted.quota == msgspec.structs.replace(USER_DEFAULT, max_storage_bytes=GIB)


def test_the_last_active_admin_cannot_be_demoted(world: World) -> None:
    admin = world.admin()

    assert failure_code(world.run(world.update_user(admin, admin.user_id, role="user"))) is ErrorCode.CONFLICT
    assert world.state.users[admin.user_id].role is Role.ADMIN

    other = world.signup("ops@example.com", "ops")
    world.run(world.update_user(admin, other.id, role="admin")).unwrap()
    assert world.run(world.update_user(admin, admin.user_id, role="user")).unwrap().role is Role.USER


def test_an_inactive_admin_does_not_count_as_another_admin(world: World) -> None:
    admin = world.admin()
    other = world.signup("ops@example.com", "ops")
    world.run(world.update_user(admin, other.id, role="admin")).unwrap()
    world.run(world.update_user(admin, other.id, is_active=False)).unwrap()

    assert failure_code(world.run(world.update_user(admin, admin.user_id, role="user"))) is ErrorCode.CONFLICT


def test_nobody_can_deactivate_themselves(world: World) -> None:
    admin = world.admin()
    ops_user = world.signup("ops@example.com", "ops")
    world.run(world.update_user(admin, ops_user.id, role="admin")).unwrap()
    ops = world.principal(world.log_in("ops@example.com"))

    result = world.run(world.update_user(ops, ops.user_id, is_active=False))

    assert failure_code(result) is ErrorCode.CONFLICT
    assert world.state.users[ops.user_id].is_active


def test_deactivating_a_user_ends_their_sessions_and_logins(world: World) -> None:
    admin = world.admin()
    user = world.signup()
    tokens = [world.log_in(), world.log_in()]

    profile = world.run(world.update_user(admin, user.id, is_active=False)).unwrap()

    assert profile.is_active is False
    assert world.state.audit[-1].details == {"is_active": False, "sessions_revoked": 2}
    for pair in tokens:
        assert failure_code(world.run(world.authenticate(pair.access_token))) is ErrorCode.UNAUTHENTICATED
    assert failure_code(world.run(world.login("alice@example.com", PASSWORD, "1.2.3.4"))) is (
        ErrorCode.UNAUTHENTICATED)
    world.run(world.update_user(admin, user.id, is_active=True)).unwrap()
    assert isinstance(world.run(world.login("alice@example.com", PASSWORD, "1.2.3.4")), Success)


def test_an_update_that_changes_nothing_writes_no_audit_entry(world: World) -> None:
    admin = world.admin()
    user = world.signup()
    audit_before = len(world.state.audit)

    world.run(world.update_user(admin, user.id)).unwrap()
    world.run(world.update_user(admin, user.id, role="user", is_active=True,
                                quota=QuotaPatch(max_jobs_per_day=100))).unwrap()

    assert len(world.state.audit) == audit_before


# ------------------------------------------------------------------ grant credits


def test_grant_credits_adds_to_the_balance_through_the_ledger(world: World) -> None:
    admin = world.admin()
    user = world.signup()

    balance = world.run(world.grant_credits(admin, user.id, 250, memo="welcome bonus")).unwrap()

    assert (balance.available, balance.held) == (1250, 0)
    grant = world.state.transactions[-1]
    assert (grant.kind, grant.user_id, grant.memo) == (TxKind.GRANT, user.id, "welcome bonus")
    entry = world.state.audit[-1]
    assert (entry.action, entry.actor_id, entry.resource_id) == ("user.grant_credits", admin.user_id, user.id)
    assert entry.details == {"amount": 250, "memo": "welcome bonus", "transaction_id": grant.id}
    assert world.run(world.profile(user.id)).unwrap().credits == 1250
    assert invariant_violations(world.state.transactions, world.state.holds.values()) == []


@pytest.mark.parametrize(("amount", "memo"), [
    (0, None), (-5, None), (True, None), (1_000_000_001, None), (10, "m" * 501),
])
def test_bad_grants_are_validation_errors_and_write_nothing(world: World, amount: int, memo: str | None) -> None:
    admin = world.admin()
    user = world.signup()
    written = (len(world.state.transactions), len(world.state.audit))

    result = world.run(world.grant_credits(admin, user.id, amount, memo=memo))

    assert failure_code(result) is ErrorCode.VALIDATION_ERROR
    assert (len(world.state.transactions), len(world.state.audit)) == written


def test_grants_need_an_admin_and_a_known_user(world: World) -> None:
    admin = world.admin()
    mallory = not_admin(world)

    assert failure_code(world.run(world.grant_credits(mallory, mallory.user_id, 10))) is ErrorCode.FORBIDDEN
    assert failure_code(world.run(world.grant_credits(admin, "nobody", 10))) is ErrorCode.NOT_FOUND
    assert world.state.balances[mallory.user_id].available == 1000


# ------------------------------------------------------------------ bootstrap admin


def test_ensure_admin_creates_the_admin_once(world: World) -> None:
    user, created = world.run(world.ensure_admin("Root@Example.com", ADMIN_PASSWORD)).unwrap()

    assert created and (user.email, user.username, user.role) == (ADMIN_EMAIL, "admin", Role.ADMIN)
    assert user.quota == ADMIN_DEFAULT
    assert world.state.balances[user.id].available == 1000
    entry = world.state.audit[-1]
    assert (entry.action, entry.actor_id) == ("user.bootstrap_admin", None)

    again, created_again = world.run(world.ensure_admin(ADMIN_EMAIL, "another password")).unwrap()
    assert (again, created_again) == (user, False)
    assert world.actions().count("user.bootstrap_admin") == 1
    assert world.principal(world.log_in(ADMIN_EMAIL, ADMIN_PASSWORD)).is_admin


def test_ensure_admin_never_promotes_an_existing_user(world: World) -> None:
    world.signup(ADMIN_EMAIL, "squatter")

    assert failure_code(world.run(world.ensure_admin(ADMIN_EMAIL, ADMIN_PASSWORD))) is ErrorCode.CONFLICT
    assert [u.role for u in world.state.users.values()] == [Role.USER]


def test_ensure_admin_picks_another_username_when_admin_is_taken(world: World) -> None:
    world.signup("someone@example.com", "admin")

    user, created = world.run(world.ensure_admin(ADMIN_EMAIL, ADMIN_PASSWORD)).unwrap()

    assert created and user.username == "pixrelay-admin"


@pytest.mark.parametrize(("email", "password"), [("root", ADMIN_PASSWORD), (ADMIN_EMAIL, "short")])
def test_ensure_admin_validates_its_input(world: World, email: str, password: str) -> None:
    assert failure_code(world.run(world.ensure_admin(email, password))) is ErrorCode.VALIDATION_ERROR
    assert world.state.users == {}

