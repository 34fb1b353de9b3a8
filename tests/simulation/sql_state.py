"""The simulation on a real database: after each step the harness reads the store back through
the repositories into a MemoryState, and the difference from the previous read is what the
step changed. The read costs the size of the world, so SQL runs are short (the in-memory runs
are the deep ones); the invariants and tallies are the same code."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from adapters.memory.store import MemoryState
from adapters.sql.rows import convert
from adapters.sql.tables import daily_usage
from adapters.sql.uow import SqlUnitOfWorkFactory
from domain.ports import JobFilter
from domain.quotas import DailyUsage

TABLES = ("jobs", "holds", "accounts", "users", "balances", "usage")
EVERYTHING = 10**9


async def read_state(uow: SqlUnitOfWorkFactory) -> MemoryState:
    async with uow.engine.connect() as conn:  # the usage port reads one day at a time
        usage = {(u.user_id, u.day): u for u in (convert(row, DailyUsage)
                                                 for row in await conn.execute(select(daily_usage)))}
    async with uow() as tx:
        users = {u.id: u for u in (await tx.users.page(None, EVERYTHING)).items}
        return MemoryState(
            users=users,
            jobs={j.id: j for j in (await tx.jobs.page(JobFilter(), None, EVERYTHING)).items},
            accounts={a.id: a for a in await tx.accounts.find()},
            transactions=await tx.ledger.transactions(),
            holds={h.id: h for h in await tx.ledger.holds()},
            balances={user_id: await tx.ledger.balance(user_id) for user_id in users},
            usage=usage,
        )


def changes(before: MemoryState, after: MemoryState) -> dict[str, set[Any]]:
    """The keys whose values differ between two reads, per table."""
    changed: dict[str, set[Any]] = {}
    for name in TABLES:
        old, new = getattr(before, name), getattr(after, name)
        keys = {key for key, value in new.items() if old.get(key) != value} | (old.keys() - new.keys())
        if keys:
            changed[name] = keys
    return changed
