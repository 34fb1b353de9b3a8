"""Dispatch rules: why a pending job waits, and the plan a claim follows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from adapters.providers.guarded import CIRCUIT_OPEN
from domain.accounts import AccountStatus, PreferPrivateThenPriority, ProviderAccount
from domain.dispatch import (
    CIRCUIT_OPEN_CODE,
    Waiting,
    WaitingReason,
    dispatch_window,
    has_usable_account,
    plan_dispatch,
    why_waiting,
)
from domain.jobs import Job, JobStatus, OperationType

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)


def job(**changes: Any) -> Job:
    values: dict[str, Any] = {"id": "j1", "user_id": "u1", "provider_id": "sim",
                              "operation_type": OperationType.TEXT_TO_IMAGE, "params": {},
                              "created_at": NOW, "run_after": NOW, "cost_estimate": 1}
    return Job(**{**values, **changes})


def account(**changes: Any) -> ProviderAccount:
    values: dict[str, Any] = {"id": "a1", "provider_id": "sim", "label": "a", "secret": "s",
                              "created_at": NOW, "credits": 10, "max_concurrent_jobs": 1}
    return ProviderAccount(**{**values, **changes})


BUSY = account(current_jobs=1)
COOLING = account(id="a2", status=AccountStatus.COOLING_DOWN, cooldown_until=LATER)


@pytest.mark.parametrize(("waiting_job", "parent", "room", "accounts", "expected"), [
    (job(), None, None, [account()], None),
    (job(status=JobStatus.PROCESSING), None, 0, [], None),
    (job(parent_job_id="p"), job(id="p", status=JobStatus.PROCESSING), None, [account()],
     Waiting(WaitingReason.PARENT_RUNNING)),
    (job(parent_job_id="p"), None, None, [account()], Waiting(WaitingReason.PARENT_RUNNING)),
    (job(parent_job_id="p"), job(id="p", status=JobStatus.COMPLETED), None, [account()], None),
    (job(run_after=LATER), None, None, [account()], Waiting(WaitingReason.SCHEDULED, LATER)),
    (job(run_after=LATER, error_code=CIRCUIT_OPEN_CODE), None, None, [account()],
     Waiting(WaitingReason.CIRCUIT_OPEN, LATER)),
    (job(), None, 0, [account()], Waiting(WaitingReason.CONCURRENCY_LIMIT)),
    (job(), None, 1, [account()], None),
    (job(), None, None, [], Waiting(WaitingReason.NO_ACCOUNT)),
    (job(), None, None, [account(status=AccountStatus.DISABLED), account(id="a2", status=AccountStatus.EXHAUSTED)],
     Waiting(WaitingReason.NO_ACCOUNT)),
    (job(cost_estimate=50), None, None, [account()], Waiting(WaitingReason.NO_ACCOUNT)),
    (job(), None, None, [account(owner_user_id="someone-else")], Waiting(WaitingReason.NO_ACCOUNT)),
    (job(), None, None, [account(provider_id="other")], Waiting(WaitingReason.NO_ACCOUNT)),
    (job(), None, None, [BUSY], Waiting(WaitingReason.ACCOUNTS_BUSY)),
    (job(), None, None, [BUSY, COOLING], Waiting(WaitingReason.ACCOUNTS_BUSY)),
    (job(), None, None, [COOLING, msgspec.structs.replace(COOLING, id="a3", cooldown_until=LATER + timedelta(minutes=5))],
     Waiting(WaitingReason.ACCOUNTS_COOLING_DOWN, LATER)),
    (job(), None, None, [msgspec.structs.replace(COOLING, cooldown_until=NOW)], None),
    (job(excluded_account_ids=("a1",)), None, None, [account(), BUSY], None),  # only the failed one: used
    (job(excluded_account_ids=("a1",)), None, None, [account(), account(id="a2", current_jobs=1)],
     Waiting(WaitingReason.ACCOUNTS_BUSY)),  # it waits for the other rather than go back
])
def test_why_a_pending_job_waits(waiting_job: Job, parent: Job | None, room: int | None,
                                 accounts: list[ProviderAccount], expected: Waiting | None) -> None:
    assert why_waiting(waiting_job, parent, room, accounts, NOW) == expected


def test_the_circuit_breakers_code_is_the_one_dispatch_recognises() -> None:
    assert CIRCUIT_OPEN == CIRCUIT_OPEN_CODE


def test_a_provider_is_usable_with_an_active_or_cooling_account() -> None:
    assert not has_usable_account([])
    assert not has_usable_account([account(status=AccountStatus.DISABLED), account(status=AccountStatus.EXHAUSTED)])
    assert has_usable_account([BUSY]) and has_usable_account([COOLING])


def test_the_plan_places_the_best_jobs_first_each_on_the_best_free_account() -> None:
    best, second = account(id="best", priority=5, max_concurrent_jobs=1), account(id="second", max_concurrent_jobs=1)
    jobs = [job(id=f"j{i}", priority=p, created_at=NOW + timedelta(seconds=i)) for i, p in enumerate([9, 0, 5, 0])]
    placed = plan_dispatch(jobs, [second, best], {"u1": None}, PreferPrivateThenPriority(), NOW, 10)
    assert [(p.job.id, p.account.id) for p in placed] == [("j1", "best"), ("j3", "second")]
    assert [p.account.current_jobs for p in placed] == [1, 1]


def test_the_plan_respects_the_limit_and_the_users_room() -> None:
    pool = account(max_concurrent_jobs=10)
    jobs = [job(id=f"j{i}", created_at=NOW + timedelta(seconds=i)) for i in range(5)]
    assert len(plan_dispatch(jobs, [pool], {"u1": None}, PreferPrivateThenPriority(), NOW, 3)) == 3
    assert len(plan_dispatch(jobs, [pool], {"u1": 2}, PreferPrivateThenPriority(), NOW, 10)) == 2
    assert plan_dispatch(jobs, [pool], {}, PreferPrivateThenPriority(), NOW, 10) == []  # unknown user: no room


def test_the_window_keeps_each_users_first_jobs_and_at_most_limit_per_provider() -> None:
    jobs = [job(id=f"a{i}", user_id="ann", created_at=NOW + timedelta(seconds=i)) for i in range(4)]
    jobs += [job(id=f"b{i}", user_id="bob", provider_id="other", created_at=NOW + timedelta(seconds=i))
             for i in range(4)]
    window = dispatch_window(jobs, {"ann": 1, "bob": None}, 2)
    assert [j.id for j in window] == ["a0", "b0", "b1"]
