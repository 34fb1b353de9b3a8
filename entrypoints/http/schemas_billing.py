"""Bodies of the usage and ledger routes, and their CSV form."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from domain.ledger import LedgerEntry, TxKind
from domain.quotas import DailyUsage
from entrypoints.http.schemas_common import utc

USAGE_FIELDS = ("day", "jobs_created", "jobs_completed", "assets_created", "credits_spent", "bytes_stored")
LEDGER_FIELDS = ("id", "created_at", "kind", "job_id", "hold_id", "available_change", "held_change",
                 "available_after", "held_after", "memo")


class UsageDayOut(msgspec.Struct, kw_only=True):
    day: Annotated[date, Meta(examples=["2026-12-03"])]
    jobs_created: Annotated[int, Meta(examples=[12])]
    jobs_completed: Annotated[int, Meta(examples=[11])]
    assets_created: Annotated[int, Meta(examples=[11])]
    credits_spent: Annotated[int, Meta(examples=[14])]
    bytes_stored: Annotated[int, Meta(examples=[5242880])]


class UsageList(msgspec.Struct, kw_only=True):
    items: list[UsageDayOut]
    next_cursor: str | None = None


class LedgerEntryOut(msgspec.Struct, kw_only=True):
    id: str
    created_at: datetime
    kind: Annotated[TxKind, Meta(examples=["capture"])]
    job_id: str | None
    hold_id: str | None
    available_change: Annotated[int, Meta(examples=[0], description="what it moved in spendable credits")]
    held_change: Annotated[int, Meta(examples=[-4], description="what it moved in held credits")]
    available_after: Annotated[int, Meta(examples=[986], description="spendable credits right after it")]
    held_after: Annotated[int, Meta(examples=[0], description="held credits right after it")]
    memo: str | None


class LedgerList(msgspec.Struct, kw_only=True):
    items: list[LedgerEntryOut]
    next_cursor: str | None = None


def usage_day_out(usage: DailyUsage) -> UsageDayOut:
    return UsageDayOut(day=usage.day, jobs_created=usage.jobs_created, jobs_completed=usage.jobs_completed,
                       assets_created=usage.assets_created, credits_spent=usage.credits_spent,
                       bytes_stored=usage.bytes_stored)


def ledger_entry_out(entry: LedgerEntry) -> LedgerEntryOut:
    tx = entry.tx
    return LedgerEntryOut(id=tx.id, created_at=utc(tx.created_at), kind=tx.kind, job_id=tx.job_id, hold_id=tx.hold_id,
                          available_change=entry.available_change, held_change=entry.held_change,
                          available_after=entry.available_after, held_after=entry.held_after, memo=tx.memo)


def as_csv(fields: Sequence[str], rows: Iterable[msgspec.Struct]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(fields)
    for row in rows:
        values = msgspec.to_builtins(row)
        writer.writerow([_cell(values.get(name)) for name in fields])
    return out.getvalue()


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # a spreadsheet would run a cell starting like a formula (CSV injection): quote it as text
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True
