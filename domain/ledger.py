"""The credits ledger: double-entry postings, holds captured or released exactly once.

Ledger accounts are named strings:
  available:<user>  what the user can spend
  held:<user>       reserved by open holds (one per job)
  system:issued     where granted credits come from (goes negative as credits are issued)
  system:spent      where captured credits go
Every transaction's postings sum to zero, so no credit is created or lost anywhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

import msgspec
from returns.result import Failure, Result, Success

from domain.errors import DomainError, conflict, validation

ISSUED = "system:issued"
SPENT = "system:spent"


def available_account(user_id: str) -> str:
    return f"available:{user_id}"


def held_account(user_id: str) -> str:
    return f"held:{user_id}"


class TxKind(StrEnum):
    GRANT = "grant"
    HOLD = "hold"
    CAPTURE = "capture"
    RELEASE = "release"
    REFUND = "refund"


class HoldStatus(StrEnum):
    OPEN = "open"
    CAPTURED = "captured"
    RELEASED = "released"


class Posting(msgspec.Struct, frozen=True):
    account: str
    amount: int


class LedgerTransaction(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: TxKind
    user_id: str
    postings: tuple[Posting, ...]
    created_at: datetime
    hold_id: str | None = None
    job_id: str | None = None
    memo: str | None = None

    def __post_init__(self) -> None:
        if sum(p.amount for p in self.postings) != 0:
            raise ValueError("a ledger transaction's postings must sum to zero")


class CreditHold(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    user_id: str
    amount: int
    created_at: datetime
    job_id: str | None = None
    status: HoldStatus = HoldStatus.OPEN
    captured: int = 0
    settled_at: datetime | None = None


class CreditBalance(msgspec.Struct, frozen=True):
    user_id: str
    available: int = 0
    held: int = 0


def _move(tx_id: str, kind: TxKind, user_id: str, source: str, target: str, amount: int,
          now: datetime, **extra: str | None) -> LedgerTransaction:
    return LedgerTransaction(
        id=tx_id, kind=kind, user_id=user_id, created_at=now,
        postings=(Posting(source, -amount), Posting(target, amount)), **extra,
    )


def grant(tx_id: str, user_id: str, amount: int, now: datetime, memo: str | None = None
          ) -> Result[LedgerTransaction, DomainError]:
    if amount <= 0:
        return Failure(validation("a grant must be a positive number of credits", "amount"))
    return Success(_move(tx_id, TxKind.GRANT, user_id, ISSUED, available_account(user_id), amount, now, memo=memo))


def place_hold(tx_id: str, hold_id: str, user_id: str, amount: int, now: datetime,
               job_id: str | None = None) -> Result[tuple[CreditHold, LedgerTransaction], DomainError]:
    if amount < 0:
        return Failure(validation("a hold cannot be negative", "amount"))
    hold = CreditHold(id=hold_id, user_id=user_id, amount=amount, created_at=now, job_id=job_id)
    tx = _move(tx_id, TxKind.HOLD, user_id, available_account(user_id), held_account(user_id),
               amount, now, hold_id=hold_id, job_id=job_id)
    return Success((hold, tx))


def capture(hold: CreditHold, actual: int, tx_ids: tuple[str, str], now: datetime
            ) -> Result[tuple[CreditHold, list[LedgerTransaction]], DomainError]:
    """Take the actual cost (at most the hold) and give the rest back, once."""
    if hold.status is not HoldStatus.OPEN:
        return Failure(conflict(f"hold {hold.id} is already {hold.status}"))
    if actual < 0:
        return Failure(validation("a capture cannot be negative"))
    taken = min(actual, hold.amount)
    txs = [_move(tx_ids[0], TxKind.CAPTURE, hold.user_id, held_account(hold.user_id), SPENT,
                 taken, now, hold_id=hold.id, job_id=hold.job_id)]
    if hold.amount - taken:
        txs.append(_move(tx_ids[1], TxKind.RELEASE, hold.user_id, held_account(hold.user_id),
                         available_account(hold.user_id), hold.amount - taken, now,
                         hold_id=hold.id, job_id=hold.job_id))
    settled = msgspec.structs.replace(hold, status=HoldStatus.CAPTURED, captured=taken, settled_at=now)
    return Success((settled, txs))


def release(hold: CreditHold, tx_id: str, now: datetime
            ) -> Result[tuple[CreditHold, LedgerTransaction], DomainError]:
    if hold.status is not HoldStatus.OPEN:
        return Failure(conflict(f"hold {hold.id} is already {hold.status}"))
    tx = _move(tx_id, TxKind.RELEASE, hold.user_id, held_account(hold.user_id),
               available_account(hold.user_id), hold.amount, now, hold_id=hold.id, job_id=hold.job_id)
    return Success((msgspec.structs.replace(hold, status=HoldStatus.RELEASED, settled_at=now), tx))


def refund(tx_id: str, user_id: str, amount: int, now: datetime, memo: str | None = None
           ) -> Result[LedgerTransaction, DomainError]:
    if amount <= 0:
        return Failure(validation("a refund must be a positive number of credits", "amount"))
    return Success(_move(tx_id, TxKind.REFUND, user_id, SPENT, available_account(user_id), amount, now, memo=memo))


def apply_to_balance(balance: CreditBalance, tx: LedgerTransaction) -> CreditBalance:
    available, held = balance.available, balance.held
    for posting in tx.postings:
        if posting.account == available_account(balance.user_id):
            available += posting.amount
        elif posting.account == held_account(balance.user_id):
            held += posting.amount
    return CreditBalance(balance.user_id, available, held)


def is_spendable(balance: CreditBalance) -> bool:
    return balance.available >= 0 and balance.held >= 0


def account_totals(transactions: Iterable[LedgerTransaction]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for tx in transactions:
        for posting in tx.postings:
            totals[posting.account] += posting.amount
    return dict(totals)


def invariant_violations(transactions: Iterable[LedgerTransaction], holds: Iterable[CreditHold]
                         ) -> list[str]:
    """Everything that would mean credits were created, lost, or spent twice."""
    txs = list(transactions)
    problems: list[str] = []
    totals = account_totals(txs)
    if sum(totals.values()) != 0:
        problems.append(f"postings sum to {sum(totals.values())}, not 0")
    for account, total in totals.items():
        if account.startswith(("available:", "held:")) and total < 0:
            problems.append(f"{account} is negative ({total})")
    open_by_user: dict[str, int] = defaultdict(int)
    settlements: dict[str, int] = defaultdict(int)
    for tx in txs:
        if tx.hold_id and tx.kind is TxKind.CAPTURE:
            settlements[tx.hold_id] += 1
    for hold in holds:
        if hold.status is HoldStatus.OPEN:
            open_by_user[hold.user_id] += hold.amount
        if settlements.get(hold.id, 0) > 1:
            problems.append(f"hold {hold.id} was captured more than once")
    # users with open holds but no held postings at all count too: their held total is 0
    held_users = {a.removeprefix("held:") for a in totals if a.startswith("held:")} | set(open_by_user)
    for user_id in sorted(held_users):
        total, expected = totals.get(held_account(user_id), 0), open_by_user.get(user_id, 0)
        if total != expected:
            problems.append(f"{held_account(user_id)} is {total} but open holds sum to {expected}")
    return problems


class LedgerEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One of a user's ledger transactions, with the user's balance right after it."""

    seq: int  # the ledger's order: later transactions have larger numbers
    tx: LedgerTransaction
    available_after: int
    held_after: int

    @property
    def available_change(self) -> int:
        return _deltas_of(self.tx)[0]

    @property
    def held_change(self) -> int:
        return _deltas_of(self.tx)[1]


def _deltas_of(tx: LedgerTransaction) -> tuple[int, int]:
    available, held = available_account(tx.user_id), held_account(tx.user_id)
    return (sum(p.amount for p in tx.postings if p.account == available),
            sum(p.amount for p in tx.postings if p.account == held))


def entries_newest_first(newest_first: Iterable[tuple[int, LedgerTransaction]], balance_after_newest: CreditBalance
                         ) -> list[LedgerEntry]:
    """Entries for transactions given newest first, walking back from the balance right
    after the newest of them."""
    entries: list[LedgerEntry] = []
    available, held = balance_after_newest.available, balance_after_newest.held
    for seq, tx in newest_first:
        entries.append(LedgerEntry(seq=seq, tx=tx, available_after=available, held_after=held))
        moved_available, moved_held = _deltas_of(tx)
        available, held = available - moved_available, held - moved_held
    return entries
