"""Deterministic simulation: random interleavings of users, workers, crashes and time,
driven through the application layer, with every invariant checked after every step.

Everything random comes from one seed (ids, clock steps, choices, the sim's outages), and
everything runs on one event loop task, so a failing seed replays exactly.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

from adapters.providers.registry import StaticProviderRegistry
from adapters.providers.sim import SimProvider
from application.accounts.admin import AccountPatch, AddAccountCredits, UpdateAccount
from application.jobs.cancel import CancelJob
from application.jobs.create import CreateJob, JobRequest
from application.pipeline.advance import AdvanceJob
from application.pipeline.claim import ClaimJobs
from application.pipeline.run import RunJob
from application.users.admin import GrantCredits
from domain.accounts import ProviderAccount
from domain.jobs import TERMINAL, Job, JobStatus
from domain.ledger import HoldStatus, invariant_violations
from domain.ports import JobFilter
from domain.quotas import QuotaPolicy
from entrypoints.bootstrap import build_container
from tests.support.seed import ActorStub, add_account, add_user
from tests.support.wiring import Wiring, memory_wiring


class WorkerCrashed(BaseException):
    """The process running a worker died (kill -9) in the middle of a provider call."""


class CrashingProvider:
    """Wraps the sim: with some probability the worker dies right after (or before) a call."""

    def __init__(self, inner: SimProvider, rng: random.Random, crash_rate: float) -> None:
        self._inner = inner
        self._rng = rng
        self._crash_rate = crash_rate
        self.accepted: Counter[str] = Counter()  # submits the provider accepted, per attempt

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def submit(self, secret: str, request: Any) -> Any:
        if self._rng.random() < self._crash_rate / 2:
            raise WorkerCrashed("before submit")
        answer = await self._inner.submit(secret, request)
        if _ok(answer):
            self.accepted[request.reference] += 1
        if self._rng.random() < self._crash_rate / 2:
            raise WorkerCrashed("after submit, before the answer was recorded")
        return answer

    async def status(self, secret: str, provider_job_id: str) -> Any:
        answer = await self._inner.status(secret, provider_job_id)
        if self._rng.random() < self._crash_rate:
            raise WorkerCrashed("after status")
        return answer


@dataclasses.dataclass
class World:
    seed: int
    w: Wiring
    rng: random.Random
    users: list[ActorStub]
    accounts: list[ProviderAccount]
    crashing_run: RunJob
    provider: CrashingProvider
    admin: ActorStub
    history: dict[str, JobStatus] = dataclasses.field(default_factory=dict)
    log: list[str] = dataclasses.field(default_factory=list)
    counts: Counter[str] = dataclasses.field(default_factory=Counter)


OUTCOMES = ["success"] * 6 + ["transient_error", "final_error", "account_error"]


async def build_world(seed: int, crash_rate: float = 0.05) -> World:
    rng = random.Random(seed)
    w = memory_wiring(seed)
    w.sim._failure_rate = 0.05  # random outages on top of the planned outcomes
    w.sim._random = random.Random(seed + 1)
    admin = await add_user(w, "root", credits=0)
    admin = ActorStub(admin.user_id, is_admin=True)
    users = [
        await add_user(w, f"user{i}", credits=rng.choice([5, 50, 500]),
                       quota=QuotaPolicy(max_jobs_per_day=rng.choice([5, 20, None]),
                                         max_concurrent_jobs=rng.choice([1, 2, 4])))
        for i in range(4)
    ]
    accounts = [
        await add_account(w, f"acct{i}", credits=rng.choice([20, 200, 2000]),
                          max_concurrent_jobs=rng.choice([1, 2]), priority=rng.randint(0, 3))
        for i in range(3)
    ]
    provider = CrashingProvider(w.sim, rng, crash_rate)
    crashing = dataclasses.replace(w.ports, providers=StaticProviderRegistry([provider]))
    crashing_run: RunJob = build_container(crashing).resolve(RunJob)
    return World(seed, w, rng, users, accounts, crashing_run, provider, admin)


# ---------------------------------------------------------------- actions


async def create_job(world: World) -> None:
    rng = world.rng
    user = rng.choice(world.users)
    video = rng.random() < 0.15
    params: dict[str, Any] = {"prompt": f"p{rng.randint(0, 10**6)}", "seed": rng.randint(0, 99),
                              "sim_outcome": rng.choice(OUTCOMES),
                              "sim_latency_ms": rng.choice([0, 0, 500, 3000, 20_000])}
    if video:
        params |= {"seconds": rng.randint(1, 2), "width": 64, "height": 64, "fps": 1}
    else:
        params |= {"width": 64, "height": 64, "num_images": rng.randint(1, 2)}
    async with world.w.ports.uow() as uow:
        mine = [j for j in (await uow.jobs.page(JobFilter(user_id=user.user_id), None, 5)).items]
    parent = rng.choice(mine).id if mine and rng.random() < 0.2 else None
    request = JobRequest(provider_id="sim", operation_type="text_to_video" if video else "text_to_image",
                         params=params, priority=rng.randint(0, 10), parent_job_id=parent)
    key = f"k{rng.randint(0, 30)}" if rng.random() < 0.2 else None
    result = await world.w.get(CreateJob)(user, request, key)
    world.counts["create.ok" if _ok(result) else "create.refused"] += 1


def _ok(result: Any) -> bool:
    try:
        result.unwrap()
    except Exception:
        return False
    return True


async def cancel_job(world: World) -> None:
    user = world.rng.choice(world.users)
    async with world.w.ports.uow() as uow:
        jobs = (await uow.jobs.page(JobFilter(user_id=user.user_id), None, 10)).items
    if jobs:
        await world.w.get(CancelJob)(user, world.rng.choice(jobs).id)
        world.counts["cancel"] += 1


async def work(world: World) -> None:
    """A worker claims a batch and runs it; it may crash mid-call or abandon jobs."""
    claimed = await world.w.get(ClaimJobs)(world.rng.randint(1, 4))
    for job in claimed:
        roll = world.rng.random()
        if roll < 0.05:
            world.counts["abandoned"] += 1  # the worker vanished: its lease will run out
            continue
        try:
            await world.crashing_run(job)
        except WorkerCrashed:
            world.counts["crashed"] += 1
            return  # the rest of this worker's batch is abandoned too


async def stale_worker_writes(world: World) -> None:
    """A worker whose lease ran out tries to carry on: it must not be able to write."""
    async with world.w.ports.uow() as uow:
        processing = (await uow.jobs.page(JobFilter(status=JobStatus.PROCESSING), None, 5)).items
    if processing:
        job = world.rng.choice(processing)
        result = await world.w.get(AdvanceJob)(job.id, "stale-lease-token")
        assert not _ok(result), f"a stale lease token advanced job {job.id}"


async def pass_time(world: World) -> None:
    world.w.clock.advance(world.rng.choice([0.5, 2, 5, 30, 61, 300]))


async def midnight(world: World) -> None:
    world.w.clock.advance(hours=world.rng.choice([6, 12, 24]))


async def reenable_accounts(world: World) -> None:
    """An operator puts disabled or exhausted accounts back (a new key, more credits)."""
    for account in world.accounts:
        await world.w.get(UpdateAccount)(world.admin, account.id, AccountPatch(status="active"))
        await world.w.get(AddAccountCredits)(world.admin, account.id, world.rng.randint(1, 100))


async def grant(world: World) -> None:
    await world.w.get(GrantCredits)(world.admin, world.rng.choice(world.users).user_id, world.rng.randint(1, 50))


ACTIONS: list[tuple[Callable[[World], Any], int]] = [
    (create_job, 30), (cancel_job, 4), (work, 40), (stale_worker_writes, 2), (pass_time, 20),
    (midnight, 1), (grant, 3), (reenable_accounts, 3),
]


# ---------------------------------------------------------------- invariants


async def check_invariants(world: World, full: bool) -> None:
    """Every invariant, after every step. The harness reads the in-memory store directly so
    a check costs one pass over the jobs; the whole ledger is re-added every `full` step."""
    state = world.w.ports.uow.store.state  # type: ignore[attr-defined]
    jobs: list[Job] = list(state.jobs.values())
    for balance in state.balances.values():
        assert balance.available >= 0 and balance.held >= 0, f"negative balance {balance}"
    if full:
        problems = invariant_violations(state.transactions, state.holds.values())
        assert not problems, problems
    # Reservations: an account's slots are exactly its processing jobs that hold it.
    held = Counter(j.account_id for j in jobs if j.status is JobStatus.PROCESSING and j.account_id)
    for account in state.accounts.values():
        assert account.current_jobs == held.get(account.id, 0), (
            f"account {account.label} has current_jobs={account.current_jobs}, "
            f"{held.get(account.id, 0)} processing jobs hold it")
        assert 0 <= account.current_jobs <= account.max_concurrent_jobs and account.credits >= 0
    running = Counter(j.user_id for j in jobs if j.status is JobStatus.PROCESSING)
    for user in state.users.values():
        assert user.running_jobs == running.get(user.id, 0), f"user {user.username} run slots leaked"
        limit = user.quota.max_concurrent_jobs
        assert limit is None or user.running_jobs <= limit
    for (user_id, _day), usage in state.usage.items():
        limit = state.users[user_id].quota.max_jobs_per_day
        assert limit is None or usage.jobs_created <= limit, "daily quota exceeded"
    expected_hold = {JobStatus.COMPLETED: HoldStatus.CAPTURED, JobStatus.FAILED: HoldStatus.RELEASED,
                     JobStatus.CANCELLED: HoldStatus.RELEASED}
    for job in jobs:
        previous = world.history.get(job.id)
        if previous is job.status and previous in TERMINAL:
            continue
        if previous in TERMINAL:
            raise AssertionError(f"job {job.id} left terminal state {previous} for {job.status}")
        world.history[job.id] = job.status
        hold = state.holds.get(job.hold_id or "")
        assert hold is not None, f"job {job.id} has no credit hold"
        expected = expected_hold.get(job.status, HoldStatus.OPEN)
        assert hold.status is expected, f"job {job.id} is {job.status} but its hold is {hold.status}"
        assert job.attempts <= job.max_attempts
    duplicates = [ref for ref, n in world.provider.accepted.items() if n > 1]
    assert not duplicates, f"submitted twice for one attempt: {duplicates}"


async def simulate(seed: int, steps: int, full_every: int = 100) -> World:
    world = await build_world(seed)
    actions = [a for a, _ in ACTIONS]
    weights = [w for _, w in ACTIONS]
    for step in range(steps):
        action = world.rng.choices(actions, weights)[0]
        world.counts[action.__name__] += 1
        try:
            await action(world)
            await check_invariants(world, full=step % full_every == 0 or step == steps - 1)
        except AssertionError as error:
            raise AssertionError(f"seed {seed} step {step} ({action.__name__}): {error}") from error
    return world


def run_simulation(seed: int, steps: int) -> World:
    return asyncio.run(simulate(seed, steps))
