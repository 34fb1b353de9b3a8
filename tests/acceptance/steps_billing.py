"""Usage by day and the credits ledger, as their owner or an admin reads them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pytest_bdd import then

from application.billing.history import GetLedger, GetUsage
from domain.clock import utc_day
from domain.errors import ErrorCode
from domain.ledger import LedgerEntry
from domain.quotas import DailyUsage
from tests.acceptance.steps_common import p
from tests.acceptance.support import actor, code_of, ok, user_named
from tests.support.wiring import Wiring


async def usage(w: Wiring, reader: str, user: str, days: int) -> list[DailyUsage]:
    subject = await user_named(w, user)
    today = utc_day(w.clock.now())
    rows: list[DailyUsage] = ok(await w.get(GetUsage)(await actor(w, reader), subject.id,
                                                      today - timedelta(days=days - 1), today))
    return rows


async def ledger(w: Wiring, reader: str, user: str) -> list[LedgerEntry]:
    subject = await user_named(w, user)
    entries: list[LedgerEntry] = ok(await w.get(GetLedger)(await actor(w, reader), subject.id)).items
    return entries


async def job_name(w: Wiring, job_id: str | None) -> str:
    if job_id is None:
        return ""
    async with w.ports.uow() as uow:
        job = await uow.jobs.get(job_id)
    return job.name or "" if job is not None else "?"


@then(p('the usage of "{user}" today is {created:d} job{:Plural} created, {completed:d} completed, '
        '{assets:d} asset{:Plural} and {spent:d} credit{:Plural} spent'))
def usage_today(runner: asyncio.Runner, wiring: Wiring, user: str, created: int, completed: int, assets: int,
                spent: int) -> None:
    [today] = runner.run(usage(wiring, user, user, 1))
    assert (today.jobs_created, today.jobs_completed, today.assets_created, today.credits_spent) == (
        created, completed, assets, spent)


@then(p('the usage of "{user}" over the last {days:d} days is {counts} jobs created'))
def usage_over_days(runner: asyncio.Runner, wiring: Wiring, user: str, days: int, counts: str) -> None:
    expected = [int(n) for n in counts.replace(" and ", ", ").split(", ")]
    assert [u.jobs_created for u in runner.run(usage(wiring, user, user, days))] == expected


@then(p('the ledger of "{user}" reads, newest first'))
def ledger_reads(runner: asyncio.Runner, wiring: Wiring, user: str, datatable: list[list[str]]) -> None:
    header, *expected = datatable
    assert header == ["kind", "job", "available", "held"]

    async def rows() -> list[list[str]]:
        return [[str(e.tx.kind), await job_name(wiring, e.tx.job_id), str(e.available_after), str(e.held_after)]
                for e in await ledger(wiring, user, user)]

    assert runner.run(rows()) == expected


@then(p('"{reader}" can read the usage and ledger of "{user}"'))
def can_read(runner: asyncio.Runner, wiring: Wiring, reader: str, user: str) -> None:
    assert runner.run(usage(wiring, reader, user, 1)) and runner.run(ledger(wiring, reader, user))


@then(p('"{reader}" cannot read the usage or ledger of "{user}"'))
def cannot_read(runner: asyncio.Runner, wiring: Wiring, reader: str, user: str) -> None:
    async def attempts() -> list[ErrorCode]:
        subject = await user_named(wiring, user)
        who = await actor(wiring, reader)
        return [code_of(await wiring.get(GetUsage)(who, subject.id)),
                code_of(await wiring.get(GetLedger)(who, subject.id))]

    assert runner.run(attempts()) == [ErrorCode.FORBIDDEN, ErrorCode.FORBIDDEN]
