"""Provider accounts: eligibility, the selection order, reservations and health rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from domain.accounts import (
    ACCOUNT_FAULTS,
    JOB_FINAL,
    AccountStatus,
    CooldownRule,
    FailureKind,
    PreferPrivateThenPriority,
    ProviderAccount,
    SelectionRequest,
    free_slot,
    is_available,
    is_eligible,
    record_failure,
    record_success,
    reserve,
    select,
)
from domain.errors import ErrorCode

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PROPERTY = settings(max_examples=200, deadline=None, database=None)
POLICY = PreferPrivateThenPriority()


def make_account(**changes: Any) -> ProviderAccount:
    fields: dict[str, Any] = {
        "id": "acc-1",
        "provider_id": "sim",
        "label": "main",
        "secret": "key",
        "created_at": NOW - timedelta(days=1),
        "credits": 100,
        "max_concurrent_jobs": 2,
    }
    fields.update(changes)
    return ProviderAccount(**fields)


def make_request(**changes: Any) -> SelectionRequest:
    fields: dict[str, Any] = {"provider_id": "sim", "user_id": "u1", "cost": 10, "now": NOW}
    fields.update(changes)
    return SelectionRequest(**fields)


# --- the struct -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [{"credits": -1}, {"max_concurrent_jobs": 0}, {"current_jobs": -1}, {"current_jobs": 3, "max_concurrent_jobs": 2}],
)
def test_account_rejects_impossible_counters(changes: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        make_account(**changes)


def test_shared_means_no_owner() -> None:
    assert make_account().is_shared
    assert not make_account(owner_user_id="u1").is_shared


def test_failure_kind_groups_do_not_overlap() -> None:
    assert {FailureKind.AUTH, FailureKind.CREDITS} == ACCOUNT_FAULTS
    assert {FailureKind.INVALID, FailureKind.MODERATED} == JOB_FINAL
    assert not ACCOUNT_FAULTS & JOB_FINAL


# --- availability and eligibility -------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cooldown_until", "available"),
    [
        (AccountStatus.ACTIVE, None, True),
        (AccountStatus.COOLING_DOWN, NOW - timedelta(seconds=1), True),
        (AccountStatus.COOLING_DOWN, NOW, True),
        (AccountStatus.COOLING_DOWN, NOW + timedelta(seconds=1), False),
        (AccountStatus.COOLING_DOWN, None, False),
        (AccountStatus.EXHAUSTED, None, False),
        (AccountStatus.DISABLED, NOW - timedelta(days=1), False),
    ],
)
def test_is_available(status: AccountStatus, cooldown_until: datetime | None, available: bool) -> None:
    assert is_available(make_account(status=status, cooldown_until=cooldown_until), NOW) is available


def test_an_active_shared_account_with_room_and_credits_is_eligible() -> None:
    assert is_eligible(make_account(), make_request())


@pytest.mark.parametrize(
    ("account_changes", "request_changes"),
    [
        ({"provider_id": "other"}, {}),
        ({"owner_user_id": "u2"}, {}),
        ({"status": AccountStatus.DISABLED}, {}),
        ({"credits": 9}, {}),
        ({"current_jobs": 2}, {}),
        ({}, {"excluded_account_ids": frozenset({"acc-1"})}),
    ],
)
def test_each_eligibility_rule_excludes(account_changes: dict[str, Any], request_changes: dict[str, Any]) -> None:
    assert not is_eligible(make_account(**account_changes), make_request(**request_changes))


def test_exact_credits_and_own_private_account_are_eligible() -> None:
    assert is_eligible(make_account(credits=10, owner_user_id="u1", current_jobs=1), make_request())


# --- selection ---------------------------------------------------------------------------


def test_rank_orders_private_then_priority_then_lru_then_credits_then_id() -> None:
    old, new = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    accounts = [
        make_account(id="shared-high", priority=9),
        make_account(id="private-low", owner_user_id="u1", priority=0),
        make_account(id="shared-mid-new", priority=5, last_used_at=new),
        make_account(id="shared-mid-old", priority=5, last_used_at=old),
        make_account(id="shared-mid-never", priority=5, last_used_at=None),
        make_account(id="shared-mid-old-rich", priority=5, last_used_at=old, credits=500),
        make_account(id="b-tie", priority=1),
        make_account(id="a-tie", priority=1),
        make_account(id="someone-elses", owner_user_id="u2", priority=10),
        make_account(id="broke", credits=0, priority=10),
    ]
    ranked = [a.id for a in POLICY.rank(accounts, make_request())]
    assert ranked == [
        "private-low", "shared-high", "shared-mid-never", "shared-mid-old-rich", "shared-mid-old",
        "shared-mid-new", "a-tie", "b-tie",
    ]


def test_select_takes_the_best_and_reports_no_account() -> None:
    best = make_account(id="best", priority=3)
    assert select(POLICY, [make_account(), best], make_request()) == Success(best)
    result = select(POLICY, [make_account(credits=0)], make_request())
    assert isinstance(result, Failure)
    assert result.failure().code is ErrorCode.NO_AVAILABLE_ACCOUNT
    assert "sim" in result.failure().detail


def test_rank_works_with_non_utc_request_time() -> None:
    request = make_request(now=NOW.astimezone(timezone(timedelta(hours=-5))))
    accounts = [make_account(id="used", last_used_at=NOW), make_account(id="never")]
    assert [a.id for a in POLICY.rank(accounts, request)] == ["never", "used"]


statuses = st.sampled_from(list(AccountStatus))


@st.composite
def accounts_strategy(draw: st.DrawFn, index: int) -> ProviderAccount:
    max_jobs = draw(st.integers(1, 3))
    return make_account(
        id=f"acc-{index}",
        provider_id=draw(st.sampled_from(["sim", "other"])),
        owner_user_id=draw(st.sampled_from([None, None, "u1", "u2"])),
        credits=draw(st.integers(0, 20)),
        max_concurrent_jobs=max_jobs,
        current_jobs=draw(st.integers(0, max_jobs)),
        priority=draw(st.integers(0, 3)),
        status=draw(statuses),
        cooldown_until=draw(st.sampled_from([None, NOW - timedelta(minutes=1), NOW + timedelta(minutes=1)])),
        last_used_at=draw(st.sampled_from([None, NOW - timedelta(hours=2), NOW - timedelta(hours=1)])),
    )


@st.composite
def pools(draw: st.DrawFn) -> tuple[list[ProviderAccount], SelectionRequest]:
    size = draw(st.integers(0, 8))
    accounts = [draw(accounts_strategy(i)) for i in range(size)]
    excluded = draw(st.frozensets(st.sampled_from([f"acc-{i}" for i in range(8)]), max_size=3))
    request = make_request(cost=draw(st.integers(0, 12)), excluded_account_ids=excluded)
    return accounts, request


def comes_before(a: ProviderAccount, b: ProviderAccount, user_id: str) -> bool:
    """The documented order, spelled out rule by rule."""
    a_private, b_private = a.owner_user_id == user_id, b.owner_user_id == user_id
    if a_private != b_private:
        return a_private
    if a.priority != b.priority:
        return a.priority > b.priority
    if a.last_used_at != b.last_used_at:
        return a.last_used_at is None or (b.last_used_at is not None and a.last_used_at < b.last_used_at)
    if a.credits != b.credits:
        return a.credits > b.credits
    return a.id < b.id


@PROPERTY
@given(pools())
def test_ranking_holds_exactly_the_eligible_accounts_in_documented_order(
    pool: tuple[list[ProviderAccount], SelectionRequest],
) -> None:
    accounts, request = pool
    ranked = POLICY.rank(accounts, request)
    assert {a.id for a in ranked} == {a.id for a in accounts if is_eligible(a, request)}
    assert len(ranked) == len({a.id for a in ranked})
    for first, second in pairwise(ranked):
        assert comes_before(first, second, request.user_id)
    chosen = select(POLICY, accounts, request)
    if any(is_eligible(a, request) for a in accounts):
        assert chosen == Success(ranked[0])
        assert is_eligible(chosen.unwrap(), request)
    else:
        assert isinstance(chosen, Failure)
        assert chosen.failure().code is ErrorCode.NO_AVAILABLE_ACCOUNT


# --- reserve / release ------------------------------------------------------------------


def test_reserve_takes_a_slot_and_the_cost() -> None:
    reserved = reserve(make_account(), 30, NOW).unwrap()
    assert (reserved.current_jobs, reserved.credits, reserved.last_used_at) == (1, 70, NOW)


@pytest.mark.parametrize(
    ("changes", "cost"), [({"current_jobs": 2}, 1), ({"credits": 5}, 6)],
)
def test_reserve_refuses_a_full_or_poor_account(changes: dict[str, int], cost: int) -> None:
    result = reserve(make_account(**changes), cost, NOW)
    assert isinstance(result, Failure)
    assert result.failure().code is ErrorCode.NO_AVAILABLE_ACCOUNT


def test_reserve_refuses_a_negative_cost() -> None:
    result = reserve(make_account(), -1, NOW)
    assert isinstance(result, Failure)
    assert result.failure().code is ErrorCode.VALIDATION_ERROR


def test_freeing_a_slot_gives_back_the_slot_and_unused_credits_but_never_below_zero_slots() -> None:
    released = free_slot(make_account(current_jobs=1, credits=70), 20)
    assert (released.current_jobs, released.credits) == (0, 90)
    idle = free_slot(make_account(current_jobs=0, credits=5), -10)
    assert (idle.current_jobs, idle.credits) == (0, 5)


@PROPERTY
@given(
    credits=st.integers(0, 50),
    max_jobs=st.integers(1, 4),
    ops=st.lists(st.tuples(st.booleans(), st.integers(0, 20), st.integers(0, 20)), max_size=40),
)
def test_any_interleaving_of_reserve_and_release_keeps_the_limits(
    credits: int, max_jobs: int, ops: list[tuple[bool, int, int]]
) -> None:
    account = make_account(credits=credits, max_concurrent_jobs=max_jobs)
    outstanding: list[int] = []  # costs of the reservations not yet released
    for is_reserve, cost, used in ops:
        if is_reserve:
            result = reserve(account, cost, NOW)
            had_room = account.current_jobs < max_jobs and account.credits >= cost
            assert isinstance(result, Success) is had_room
            if isinstance(result, Success):
                account = result.unwrap()
                outstanding.append(cost)
        elif outstanding:
            cost = outstanding.pop(0)
            account = free_slot(account, cost - min(used, cost))
        else:
            account = free_slot(account, 0)
        assert 0 <= account.current_jobs <= account.max_concurrent_jobs
        assert account.current_jobs == len(outstanding)
        assert account.credits >= 0


# --- health: success and failure --------------------------------------------------------


def test_record_success_averages_generation_time_and_reactivates() -> None:
    cooling = make_account(status=AccountStatus.COOLING_DOWN, cooldown_until=NOW, consecutive_failures=3)
    first = record_success(cooling, 10.0)
    assert (first.status, first.cooldown_until, first.consecutive_failures) == (AccountStatus.ACTIVE, None, 0)
    assert (first.success_count, first.avg_generation_seconds) == (1, 10.0)
    second = record_success(first, 20.0)
    assert (second.success_count, second.avg_generation_seconds) == (2, 15.0)


@pytest.mark.parametrize("status", [AccountStatus.DISABLED, AccountStatus.EXHAUSTED])
def test_record_success_does_not_revive_an_account_taken_out_of_service(status: AccountStatus) -> None:
    until = NOW + timedelta(minutes=1)
    account = record_success(make_account(status=status, cooldown_until=until, consecutive_failures=2), 5.0)
    assert (account.status, account.cooldown_until, account.consecutive_failures) == (status, until, 0)


@pytest.mark.parametrize(
    ("kind", "status"), [(FailureKind.AUTH, AccountStatus.DISABLED), (FailureKind.CREDITS, AccountStatus.EXHAUSTED)]
)
def test_account_faults_take_the_account_out(kind: FailureKind, status: AccountStatus) -> None:
    account = record_failure(make_account(failure_count=4), kind, NOW, CooldownRule())
    assert account.status is status
    assert account.failure_count == 5
    assert account.consecutive_failures == 0


@pytest.mark.parametrize("kind", sorted(JOB_FINAL))
def test_job_final_failures_leave_the_account_unchanged(kind: FailureKind) -> None:
    account = make_account(consecutive_failures=1, failure_count=2)
    assert record_failure(account, kind, NOW, CooldownRule()) == account


def test_rate_limit_honours_a_longer_retry_after() -> None:
    account = record_failure(make_account(), FailureKind.RATE_LIMITED, NOW, CooldownRule(30, 1800), 120)
    assert account.cooldown_until == NOW + timedelta(seconds=120)
    short = record_failure(make_account(), FailureKind.RATE_LIMITED, NOW, CooldownRule(30, 1800), 5)
    assert short.cooldown_until == NOW + timedelta(seconds=30)


def test_transient_failure_on_a_disabled_account_keeps_it_disabled() -> None:
    account = record_failure(make_account(status=AccountStatus.DISABLED), FailureKind.TRANSIENT, NOW, CooldownRule())
    assert account.status is AccountStatus.DISABLED
    assert account.consecutive_failures == 1


def test_cooldown_rule_defaults_double_from_30s_to_30min() -> None:
    rule = CooldownRule()
    assert [rule.duration(n).total_seconds() for n in (0, 1, 2, 3, 6, 7, 100)] == [
        30, 30, 60, 120, 960, 1800, 1800,
    ]


@PROPERTY
@given(
    base=st.floats(1, 120),
    factor=st.floats(1, 100),
    previous=st.integers(0, 60),
    status=st.sampled_from([AccountStatus.ACTIVE, AccountStatus.COOLING_DOWN]),
)
def test_transient_failures_cool_down_within_bounds_and_double(
    base: float, factor: float, previous: int, status: AccountStatus
) -> None:
    rule = CooldownRule(base, base * factor)
    account = make_account(consecutive_failures=previous, status=status)
    cooled = record_failure(account, FailureKind.TRANSIENT, NOW, rule)
    assert cooled.status is AccountStatus.COOLING_DOWN
    assert cooled.consecutive_failures == previous + 1
    assert cooled.failure_count == account.failure_count + 1
    assert cooled.cooldown_until is not None
    cooldown = (cooled.cooldown_until - NOW).total_seconds()
    assert rule.base_seconds - 1e-6 <= cooldown <= rule.cap_seconds + 1e-6
    if previous >= 1:
        before = rule.duration(previous).total_seconds()
        assert cooldown == pytest.approx(min(rule.cap_seconds, 2 * before), abs=2e-6)
    assert not is_available(cooled, NOW)
    assert is_available(cooled, cooled.cooldown_until)
    reset = record_success(cooled, 1.0)
    assert reset.consecutive_failures == 0
    assert reset.status is AccountStatus.ACTIVE

