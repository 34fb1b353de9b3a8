"""Deterministic simulation: random interleavings of users, workers, crashes and time,
driven through the application layer, with every invariant checked after every step.

Everything random comes from one seed (ids, clock steps, choices, the sim's outages), and
everything runs on one event loop task, so a failing seed replays exactly.

A step's checks cost what the step changed, not the size of the world (tests/simulation/
invariants.py): the store's journal names the changed keys, running tallies carry the global
sums, and everything is derived again from scratch at FULL_CHECKS points per run and at the
end, where a tally that disagrees with the store fails the run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.store import MemoryState
from adapters.providers.registry import StaticProviderRegistry
from adapters.providers.sim import SimProvider
from adapters.sql.engine import create_engine
from adapters.sql.uow import SqlUnitOfWorkFactory
from application.accounts.admin import AccountPatch, AddAccountCredits, UpdateAccount
from application.jobs.cancel import CancelJob
from application.jobs.create import CreateJob, JobRequest
from application.pipeline.advance import AdvanceJob
from application.pipeline.claim import ClaimJobs
from application.pipeline.held import HeldPolls
from application.pipeline.run import RunJob
from application.users.admin import GrantCredits
from domain.accounts import ProviderAccount
from domain.jobs import JobStatus
from domain.quotas import QuotaPolicy
from entrypoints.bootstrap import build_container
from tests.simulation.invariants import Tallies, require
from tests.simulation.sql_state import changes, read_state
from tests.support.seed import ActorStub, add_account, add_user
from tests.support.wiring import Wiring, memory_wiring

FULL_CHECKS = 20  # points per run where everything is derived again from scratch
RECENT = 10  # jobs per user the actions pick from (cancel, parent), newest first


class WorkerCrashed(BaseException):
    """The process running a worker died (kill -9) in the middle of a provider call."""


class CrashingProvider:
    """Wraps the sim: with some probability the worker dies right after (or before) a call."""

    def __init__(self, inner: SimProvider, rng: random.Random, crash_rate: float) -> None:
        self._inner = inner
        self._rng = rng
        self._crash_rate = crash_rate
        self.accepted: Counter[str] = Counter()  # submits the provider accepted, per attempt
        self.duplicates: list[str] = []  # attempts the provider accepted more than once

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def submit(self, secret: str, request: Any) -> Any:
        if self._rng.random() < self._crash_rate / 2:
            raise WorkerCrashed("before submit")
        answer = await self._inner.submit(secret, request)
        if _ok(answer):
            self.accepted[request.reference] += 1
            if self.accepted[request.reference] > 1:
                self.duplicates.append(request.reference)
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
    held: HeldPolls  # the worker's polls held between steps (jobs it keeps leased)
    history: dict[str, JobStatus] = dataclasses.field(default_factory=dict)
    log: list[str] = dataclasses.field(default_factory=list)
    counts: Counter[str] = dataclasses.field(default_factory=Counter)
    tallies: Tallies = dataclasses.field(default_factory=Tallies)
    loaded: MemoryState | None = None  # on a database: the store as read after the last step
    engine: AsyncEngine | None = None
    recent: dict[str, deque[str]] = dataclasses.field(default_factory=dict)  # user -> newest job ids
    seconds: float = 0.0  # wall time of the steps
    cpu_seconds: float = 0.0  # CPU time of the steps (the machine may be shared)

    @property
    def state(self) -> Any:
        if self.loaded is not None:
            return self.loaded
        return self.w.ports.uow.store.state  # type: ignore[attr-defined]

    async def read_back(self) -> dict[str, set[Any]]:
        """What the last step changed: the journal's word in memory, a read and a diff on SQL."""
        if self.loaded is None:
            changed: dict[str, set[Any]] = self.state.journal.take_changes()
            return changed
        fresh = await read_state(self.w.ports.uow)  # type: ignore[arg-type]
        changed = changes(self.loaded, fresh)
        self.loaded = fresh
        return changed

    def recent_jobs(self, user_id: str, limit: int) -> list[str]:
        return list(itertools.islice(self.recent.get(user_id, ()), limit))


OUTCOMES = ["success"] * 6 + ["transient_error", "final_error", "account_error"]


async def build_world(seed: int, crash_rate: float = 0.05, database_url: str | None = None) -> World:
    rng = random.Random(seed)
    w = memory_wiring(seed)
    engine = None
    if database_url is not None:  # the same world on a real (migrated) database
        engine = create_engine(database_url)
        ports = dataclasses.replace(w.ports, uow=SqlUnitOfWorkFactory(engine))
        w = Wiring(build_container(ports), ports, w.clock, w.sim)
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
    crashing_run, held = start_worker(w, provider)
    world = World(seed, w, rng, users, accounts, crashing_run, provider, admin, held, engine=engine)
    if engine is None:
        world.state.journal.watch()  # from here on, the store names what each step changed
    else:
        world.loaded = await read_state(w.ports.uow)  # type: ignore[arg-type]
    world.tallies = Tallies.derive(world.state)
    return world


def start_worker(w: Wiring, provider: CrashingProvider) -> tuple[RunJob, HeldPolls]:
    """A worker process of its own (its own held polls), calling the crashing provider."""
    container = build_container(dataclasses.replace(w.ports, providers=StaticProviderRegistry([provider])))
    held: HeldPolls = container.resolve(HeldPolls)
    held.open()
    return container.resolve(RunJob), held


def restart_worker(world: World) -> None:
    """The worker died: what it held in memory is gone (its leases run out)."""
    world.crashing_run, world.held = start_worker(world.w, world.provider)


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
    mine = world.recent_jobs(user.user_id, 5)
    parent = rng.choice(mine) if mine and rng.random() < 0.2 else None
    request = JobRequest(provider_id="sim", operation_type="text_to_video" if video else "text_to_image",
                         params=params, priority=rng.randint(0, 10), parent_job_id=parent)
    key = f"k{rng.randint(0, 30)}" if rng.random() < 0.2 else None
    result = await world.w.get(CreateJob)(user, request, key)
    world.counts["create.ok" if _ok(result) else "create.refused"] += 1
    if _ok(result) and result.unwrap().created:
        world.recent.setdefault(user.user_id, deque(maxlen=RECENT)).appendleft(result.unwrap().job.id)


def _ok(result: Any) -> bool:
    try:
        result.unwrap()
    except Exception:
        return False
    return True


async def cancel_job(world: World) -> None:
    user = world.rng.choice(world.users)
    jobs = world.recent_jobs(user.user_id, RECENT)
    if jobs:
        await world.w.get(CancelJob)(user, world.rng.choice(jobs))
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
            restart_worker(world)
            return  # the rest of this worker's batch is abandoned too


async def poll_held(world: World) -> None:
    """The worker's poll cycle: its held leases renewed together, then its due polls run."""
    await world.held.renew()
    for job in world.held.due(world.rng.randint(1, 4)):
        world.counts["held_polls"] += 1
        try:
            await world.crashing_run(job)
        except WorkerCrashed:
            world.counts["crashed"] += 1
            restart_worker(world)
            return


async def stop_worker(world: World) -> None:
    """A clean stop: the held jobs given back at once, then a new worker starts."""
    world.counts["released"] += await world.held.release()
    restart_worker(world)


async def stale_worker_writes(world: World) -> None:
    """A worker whose lease ran out tries to carry on: it must not be able to write."""
    processing = list(itertools.islice(reversed(world.tallies.processing), 5))
    if processing:
        job_id = world.rng.choice(processing)
        result = await world.w.get(AdvanceJob)(job_id, "stale-lease-token")
        require(not _ok(result), f"a stale lease token advanced job {job_id}")


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
    (create_job, 30), (cancel_job, 4), (work, 40), (poll_held, 20), (stale_worker_writes, 2), (pass_time, 20),
    (midnight, 1), (grant, 3), (reenable_accounts, 3), (stop_worker, 1),
]


# ---------------------------------------------------------------- invariants


async def check_step(world: World) -> None:
    """What this step's committed transactions changed, and the tallies they move."""
    changed = await world.read_back()
    world.tallies.check_step(world.state, changed, world.history)
    require(not world.provider.duplicates, f"submitted twice for one attempt: {world.provider.duplicates}")


def full_check_steps(steps: int, full_checks: int = FULL_CHECKS) -> set[int]:
    """Evenly spread points (and the last step) where everything is derived from scratch."""
    every = max(1, steps // full_checks)
    return {step for step in range(steps) if step % every == every - 1} | {steps - 1}


Hook = Callable[[World, int], None]


async def simulate(seed: int, steps: int, full_checks: int = FULL_CHECKS, before_step: Hook | None = None,
                   database_url: str | None = None) -> World:
    """Run `steps` random actions; `before_step` lets a test tamper with the world."""
    world = await build_world(seed, database_url=database_url)
    try:
        return await _steps(world, seed, steps, full_checks, before_step)
    finally:
        if world.engine is not None:
            await world.engine.dispose()


async def _steps(world: World, seed: int, steps: int, full_checks: int, before_step: Hook | None) -> World:
    actions = [a for a, _ in ACTIONS]
    weights = [w for _, w in ACTIONS]
    full = full_check_steps(steps, full_checks)
    started, cpu_started = time.perf_counter(), time.process_time()
    for step in range(steps):
        action = world.rng.choices(actions, weights)[0]
        world.counts[action.__name__] += 1
        try:
            if before_step is not None:
                before_step(world, step)
            await action(world)
            await check_step(world)
            if step in full:
                world.tallies.check_everything(world.state)
                world.counts["full_checks"] += 1
        except AssertionError as error:
            raise AssertionError(f"seed {seed} step {step} ({action.__name__}): {error}") from error
    world.seconds = time.perf_counter() - started
    world.cpu_seconds = time.process_time() - cpu_started
    return world


def run_simulation(seed: int, steps: int, full_checks: int = FULL_CHECKS, before_step: Hook | None = None,
                   database_url: str | None = None) -> World:
    return asyncio.run(simulate(seed, steps, full_checks, before_step, database_url))
