"""Sign-up, log-in with rate limits, refresh rotation with reuse detection, sessions, and
access-token authentication on the in-memory adapters."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from returns.result import Success

from application.auth.authenticate import Principal
from application.auth.sessions import SessionInfo
from application.policy import AuthPolicy
from domain.errors import ErrorCode
from domain.ledger import TxKind, available_account
from domain.quotas import USER_DEFAULT
from domain.users import Role, hash_secret
from tests.unit.application.auth_world import PASSWORD, World, failure_code


@pytest.fixture
def world() -> Iterator[World]:
    with asyncio.Runner() as runner:
        yield World(runner)


def limited_world(runner: asyncio.Runner, **policy: Any) -> World:
    return World(runner, AuthPolicy(login_window_seconds=60, **policy))


# ------------------------------------------------------------------ register


def test_register_creates_a_user_with_default_quota_signup_credits_and_an_audit_entry(world: World) -> None:
    user = world.run(world.register("  Alice@Example.COM ", "alice", PASSWORD)).unwrap()

    assert (user.email, user.username, user.role, user.quota) == (
        "alice@example.com", "alice", Role.USER, USER_DEFAULT)
    assert user.password_hash != PASSWORD and world.run(world.hasher.verify(user.password_hash, PASSWORD))
    assert world.state.users[user.id] == user
    [grant] = world.state.transactions
    assert (grant.kind, grant.user_id, grant.memo) == (TxKind.GRANT, user.id, "signup")
    assert {p.account: p.amount for p in grant.postings}[available_account(user.id)] == 1000
    assert world.state.balances[user.id].available == 1000
    [entry] = world.state.audit
    assert (entry.action, entry.actor_id, entry.resource_id) == ("user.register", user.id, user.id)


def test_signup_credits_follow_the_policy() -> None:
    with asyncio.Runner() as runner:
        world = World(runner, AuthPolicy(signup_credits=0))
        user = world.signup()
        assert world.state.transactions == []
        assert world.run(world.profile(user.id)).unwrap().credits == 0


@pytest.mark.parametrize(("email", "username"), [
    ("ALICE@example.com", "bob"),  # the email, in another case
    ("bob@example.com", "Alice"),  # the username, in another case
])
def test_a_taken_email_or_username_is_a_conflict_and_writes_nothing(
        world: World, email: str, username: str) -> None:
    world.signup("alice@example.com", "alice")

    result = world.run(world.register(email, username, PASSWORD))

    assert failure_code(result) is ErrorCode.CONFLICT
    assert len(world.state.users) == 1
    assert len(world.state.transactions) == 1
    assert world.actions() == ["user.register"]


@pytest.mark.parametrize(("email", "username", "password", "field"), [
    ("not-an-email", "alice", PASSWORD, "email"),
    ("alice@example", "alice", PASSWORD, "email"),
    ("alice@example.com", "al", PASSWORD, "username"),
    ("alice@example.com", "alice smith", PASSWORD, "username"),
    ("alice@example.com", "alice", "short", "password"),
    ("alice@example.com", "alice", "x" * 257, "password"),
])
def test_bad_registration_input_is_a_validation_error(
        world: World, email: str, username: str, password: str, field: str) -> None:
    result = world.run(world.register(email, username, password))

    assert failure_code(result) is ErrorCode.VALIDATION_ERROR
    assert result.failure().field == field
    assert world.state.users == {} and world.state.audit == []


# ------------------------------------------------------------------ log in


def test_login_returns_a_token_pair_and_stores_only_the_secret_hash(world: World) -> None:
    user = world.signup()

    tokens = world.log_in("ALICE@example.com")

    assert tokens.token_type == "bearer" and tokens.expires_in == 900
    session_id, secret = tokens.refresh_token.split(".", 1)
    assert session_id == tokens.session_id
    session = world.state.sessions[session_id]
    assert session.user_id == user.id
    assert session.refresh_hash == hash_secret(secret) and secret not in session.refresh_hash
    assert (session.client_ip, session.user_agent) == ("10.0.0.1", "pytest")
    assert session.expires_at == world.clock.now() + timedelta(days=30)
    assert world.principal(tokens) == Principal(user.id, session_id, Role.USER)
    assert world.actions()[-1] == "session.create"


def test_unknown_email_wrong_password_and_inactive_user_fail_alike(world: World) -> None:
    admin = world.admin()
    world.signup()
    bob = world.signup("bob@example.com", "bob")
    world.run(world.update_user(admin, bob.id, is_active=False)).unwrap()

    failures = [
        world.run(world.login("nobody@example.com", PASSWORD, "10.0.0.1")),
        world.run(world.login("alice@example.com", "wrong password", "10.0.0.1")),
        world.run(world.login("bob@example.com", PASSWORD, "10.0.0.1")),
    ]

    assert {(r.failure().code, r.failure().detail) for r in failures} == {
        (ErrorCode.UNAUTHENTICATED, "email or password is wrong")}
    assert {s.user_id for s in world.state.sessions.values()} == {admin.user_id}


WRONG = "wrong password"


def fail(world: World, email: str, client: str, times: int = 1) -> None:
    for _ in range(times):
        assert failure_code(world.run(world.login(email, WRONG, client))) is ErrorCode.UNAUTHENTICATED


def test_successful_logins_do_not_count() -> None:
    """Behind a proxy every user shares one client address: their logins must not add up."""
    with asyncio.Runner() as runner:
        world = limited_world(runner, login_failures_per_email_client=2, login_attempts_per_client=2,
                              login_attempts_per_email=2)
        world.signup()
        for _ in range(10):
            world.log_in(client_ip="203.0.113.7")
        fail(world, "alice@example.com", "203.0.113.7")  # a typo still leaves room
        assert isinstance(world.run(world.login("alice@example.com", PASSWORD, "203.0.113.7")), Success)


def test_failures_of_one_email_from_one_client_are_limited() -> None:
    with asyncio.Runner() as runner:
        world = limited_world(runner, login_failures_per_email_client=3)
        world.signup()
        fail(world, "alice@example.com", "10.0.0.5", times=3)

        limited = world.run(world.login("Alice@example.com", PASSWORD, "10.0.0.5"))

        assert failure_code(limited) is ErrorCode.RATE_LIMITED
        assert 0 < (limited.failure().retry_after or 0) <= 60
        assert isinstance(world.run(world.login("alice@example.com", PASSWORD, "10.0.0.6")), Success)
        world.clock.advance(61)
        assert isinstance(world.run(world.login("alice@example.com", PASSWORD, "10.0.0.5")), Success)


def test_nobody_can_lock_a_user_out_of_her_usual_client() -> None:
    """Guessing from many addresses stops at the per-email limit, for those addresses only."""
    with asyncio.Runner() as runner:
        world = limited_world(runner, login_attempts_per_email=5)
        alice = world.signup()
        world.log_in(client_ip="192.0.2.10")  # her usual client
        world.run(world.revoke_all(alice.id))  # even logged out everywhere
        for n in range(5):
            fail(world, "alice@example.com", f"198.51.100.{n}")

        assert failure_code(world.run(world.login("alice@example.com", WRONG, "198.51.100.99"))) \
            is ErrorCode.RATE_LIMITED  # the guessing stops
        assert failure_code(world.run(world.login("alice@example.com", PASSWORD, "198.51.100.98"))) \
            is ErrorCode.RATE_LIMITED  # a new client waits, even with the right password
        assert isinstance(world.run(world.login("alice@example.com", PASSWORD, "192.0.2.10")), Success)
        fail(world, "alice@example.com", "192.0.2.10", times=2)  # her own typos
        assert isinstance(world.run(world.login("alice@example.com", PASSWORD, "192.0.2.10")), Success)


def test_spraying_one_client_across_emails_is_limited() -> None:
    with asyncio.Runner() as runner:
        world = limited_world(runner, login_attempts_per_client=3)
        world.signup()
        world.signup("bob@example.com", "bob")
        world.log_in("bob@example.com", client_ip="203.0.113.7")  # bob's usual client
        for n in range(3):
            fail(world, f"guess{n}@example.com", "203.0.113.7")

        limited = world.run(world.login("alice@example.com", PASSWORD, "203.0.113.7"))

        assert failure_code(limited) is ErrorCode.RATE_LIMITED and limited.failure().retry_after
        assert isinstance(world.run(world.login("alice@example.com", PASSWORD, "198.51.100.1")), Success)
        assert isinstance(world.run(world.login("bob@example.com", PASSWORD, "203.0.113.7")), Success)


def test_concurrent_guesses_cannot_slip_under_the_limit() -> None:
    with asyncio.Runner() as runner:
        world = limited_world(runner, login_failures_per_email_client=3)
        world.signup()

        async def burst() -> list[Any]:
            return list(await asyncio.gather(*(world.login("alice@example.com", f"guess {n}", "10.0.0.5")
                                               for n in range(20))))

        codes = [failure_code(r) for r in world.run(burst())]
        assert codes.count(ErrorCode.UNAUTHENTICATED) == 3
        assert codes.count(ErrorCode.RATE_LIMITED) == 17


# ------------------------------------------------------------------ refresh


def test_refresh_rotates_the_secret_and_returns_a_working_pair(world: World) -> None:
    user = world.signup()
    first = world.log_in()
    world.clock.advance(60)

    second = world.run(world.refresh(first.refresh_token)).unwrap()

    assert second.session_id == first.session_id
    assert second.refresh_token != first.refresh_token
    session = world.state.sessions[first.session_id]
    assert session.generation == 1 and session.last_used_at == world.clock.now()
    assert session.refresh_hash == hash_secret(second.refresh_token.split(".", 1)[1])
    assert world.principal(second).user_id == user.id
    assert world.actions()[-1] == "session.refresh"


def test_reusing_an_old_refresh_token_revokes_the_whole_session(world: World) -> None:
    world.signup()
    first = world.log_in()
    second = world.run(world.refresh(first.refresh_token)).unwrap()

    reuse = world.run(world.refresh(first.refresh_token))

    assert failure_code(reuse) is ErrorCode.UNAUTHENTICATED
    assert world.state.sessions[first.session_id].revoked_at == world.clock.now()
    assert world.actions()[-1] == "session.revoke_on_reuse"
    assert failure_code(world.run(world.refresh(second.refresh_token))) is ErrorCode.UNAUTHENTICATED
    assert failure_code(world.run(world.authenticate(second.access_token))) is ErrorCode.UNAUTHENTICATED


def test_an_expired_session_cannot_be_refreshed(world: World) -> None:
    world.signup()
    tokens = world.log_in()
    world.clock.advance(days=30)

    assert failure_code(world.run(world.refresh(tokens.refresh_token))) is ErrorCode.UNAUTHENTICATED
    assert world.state.sessions[tokens.session_id].revoked_at is None


def test_a_logged_out_session_cannot_be_refreshed(world: World) -> None:
    world.signup()
    tokens = world.log_in()
    world.run(world.logout(tokens.session_id)).unwrap()

    assert failure_code(world.run(world.refresh(tokens.refresh_token))) is ErrorCode.UNAUTHENTICATED


def test_a_deactivated_user_cannot_refresh(world: World) -> None:
    admin = world.admin()
    user = world.signup()
    tokens = world.log_in()
    world.run(world.update_user(admin, user.id, is_active=False)).unwrap()

    assert failure_code(world.run(world.refresh(tokens.refresh_token))) is ErrorCode.UNAUTHENTICATED


@pytest.mark.parametrize("token", [
    "", "no-dot-at-all", "id000000000002.short", ".aaaaaaaaaaaaaaaaaaaaaaaa",
    "unknown-session.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
])
def test_malformed_or_unknown_refresh_tokens_are_unauthenticated(world: World, token: str) -> None:
    world.signup()
    world.log_in()
    audit_before = len(world.state.audit)

    assert failure_code(world.run(world.refresh(token))) is ErrorCode.UNAUTHENTICATED
    assert len(world.state.audit) == audit_before


# ------------------------------------------------------------------ authenticate


def test_logout_stops_the_access_token_at_once(world: World) -> None:
    world.signup()
    tokens = world.log_in()
    principal = world.principal(tokens)

    assert world.run(world.logout(principal.session_id)) == Success(None)

    assert failure_code(world.run(world.authenticate(tokens.access_token))) is ErrorCode.UNAUTHENTICATED
    assert world.actions()[-1] == "session.logout"
    assert world.run(world.logout(principal.session_id)) == Success(None)  # again: nothing changes
    assert world.actions().count("session.logout") == 1
    assert failure_code(world.run(world.logout("no-such-session"))) is ErrorCode.NOT_FOUND


def test_an_expired_access_token_is_unauthenticated(world: World) -> None:
    world.signup()
    tokens = world.log_in()
    world.clock.advance(900 + 11)

    assert failure_code(world.run(world.authenticate(tokens.access_token))) is ErrorCode.UNAUTHENTICATED


def test_a_token_naming_another_users_session_or_an_unknown_session_fails(world: World) -> None:
    alice = world.signup()
    bob = world.signup("bob@example.com", "bob")
    bobs = world.log_in("bob@example.com")
    now = world.clock.now()

    forged, _ = world.tokens.issue(alice.id, bobs.session_id, Role.USER, now)
    unknown, _ = world.tokens.issue(bob.id, "no-such-session", Role.USER, now)

    for token in (forged, unknown, "garbage"):
        assert failure_code(world.run(world.authenticate(token))) is ErrorCode.UNAUTHENTICATED


def test_the_principal_carries_the_users_current_role_and_active_flag(world: World) -> None:
    admin = world.admin()
    user = world.signup()
    tokens = world.log_in()
    assert not world.principal(tokens).is_admin

    world.run(world.update_user(admin, user.id, role="admin")).unwrap()
    assert world.principal(tokens).is_admin

    world.run(world.update_user(admin, user.id, is_active=False)).unwrap()
    assert failure_code(world.run(world.authenticate(tokens.access_token))) is ErrorCode.UNAUTHENTICATED


# ------------------------------------------------------------------ sessions


def test_list_sessions_shows_the_live_ones_newest_first_without_secrets(world: World) -> None:
    world.signup()
    first = world.log_in()
    world.clock.advance(5)
    second = world.log_in(client_ip="10.0.0.2")
    third = world.log_in(client_ip="10.0.0.3")
    world.run(world.logout(third.session_id)).unwrap()
    user_id = world.principal(first).user_id

    sessions = world.run(world.list_sessions(user_id)).unwrap()

    assert [s.id for s in sessions] == [second.session_id, first.session_id]
    assert all(isinstance(s, SessionInfo) and not hasattr(s, "refresh_hash") for s in sessions)
    assert sessions[0].client_ip == "10.0.0.2"


def test_revoke_session_ends_one_own_session_and_hides_other_users_sessions(world: World) -> None:
    alice = world.signup()
    world.signup("bob@example.com", "bob")
    mine, other = world.log_in(), world.log_in()
    bobs = world.log_in("bob@example.com")

    assert failure_code(world.run(world.revoke_session(alice.id, bobs.session_id))) is ErrorCode.NOT_FOUND
    assert failure_code(world.run(world.revoke_session(alice.id, "nope"))) is ErrorCode.NOT_FOUND
    assert world.principal(bobs).session_id == bobs.session_id

    assert world.run(world.revoke_session(alice.id, other.session_id)) == Success(None)
    assert failure_code(world.run(world.authenticate(other.access_token))) is ErrorCode.UNAUTHENTICATED
    assert world.principal(mine).session_id == mine.session_id
    assert world.run(world.revoke_session(alice.id, other.session_id)) == Success(None)
    assert world.actions().count("session.revoke") == 1


def test_revoke_all_sessions_ends_every_session_of_the_user_only(world: World) -> None:
    alice = world.signup()
    world.signup("bob@example.com", "bob")
    mine = [world.log_in(), world.log_in()]
    bobs = world.log_in("bob@example.com")

    assert world.run(world.revoke_all(alice.id)) == Success(2)

    for tokens in mine:
        assert failure_code(world.run(world.authenticate(tokens.access_token))) is ErrorCode.UNAUTHENTICATED
        assert failure_code(world.run(world.refresh(tokens.refresh_token))) is ErrorCode.UNAUTHENTICATED
    assert world.principal(bobs).session_id == bobs.session_id
    entry = world.state.audit[-1]
    assert (entry.action, entry.details) == ("session.revoke_all", {"revoked": 2})
