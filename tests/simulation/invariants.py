"""The simulation's invariants, checked at a cost that does not grow with the world.

After each step, `Tallies.check_step` looks at exactly what the step's committed transactions
changed (the in-memory store's journal names the keys) and keeps running tallies of what the
global invariants need: slots held per account, running jobs per user, postings per ledger
account, open holds per user, captures per hold. At a fixed number of points per run,
`check_everything` derives the same tallies from scratch and checks every invariant over the
whole store; a tally that disagrees with the derivation is a failure of its own (a change the
step checks did not see, or a tally kept wrongly).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from adapters.memory.store import MemoryState
from domain.jobs import TERMINAL, Job, JobStatus
from domain.ledger import (
    CreditHold,
    HoldStatus,
    LedgerTransaction,
    TxKind,
    available_account,
    held_account,
    invariant_violations,
)

EXPECTED_HOLD = {JobStatus.COMPLETED: HoldStatus.CAPTURED, JobStatus.FAILED: HoldStatus.RELEASED,
                 JobStatus.CANCELLED: HoldStatus.RELEASED}


class InvariantViolated(AssertionError):
    pass


def require(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantViolated(message)


@dataclasses.dataclass
class Tallies:
    jobs: dict[str, Job] = dataclasses.field(default_factory=dict)  # last seen, per job
    holds: dict[str, CreditHold] = dataclasses.field(default_factory=dict)  # last seen, per hold
    held: Counter[str] = dataclasses.field(default_factory=Counter)  # account -> processing jobs on it
    running: Counter[str] = dataclasses.field(default_factory=Counter)  # user -> processing jobs
    processing: dict[str, None] = dataclasses.field(default_factory=dict)  # in the order they started
    postings: defaultdict[str, int] = dataclasses.field(default_factory=lambda: defaultdict(int))
    open_holds: defaultdict[str, int] = dataclasses.field(default_factory=lambda: defaultdict(int))
    captures: Counter[str] = dataclasses.field(default_factory=Counter)
    transactions_seen: int = 0

    # ------------------------------------------------------------ derivation

    @classmethod
    def derive(cls, state: MemoryState) -> Tallies:
        """Everything, from scratch: one pass over every job, hold and transaction."""
        tallies = cls()
        for job in state.jobs.values():
            tallies._move_job(None, job)
        for hold in state.holds.values():
            tallies._move_hold(None, hold)
        tallies._add_transactions(state.transactions)
        return tallies

    def comparable(self) -> dict[str, Any]:
        return {"jobs": self.jobs, "holds": self.holds, "held": +self.held, "running": +self.running,
                "processing": set(self.processing), "postings": {a: n for a, n in self.postings.items() if n},
                "open_holds": {u: n for u, n in self.open_holds.items() if n}, "captures": +self.captures,
                "transactions_seen": self.transactions_seen}

    # ------------------------------------------------------------ incremental updates

    def _move_job(self, old: Job | None, new: Job) -> None:
        for job, sign in ((old, -1), (new, 1)):
            if job is not None and job.status is JobStatus.PROCESSING:
                self.running[job.user_id] += sign
                if job.account_id:
                    self.held[job.account_id] += sign
        if new.status is JobStatus.PROCESSING:
            self.processing[new.id] = None
        else:
            self.processing.pop(new.id, None)
        self.jobs[new.id] = new

    def _move_hold(self, old: CreditHold | None, new: CreditHold) -> None:
        if old is not None and old.status is HoldStatus.OPEN:
            self.open_holds[old.user_id] -= old.amount
        if new.status is HoldStatus.OPEN:
            self.open_holds[new.user_id] += new.amount
        self.holds[new.id] = new

    def _add_transactions(self, transactions: Iterable[LedgerTransaction]) -> set[str]:
        """Postings and captures of new transactions; the ledger accounts they moved."""
        moved: set[str] = set()
        for tx in transactions:
            require(sum(p.amount for p in tx.postings) == 0, f"transaction {tx.id} does not balance")
            for posting in tx.postings:
                self.postings[posting.account] += posting.amount
                moved.add(posting.account)
            if tx.kind is TxKind.CAPTURE and tx.hold_id:
                self.captures[tx.hold_id] += 1
                require(self.captures[tx.hold_id] == 1, f"hold {tx.hold_id} was captured more than once")
            self.transactions_seen += 1
        return moved

    # ------------------------------------------------------------ after every step

    def check_step(self, state: MemoryState, changed: dict[str, set[Any]], history: dict[str, JobStatus]) -> None:
        """Check what the step changed, and what its changes could have broken elsewhere."""
        accounts: set[str] = set(changed.get("accounts", ()))
        users: set[str] = set(changed.get("users", ()))
        ledger_users: set[str] = set(changed.get("balances", ()))
        jobs: set[str] = set(changed.get("jobs", ()))
        for hold_id in changed.get("holds", ()):
            hold = state.holds.get(hold_id)
            require(hold is not None, f"hold {hold_id} vanished")
            assert hold is not None
            before = self.holds.get(hold_id)
            require(before is None or before.status is HoldStatus.OPEN or before == hold,
                    f"hold {hold_id} changed after it was settled: {before} -> {hold}")
            self._move_hold(before, hold)
            ledger_users.add(hold.user_id)
            if hold.job_id:
                jobs.add(hold.job_id)
        for job_id in jobs:
            job = state.jobs.get(job_id)
            if job is None:  # a hold placed by a create that was then refused: no job
                continue
            before = self.jobs.get(job_id)
            if before is not None and before.status in TERMINAL:
                require(job.status is before.status,
                        f"job {job_id} left terminal state {before.status} for {job.status}")
            self._move_job(before, job)
            history[job_id] = job.status
            users.add(job.user_id)
            accounts.update(a for a in (job.account_id, before.account_id if before else None) if a)
            self._check_job(state, job)
        new = state.transactions[self.transactions_seen:]
        for account in self._add_transactions(new):
            if account.startswith(("available:", "held:")):
                ledger_users.add(account.split(":", 1)[1])
        for user_id in ledger_users:
            self._check_credits(state, user_id)
        for account_id in accounts:
            self._check_account(state, account_id)
        for user_id in users:
            self._check_user(state, user_id)
        for user_id, day in changed.get("usage", ()):
            usage = state.usage[(user_id, day)]
            limit = state.users[user_id].quota.max_jobs_per_day
            require(limit is None or usage.jobs_created <= limit, f"user {user_id} exceeded the daily quota")

    # ------------------------------------------------------------ one entity

    def _check_job(self, state: MemoryState, job: Job) -> None:
        hold = state.holds.get(job.hold_id or "")
        require(hold is not None, f"job {job.id} has no credit hold")
        assert hold is not None
        expected = EXPECTED_HOLD.get(job.status, HoldStatus.OPEN)
        require(hold.status is expected, f"job {job.id} is {job.status} but its hold is {hold.status}")
        require(job.attempts <= job.max_attempts, f"job {job.id} made {job.attempts} attempts")

    def _check_account(self, state: MemoryState, account_id: str) -> None:
        account = state.accounts.get(account_id)
        if account is None:
            require(self.held[account_id] == 0, f"removed account {account_id} still holds jobs")
            return
        require(account.current_jobs == self.held[account_id],
                f"account {account.label} has current_jobs={account.current_jobs}, "
                f"{self.held[account_id]} processing jobs hold it")
        require(0 <= account.current_jobs <= account.max_concurrent_jobs and account.credits >= 0,
                f"account {account.label} out of bounds: {account}")

    def _check_user(self, state: MemoryState, user_id: str) -> None:
        user = state.users[user_id]
        require(user.running_jobs == self.running[user_id],
                f"user {user.username} has running_jobs={user.running_jobs}, "
                f"{self.running[user_id]} of their jobs are processing")
        limit = user.quota.max_concurrent_jobs
        require(limit is None or user.running_jobs <= limit, f"user {user.username} over the concurrent limit")

    def _check_credits(self, state: MemoryState, user_id: str) -> None:
        available = self.postings[available_account(user_id)]
        held = self.postings[held_account(user_id)]
        require(available >= 0 and held >= 0, f"user {user_id}'s ledger is negative: {available}, {held}")
        require(held == self.open_holds[user_id],
                f"{held_account(user_id)} is {held} but open holds sum to {self.open_holds[user_id]}")
        balance = state.balances.get(user_id)
        if balance is not None:
            require((balance.available, balance.held) == (available, held),
                    f"user {user_id}'s balance {balance} disagrees with the ledger ({available}, {held})")

    # ------------------------------------------------------------ from scratch

    def check_everything(self, state: MemoryState) -> None:
        """Derive every tally again, compare, and check every invariant over the whole store."""
        fresh = Tallies.derive(state)
        mine, theirs = self.comparable(), fresh.comparable()
        for name in mine:
            if mine[name] != theirs[name]:
                raise InvariantViolated(f"the running tally {name!r} disagrees with the store: "
                                        f"{_difference(mine[name], theirs[name])}")
        problems = invariant_violations(state.transactions, state.holds.values())
        require(not problems, f"ledger: {problems}")
        for job in state.jobs.values():
            fresh._check_job(state, job)
        for account_id in state.accounts.keys() | fresh.held.keys():
            fresh._check_account(state, account_id)
        for user_id in state.users:
            fresh._check_user(state, user_id)
        for user_id in state.balances.keys() | fresh.open_holds.keys():
            fresh._check_credits(state, user_id)
        for (user_id, _day), usage in state.usage.items():
            limit = state.users[user_id].quota.max_jobs_per_day
            require(limit is None or usage.jobs_created <= limit, f"user {user_id} exceeded the daily quota")


def _difference(mine: Any, theirs: Any) -> str:
    if isinstance(mine, dict) and isinstance(theirs, dict):
        keys = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))[:3]
        return "; ".join(f"{k}: tally {mine.get(k)!r}, store {theirs.get(k)!r}" for k in keys)
    if isinstance(mine, set) and isinstance(theirs, set):
        return f"tally only {sorted(mine - theirs)[:3]}, store only {sorted(theirs - mine)[:3]}"
    return f"tally {mine!r}, store {theirs!r}"
