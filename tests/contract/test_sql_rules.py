"""Where a rule of the domain is also written in SQL, the SQL must agree with the domain.

Hypothesis draws sequences of operations; a model built only from the domain's functions
(domain/quotas.py `within`, domain/ledger.py `place_hold`, `capture`, `release`,
`apply_to_balance`, `is_spendable`) says what each must answer and what must be stored; every
adapter (memory, SQLite, Postgres) runs the same sequence and must agree at every step:

- creating jobs: the daily limit (`within`, the lazy 00:00 UTC reset), the hold against the
  balance, idempotency keys (Postgres: the one-statement CTE; SQLite: the statements run in
  the database thread; memory: the domain's functions over a unit of work);
- holds captured or released: the balance movements (the conditional UPDATE / upsert of
  the SQL ledger) and exactly-once settlement;
- an API key credential (domain/credentials.py `grants`, API_KEY): the condition every
  hot-path statement embeds (adapters/sql/credentials.py) grants exactly when the domain does.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from domain.api_keys import ApiKey, Scope, hash_key_secret
from domain.clock import utc_day
from domain.credentials import Credential, grants
from domain.ledger import (
    CreditBalance,
    CreditHold,
    LedgerTransaction,
    apply_to_balance,
    capture,
    grant,
    invariant_violations,
    is_spendable,
    place_hold,
    release,
)
from domain.ports import CreateOutcome, CreateStatus, UnitOfWork, UnitOfWorkFactory
from domain.quotas import QuotaPolicy, within
from tests.contract.builders import T0, add_user, in_uow
from tests.contract.test_create_job_step import draft

RULES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

limits = st.one_of(st.none(), st.integers(0, 4))
attempts = st.lists(st.tuples(st.integers(0, 2),  # the day (offset from T0)
                              st.integers(0, 40),  # the cost
                              st.sampled_from([None, None, "k1", "k2"])),  # the idempotency key
                    max_size=8)


@dataclass
class CreateModel:
    """What the domain's functions say creating jobs must do."""

    user_id: str
    limit: int | None
    balance: CreditBalance
    used: dict[date, int] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)

    def create(self, day: date, cost: int, key: str | None, job_id: str) -> CreateOutcome:
        if key is not None and key in self.keys:
            return CreateOutcome(status=CreateStatus.REPLAYED)
        used = self.used.get(day, 0)
        _, hold_tx = place_hold("t", "h", self.user_id, cost, T0).unwrap()
        after = apply_to_balance(self.balance, hold_tx)
        if not is_spendable(after):
            if not within(self.limit, used):
                return CreateOutcome(status=CreateStatus.DAILY_LIMIT, daily_limit=self.limit)
            return CreateOutcome(status=CreateStatus.INSUFFICIENT_CREDITS, available=self.balance.available)
        if not within(self.limit, used):
            return CreateOutcome(status=CreateStatus.DAILY_LIMIT, daily_limit=self.limit)
        self.balance, self.used[day] = after, used + 1
        if key is not None:
            self.keys[key] = job_id
        return CreateOutcome(status=CreateStatus.CREATED)


async def stored_state(factory: UnitOfWorkFactory, user_id: str, days: list[date]) -> tuple[CreditBalance, dict[date, int]]:
    async def work(uow: UnitOfWork) -> tuple[CreditBalance, dict[date, int]]:
        return (await uow.ledger.balance(user_id),
                {day: (await uow.usage.get(user_id, day)).jobs_created for day in days})

    return await in_uow(factory, work, commit=False)


@RULES
@given(limit=limits, credits=st.integers(0, 100), attempts=attempts)
def test_creating_jobs_follows_the_domain_rules(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner,
                                                 limit: int | None, credits: int,
                                                 attempts: list[tuple[int, int, str | None]]) -> None:
    async def scenario() -> None:
        user = await add_user(uow_factory, quota=QuotaPolicy(max_jobs_per_day=limit))
        if credits:
            async def fund(uow: UnitOfWork) -> bool:
                return await uow.ledger.apply(grant(uuid.uuid4().hex, user.id, credits, T0).unwrap())

            assert await in_uow(uow_factory, fund)
        model = CreateModel(user.id, limit, CreditBalance(user.id, credits, 0))
        credential = Credential.of_user(user.id)
        days = sorted({utc_day(T0 + timedelta(days=offset)) for offset, _, _ in attempts})
        for offset, cost, key in attempts:
            now = T0 + timedelta(days=offset, hours=offset * 5)
            made = draft(user.id, cost=cost, key=key)
            expected = model.create(utc_day(now), cost, key, made.job.id)
            got = await uow_factory.create_job(credential, made, now)
            assert got.status is expected.status, (got, expected)
            if expected.status is CreateStatus.REPLAYED:
                assert got.job is not None and got.job.id == model.keys[key or ""]
            else:
                assert (got.daily_limit, got.available) == (expected.daily_limit, expected.available)
            balance, used = await stored_state(uow_factory, user.id, days)
            assert (balance, used) == (model.balance, {day: model.used.get(day, 0) for day in days})

    runner.run(scenario())


settlements = st.lists(st.tuples(st.integers(1, 60),  # the hold
                                 st.sampled_from(["capture", "release", "twice"]),
                                 st.integers(0, 80)),  # what the job actually cost
                       min_size=1, max_size=6)


@RULES
@given(credits=st.integers(0, 150), settlements=settlements)
def test_holds_captured_or_released_move_balances_as_the_domain_says(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner, credits: int,
        settlements: list[tuple[int, str, int]]) -> None:
    async def scenario() -> None:
        user = await add_user(uow_factory)
        model = CreditBalance(user.id)
        if credits:
            granted = grant(uuid.uuid4().hex, user.id, credits, T0).unwrap()
            assert await in_uow(uow_factory, lambda uow: uow.ledger.apply(granted))
            model = apply_to_balance(model, granted)
        holds: list[CreditHold] = []
        for amount, _, _ in settlements:  # hold first, as jobs are created
            hold, tx = place_hold(uuid.uuid4().hex, uuid.uuid4().hex, user.id, amount, T0).unwrap()
            after = apply_to_balance(model, tx)

            async def place(uow: UnitOfWork, hold: CreditHold = hold, tx: LedgerTransaction = tx) -> bool:
                if not await uow.ledger.apply(tx):
                    return False
                await uow.ledger.add_hold(hold)
                return True

            placed = await in_uow(uow_factory, place)
            assert placed == is_spendable(after)
            if placed:
                model = after
                holds.append(hold)
        for hold, (_, how, actual) in zip(holds, settlements, strict=False):
            ids = (uuid.uuid4().hex, uuid.uuid4().hex)
            settled, txs = (capture(hold, actual, ids, T0).unwrap() if how != "release"
                            else (lambda pair: (pair[0], [pair[1]]))(release(hold, ids[0], T0).unwrap()))

            async def settle(uow: UnitOfWork, settled: CreditHold = settled,
                             txs: list[LedgerTransaction] = txs) -> bool:
                if not await uow.ledger.settle_hold(settled):
                    return False
                for tx in txs:
                    assert await uow.ledger.apply(tx)
                return True

            assert await in_uow(uow_factory, settle)
            for tx in txs:
                model = apply_to_balance(model, tx)
            if how == "twice":  # a second settlement of the same hold changes nothing
                assert not await in_uow(uow_factory, settle)

        async def check(uow: UnitOfWork) -> tuple[CreditBalance, list[str]]:
            return (await uow.ledger.balance(user.id),
                    invariant_violations(await uow.ledger.transactions(user.id), await uow.ledger.holds(user.id)))

        assert await in_uow(uow_factory, check, commit=False) == (model, [])

    runner.run(scenario())


def mostly(value: bool) -> st.SearchStrategy[bool]:
    """`value` three times in four: each flaw alone is drawn often enough."""
    return st.sampled_from([value, value, value, not value])


GOOD_KEY: dict[str, Any] = {"scopes": {Scope.JOBS_READ}, "asked": Scope.JOBS_READ, "revoked": False, "expires_in": None,
                            "right_secret": True, "owner_active": True, "theirs": False}
keys = st.fixed_dictionaries({
    "scopes": st.sets(st.sampled_from([Scope.JOBS_READ, Scope.JOBS_WRITE, Scope.ASSETS_READ]), min_size=1),
    "asked": st.sampled_from([None, Scope.JOBS_READ, Scope.JOBS_WRITE, Scope.ASSETS_READ]),
    "revoked": mostly(False),
    "expires_in": st.sampled_from([None, None, -60, 0, 60]),  # seconds from `now`
    "right_secret": mostly(True),
    "owner_active": mostly(True),
    "theirs": mostly(False),  # the key is another user's
})


@RULES
@example(key=GOOD_KEY)
@example(key={**GOOD_KEY, "asked": Scope.JOBS_WRITE})
@example(key={**GOOD_KEY, "asked": None})
@example(key={**GOOD_KEY, "scopes": {Scope.JOBS_READ, Scope.JOBS_WRITE}, "asked": Scope.ASSETS_READ})
@example(key={**GOOD_KEY, "revoked": True})
@example(key={**GOOD_KEY, "expires_in": 0})
@example(key={**GOOD_KEY, "right_secret": False})
@example(key={**GOOD_KEY, "owner_active": False})
@example(key={**GOOD_KEY, "theirs": True})
@given(key=keys)
def test_an_api_key_credential_is_granted_exactly_as_the_domain_says(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner, key: dict[str, Any]) -> None:
    """domain/credentials.py `grants` for API_KEY, against the SQL condition every hot-path
    statement embeds: the create-job step and a read step on every adapter."""
    async def scenario() -> None:
        user = await add_user(uow_factory, is_active=key["owner_active"])
        other = await add_user(uow_factory)
        now = T0 + timedelta(hours=1)
        stored = ApiKey(id=uuid.uuid4().hex, user_id=other.id if key["theirs"] else user.id, name="k",
                        secret_hash=hash_key_secret("s" * 32), prefix="pxr_", scopes=tuple(sorted(key["scopes"])),
                        created_at=T0, revoked_at=T0 if key["revoked"] else None,
                        expires_at=None if key["expires_in"] is None else now + timedelta(seconds=key["expires_in"]))

        async def store(uow: UnitOfWork) -> None:
            await uow.api_keys.add(stored)

        await in_uow(uow_factory, store)
        presented = hash_key_secret("s" * 32 if key["right_secret"] else "t" * 32)
        credential = Credential.of_api_key(user.id, stored.id, presented, key["asked"])
        owner = await in_uow(uow_factory, lambda uow: uow.users.get(user.id), commit=False)
        expected = grants(credential, owner, None, now, stored)
        created = await uow_factory.create_job(credential, draft(user.id, cost=0), now)
        assert (created.status is not CreateStatus.UNAUTHENTICATED) == expected, (created, expected)
        read = await uow_factory.read_standing(credential, now)
        assert read.granted == expected, (read, expected)

    runner.run(scenario())
