"""Admin reads: the audit log and provider statistics."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta

import msgspec
import pytest

from application.accounts.admin import AccountPatch
from domain.accounts import AccountStatus
from domain.audit import AuditFilter
from domain.clock import utc_day
from domain.errors import ErrorCode
from domain.jobs import Job, JobStatus, OperationType
from tests.unit.application.media_world import PNG, Caller, World, failure_code


@pytest.fixture
def world() -> Iterator[World]:
    with asyncio.Runner() as runner:
        yield World(runner)


@pytest.fixture
def admin(world: World) -> Caller:
    return world.user("root", admin=True)


def some_history(world: World, admin: Caller) -> None:
    """account.create by root, asset.upload by alice, account.update by root; a second apart."""
    account = world.run(world.create_account(admin, provider_id="sim", label="a", secret="s")).unwrap()
    world.clock.advance(1)
    world.put(world.user("alice"), PNG)
    world.clock.advance(1)
    world.run(world.update_account(admin, account.id, AccountPatch(label="b"))).unwrap()


def add_job(world: World, provider_id: str, status: JobStatus, created_at: datetime) -> None:
    job = Job(id=world.ids.new_id(), user_id="alice", provider_id=provider_id,
              operation_type=OperationType.TEXT_TO_IMAGE, params={}, created_at=created_at,
              run_after=created_at, status=status)
    world.state.jobs[job.id] = job


# ---------------------------------------------------------------- audit


def test_the_audit_log_is_for_admins(world: World) -> None:
    alice = world.user("alice")
    assert failure_code(world.run(world.list_audit(alice))) is ErrorCode.FORBIDDEN


def test_the_audit_log_lists_newest_first_and_filters(world: World, admin: Caller) -> None:
    some_history(world, admin)
    everything = world.run(world.list_audit(admin)).unwrap()
    assert [e.action for e in everything.items] == ["account.update", "asset.upload", "account.create"]
    by_alice = world.run(world.list_audit(admin, AuditFilter(actor_id="alice"))).unwrap()
    assert [e.action for e in by_alice.items] == ["asset.upload"]
    accounts = world.run(world.list_audit(admin, AuditFilter(resource_type="account"))).unwrap()
    assert [e.action for e in accounts.items] == ["account.update", "account.create"]
    start = world.state.audit[0].at
    window = AuditFilter(since=start + timedelta(seconds=1), until=start + timedelta(seconds=2))
    assert [e.action for e in world.run(world.list_audit(admin, window)).unwrap().items] == ["asset.upload"]


def test_the_audit_log_pages(world: World, admin: Caller) -> None:
    some_history(world, admin)
    first = world.run(world.list_audit(admin, limit=2)).unwrap()
    rest = world.run(world.list_audit(admin, cursor=first.next_cursor, limit=2)).unwrap()
    assert len(first.items) == 2 and len(rest.items) == 1 and rest.next_cursor is None


@pytest.mark.parametrize("where", [
    AuditFilter(since=datetime(2026, 2, 1).astimezone(), until=datetime(2026, 1, 1).astimezone()),
    AuditFilter(since=datetime(2026, 1, 1)),  # no time zone
])
def test_bad_time_ranges_are_validation_errors(world: World, admin: Caller, where: AuditFilter) -> None:
    assert failure_code(world.run(world.list_audit(admin, where))) is ErrorCode.VALIDATION_ERROR


def test_a_malformed_cursor_is_a_validation_error(world: World, admin: Caller) -> None:
    assert failure_code(world.run(world.list_audit(admin, cursor="!!"))) is ErrorCode.VALIDATION_ERROR


# ---------------------------------------------------------------- stats


def test_stats_are_for_admins(world: World) -> None:
    assert failure_code(world.run(world.stats(world.user("alice")))) is ErrorCode.FORBIDDEN


def test_stats_show_account_health(world: World, admin: Caller) -> None:
    fresh = world.run(world.create_account(admin, provider_id="sim", label="fresh", secret="s")).unwrap()
    used = world.run(world.create_account(admin, provider_id="sim", label="used", secret="s")).unwrap()
    until = world.clock.now() + timedelta(minutes=1)
    world.state.accounts[used.id] = msgspec.structs.replace(
        world.state.accounts[used.id], success_count=3, failure_count=1, avg_generation_seconds=12.5,
        status=AccountStatus.COOLING_DOWN, cooldown_until=until)
    [sim] = world.run(world.stats(admin)).unwrap().providers
    health = {a.account_id: a for a in sim.accounts}
    assert health[fresh.id].success_rate is None
    assert (health[used.id].success_rate, health[used.id].avg_generation_seconds) == (0.75, 12.5)
    assert (health[used.id].status, health[used.id].cooldown_until) == (AccountStatus.COOLING_DOWN, until)
    assert (health[used.id].success_count, health[used.id].failure_count) == (3, 1)


def test_stats_count_jobs_by_status_and_day(world: World, admin: Caller) -> None:
    now = world.clock.now()
    add_job(world, "sim", JobStatus.COMPLETED, now - timedelta(days=1))
    add_job(world, "sim", JobStatus.COMPLETED, now)
    add_job(world, "sim", JobStatus.FAILED, now)
    add_job(world, "sim", JobStatus.COMPLETED, now - timedelta(days=40))  # too old for the daily view
    add_job(world, "retired", JobStatus.PENDING, now)  # a provider no longer offered
    report = world.run(world.stats(admin)).unwrap()
    assert report.since == now - timedelta(days=30)
    by_id = {p.provider_id: p for p in report.providers}
    assert set(by_id) == {"retired", "sim"}
    sim = by_id["sim"]
    assert sim.jobs_by_status == {"pending": 0, "processing": 0, "completed": 3, "failed": 1, "cancelled": 0}
    daily = {(d.day, d.status): d.count for d in sim.daily}
    assert daily == {(utc_day(now - timedelta(days=1)), "completed"): 1,
                     (utc_day(now), "completed"): 1, (utc_day(now), "failed"): 1}
    assert by_id["retired"].jobs_by_status["pending"] == 1 and by_id["retired"].accounts == []


def test_stats_list_every_offered_provider_even_when_idle(world: World, admin: Caller) -> None:
    [sim] = world.run(world.stats(admin)).unwrap().providers
    assert sim.provider_id == "sim" and set(sim.jobs_by_status.values()) == {0}
    assert sim.accounts == [] and sim.daily == []
