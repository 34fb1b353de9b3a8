"""Dispatch: which due jobs start now, each with the account it will run on.

A pending job is taken only together with an account reserved for it, in the queue's
order (best priority first, then oldest). Every adapter's `claim_and_reserve` applies this
plan inside one atomic step, so the rule lives here once.

- Jobs are placed greedily in queue order, each on the best account free for it (the
  selection policy's order). So a lower-priority job never takes an account that a better
  job could use right now: the better job took it first. An account a job is waiting for
  (busy, cooling down) is unusable for every job until it frees, and the next claim offers
  it to the best job again.
- A job that finds no free account waits without holding back accounts it could never
  use (another provider's, someone else's private ones, too poor for it, disabled): jobs
  on those go ahead. A user at their concurrent-job limit waits, holding back nobody.
- Accounts that failed this job are avoided, unless no other account could ever take it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum

import msgspec

from domain.accounts import (
    AccountStatus,
    ProviderAccount,
    SelectionPolicy,
    SelectionRequest,
    is_available,
    reserve,
)
from domain.jobs import Job, JobStatus, start


class Placement(msgspec.Struct, frozen=True):
    """A pending job that starts now on `account` (already reserved for it)."""

    job: Job
    account: ProviderAccount


class ClaimedJobs(msgspec.Struct, frozen=True):
    """What one claim took: jobs in queue order, and which of them started just now
    (the others are running jobs whose lease had run out: a due poll, a crashed worker)."""

    jobs: list[Job]
    started: frozenset[str] = frozenset()


def queue_order(job: Job) -> tuple[int, datetime, str]:
    return (job.priority, job.created_at, job.id)


def could_ever_take(account: ProviderAccount, job: Job) -> bool:
    """Busy and cooling down pass; disabled, exhausted, too poor or not the job's do not."""
    return (account.provider_id == job.provider_id
            and (account.owner_user_id is None or account.owner_user_id == job.user_id)
            and account.status in (AccountStatus.ACTIVE, AccountStatus.COOLING_DOWN)
            and account.credits >= job.cost_estimate)


def selection_request(job: Job, now: datetime, *, with_exclusions: bool = True) -> SelectionRequest:
    return SelectionRequest(provider_id=job.provider_id, user_id=job.user_id, cost=job.cost_estimate,
                            now=now, excluded_account_ids=frozenset(job.excluded_account_ids)
                            if with_exclusions else frozenset())


def wanted_accounts(accounts: Iterable[ProviderAccount], job: Job) -> list[ProviderAccount]:
    """The accounts this job may run on: those that could ever take it and did not fail it,
    or, when only accounts that failed it could, those."""
    possible = [a for a in accounts if could_ever_take(a, job)]
    fresh = [a for a in possible if a.id not in job.excluded_account_ids]
    return fresh or possible


def rank_for(selection: SelectionPolicy, accounts: Sequence[ProviderAccount], job: Job,
             now: datetime) -> list[ProviderAccount]:
    """Accounts free for this job right now, best first (the selection policy's order)."""
    allowed = {a.id for a in wanted_accounts(accounts, job)}
    return selection.rank([a for a in accounts if a.id in allowed],
                          selection_request(job, now, with_exclusions=False))


def has_free_account(job: Job, accounts: Iterable[ProviderAccount], now: datetime) -> bool:
    """Some account could take this job right now (exclusions aside): the cheap first sieve."""
    return any(could_ever_take(a, job) and is_available(a, now) and a.current_jobs < a.max_concurrent_jobs
               for a in accounts)


def dispatch_window(startable: Sequence[Job], free_slots: Mapping[str, int | None], limit: int) -> list[Job]:
    """The pending jobs one claim considers, in queue order: each user's first jobs up to
    their free run slots, then at most `limit` per provider. Bounded, so a claim never reads
    a whole backlog; fair, so a busy provider or a user at their limit hides nobody."""
    per_user: Counter[str] = Counter()
    per_provider: Counter[str] = Counter()
    window: list[Job] = []
    for job in sorted(startable, key=queue_order):
        per_user[job.user_id] += 1
        room = free_slots.get(job.user_id, 0)
        if room is not None and per_user[job.user_id] > room:
            continue
        per_provider[job.provider_id] += 1
        if per_provider[job.provider_id] <= limit:
            window.append(job)
    return window


def plan_dispatch(pending: Sequence[Job], accounts: Sequence[ProviderAccount],
                  free_slots: Mapping[str, int | None], selection: SelectionPolicy,
                  now: datetime, limit: int) -> list[Placement]:
    """Place due pending jobs (given in any order; parents already complete) on accounts.

    `free_slots` is each user's room under their concurrent-job limit (None: no limit).
    Returns at most `limit` placements, in queue order, with each account as reserved."""
    pool = {a.id: a for a in accounts}
    slots = dict(free_slots)
    placed: list[Placement] = []
    for job in sorted(pending, key=queue_order):
        if len(placed) >= limit:
            break
        if job.status is not JobStatus.PENDING:
            continue
        room = slots.get(job.user_id, 0)  # a user we know nothing of has no room
        if room is not None and room <= 0:
            continue  # the user's own limit: waits without holding anyone back
        mine = [a for a in pool.values() if a.provider_id == job.provider_id]
        chosen = next((r.unwrap() for r in (reserve(a, job.cost_estimate, now)
                                             for a in rank_for(selection, mine, job, now))
                       if r.value_or(None) is not None), None)
        if chosen is None:
            continue
        pool[chosen.id] = chosen
        if room is not None:
            slots[job.user_id] = room - 1
        placed.append(Placement(job=job, account=chosen))
    return placed


def start_on(placement: Placement, lease_token: str, lease_until: datetime, now: datetime) -> Job:
    """The placed job, processing under the claimer's lease on its account, attempt counted."""
    return start(placement.job, placement.account.id, lease_token, lease_until, now).unwrap()


def room_under_limit(max_concurrent_jobs: int | None, running_jobs: int) -> int | None:
    """How many more jobs a user may start now; None when they have no limit."""
    return None if max_concurrent_jobs is None else max(0, max_concurrent_jobs - running_jobs)


class WaitingReason(StrEnum):
    """Why a pending job has not started yet."""

    SCHEDULED = "scheduled"  # its run time (a schedule, or a retry's backoff) has not come
    PARENT_RUNNING = "parent_running"  # it takes its parent's results, and the parent is not done
    CONCURRENCY_LIMIT = "concurrency_limit"  # its user runs as many jobs as they may at once
    NO_ACCOUNT = "no_account"  # no account that could ever run it: none, disabled, or too poor
    ACCOUNTS_BUSY = "accounts_busy"  # every account it may use is running as many jobs as it may
    ACCOUNTS_COOLING_DOWN = "accounts_cooling_down"  # every usable account cools down until `until`
    CIRCUIT_OPEN = "circuit_open"  # the provider failed too often: not tried again until `until`


class Waiting(msgspec.Struct, frozen=True):
    reason: WaitingReason
    until: datetime | None = None


CIRCUIT_OPEN_CODE = "CIRCUIT_OPEN"  # the failure code of a call the circuit breaker refused


def why_waiting(job: Job, parent: Job | None, room: int | None, accounts: Sequence[ProviderAccount],
                now: datetime) -> Waiting | None:
    """Why dispatch would not start this pending job now; None when nothing holds it back
    (it starts at the next claim) or it is not pending. `room` is its user's free run
    slots (None: no limit); `accounts` the provider's accounts (others are ignored)."""
    if job.status is not JobStatus.PENDING:
        return None
    if job.parent_job_id is not None and (parent is None or parent.status is not JobStatus.COMPLETED):
        return Waiting(WaitingReason.PARENT_RUNNING)
    if job.run_after > now:
        circuit = job.error_code == CIRCUIT_OPEN_CODE
        return Waiting(WaitingReason.CIRCUIT_OPEN if circuit else WaitingReason.SCHEDULED, job.run_after)
    if room is not None and room <= 0:
        return Waiting(WaitingReason.CONCURRENCY_LIMIT)
    wanted = wanted_accounts(accounts, job)
    if not wanted:
        return Waiting(WaitingReason.NO_ACCOUNT)
    if any(is_available(a, now) and a.current_jobs < a.max_concurrent_jobs for a in wanted):
        return None
    cooling = [a.cooldown_until for a in wanted if not is_available(a, now) and a.cooldown_until is not None]
    if len(cooling) == len(wanted):
        return Waiting(WaitingReason.ACCOUNTS_COOLING_DOWN, min(cooling))
    return Waiting(WaitingReason.ACCOUNTS_BUSY)


def has_usable_account(accounts: Iterable[ProviderAccount]) -> bool:
    """Some account could run jobs (now or after a cooldown): not disabled, not exhausted."""
    return any(a.status in (AccountStatus.ACTIVE, AccountStatus.COOLING_DOWN) for a in accounts)
