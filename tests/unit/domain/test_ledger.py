"""The credits ledger: each transaction kind, balances, holds settled once, and the
invariant check, on hand-made and random histories."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from domain.errors import ErrorCode
from domain.ledger import (
    ISSUED,
    SPENT,
    CreditBalance,
    CreditHold,
    HoldStatus,
    LedgerTransaction,
    Posting,
    TxKind,
    account_totals,
    apply_to_balance,
    available_account,
    capture,
    grant,
    held_account,
    invariant_violations,
    is_spendable,
    place_hold,
    refund,
    release,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PROPERTY = settings(max_examples=200, deadline=None, database=None)


def balance_of(user_id: str, txs: list[LedgerTransaction]) -> CreditBalance:
    balance = CreditBalance(user_id)
    for tx in txs:
        balance = apply_to_balance(balance, tx)
    return balance


# --- transaction kinds -------------------------------------------------------------------


def test_account_names() -> None:
    assert (available_account("u1"), held_account("u1")) == ("available:u1", "held:u1")


def test_transaction_postings_must_sum_to_zero() -> None:
    with pytest.raises(ValueError, match="sum to zero"):
        LedgerTransaction(id="t", kind=TxKind.GRANT, user_id="u1", created_at=NOW,
                          postings=(Posting(ISSUED, -5), Posting(available_account("u1"), 4)))


def test_grant_moves_credits_from_issued_to_available() -> None:
    tx = grant("t1", "u1", 50, NOW, memo="signup").unwrap()
    assert tx.kind is TxKind.GRANT
    assert tx.postings == (Posting(ISSUED, -50), Posting("available:u1", 50))
    assert tx.memo == "signup"
    assert balance_of("u1", [tx]) == CreditBalance("u1", 50, 0)


@pytest.mark.parametrize("amount", [0, -1])
def test_grant_and_refund_need_a_positive_amount(amount: int) -> None:
    for result in (grant("t", "u1", amount, NOW), refund("t", "u1", amount, NOW)):
        assert isinstance(result, Failure)
        assert result.failure().code is ErrorCode.VALIDATION_ERROR
        assert result.failure().field == "amount"


def test_place_hold_moves_available_to_held() -> None:
    hold, tx = place_hold("t2", "h1", "u1", 30, NOW, job_id="j1").unwrap()
    assert hold == CreditHold(id="h1", user_id="u1", amount=30, created_at=NOW, job_id="j1")
    assert (tx.kind, tx.hold_id, tx.job_id) == (TxKind.HOLD, "h1", "j1")
    assert tx.postings == (Posting("available:u1", -30), Posting("held:u1", 30))


def test_a_zero_hold_is_allowed_but_a_negative_one_is_not() -> None:
    assert isinstance(place_hold("t", "h", "u1", 0, NOW), Success)
    result = place_hold("t", "h", "u1", -1, NOW)
    assert isinstance(result, Failure)
    assert result.failure().code is ErrorCode.VALIDATION_ERROR


def test_capture_takes_the_actual_cost_and_releases_the_rest() -> None:
    hold, _ = place_hold("t2", "h1", "u1", 30, NOW, job_id="j1").unwrap()
    settled, txs = capture(hold, 12, ("t3", "t4"), NOW).unwrap()
    assert (settled.status, settled.captured, settled.settled_at) == (HoldStatus.CAPTURED, 12, NOW)
    assert [tx.kind for tx in txs] == [TxKind.CAPTURE, TxKind.RELEASE]
    assert txs[0].postings == (Posting("held:u1", -12), Posting(SPENT, 12))
    assert txs[1].postings == (Posting("held:u1", -18), Posting("available:u1", 18))
    assert all(tx.hold_id == "h1" and tx.job_id == "j1" for tx in txs)


def test_capture_of_the_full_amount_makes_no_release() -> None:
    hold, _ = place_hold("t2", "h1", "u1", 30, NOW).unwrap()
    _, txs = capture(hold, 30, ("t3", "t4"), NOW).unwrap()
    assert [tx.id for tx in txs] == ["t3"]


def test_capture_never_takes_more_than_the_hold() -> None:
    hold, _ = place_hold("t2", "h1", "u1", 30, NOW).unwrap()
    settled, txs = capture(hold, 99, ("t3", "t4"), NOW).unwrap()
    assert settled.captured == 30
    assert txs[0].postings[1] == Posting(SPENT, 30)


def test_capture_rejects_a_negative_cost() -> None:
    hold, _ = place_hold("t2", "h1", "u1", 30, NOW).unwrap()
    result = capture(hold, -1, ("t3", "t4"), NOW)
    assert isinstance(result, Failure)
    assert result.failure().code is ErrorCode.VALIDATION_ERROR


def test_release_returns_the_whole_hold() -> None:
    hold, _ = place_hold("t2", "h1", "u1", 30, NOW).unwrap()
    settled, tx = release(hold, "t3", NOW).unwrap()
    assert settled.status is HoldStatus.RELEASED
    assert tx.postings == (Posting("held:u1", -30), Posting("available:u1", 30))


@pytest.mark.parametrize("first", ["capture", "release"])
@pytest.mark.parametrize("second", ["capture", "release"])
def test_a_hold_settles_exactly_once(first: str, second: str) -> None:
    hold, _ = place_hold("t2", "h1", "u1", 30, NOW).unwrap()
    settled = capture(hold, 5, ("a", "b"), NOW).unwrap()[0] if first == "capture" else release(hold, "a", NOW).unwrap()[0]
    again = capture(settled, 5, ("c", "d"), NOW) if second == "capture" else release(settled, "c", NOW)
    assert isinstance(again, Failure)
    assert again.failure().code is ErrorCode.CONFLICT
    assert settled.status in again.failure().detail


def test_refund_returns_spent_credits() -> None:
    tx = refund("t9", "u1", 7, NOW, memo="moderated").unwrap()
    assert tx.postings == (Posting(SPENT, -7), Posting("available:u1", 7))


def test_apply_to_balance_ignores_other_users_and_system_accounts() -> None:
    tx = grant("t1", "u2", 50, NOW).unwrap()
    assert apply_to_balance(CreditBalance("u1", 3, 1), tx) == CreditBalance("u1", 3, 1)


def test_is_spendable() -> None:
    assert is_spendable(CreditBalance("u1", 0, 0))
    assert not is_spendable(CreditBalance("u1", -1, 0))
    assert not is_spendable(CreditBalance("u1", 0, -1))


def test_account_totals_sum_per_account() -> None:
    txs = [grant("t1", "u1", 50, NOW).unwrap(), grant("t2", "u1", 5, NOW).unwrap()]
    assert account_totals(txs) == {ISSUED: -55, "available:u1": 55}


# --- invariant_violations on hand-made histories ---------------------------------------------


def valid_history() -> tuple[list[LedgerTransaction], dict[str, CreditHold]]:
    txs = [grant("t1", "u1", 100, NOW).unwrap()]
    h1, tx = place_hold("t2", "h1", "u1", 30, NOW).unwrap()
    txs.append(tx)
    h1, captured = capture(h1, 10, ("t3", "t4"), NOW).unwrap()
    txs += captured
    h2, tx = place_hold("t5", "h2", "u1", 20, NOW).unwrap()
    txs.append(tx)
    return txs, {"h1": h1, "h2": h2}


def test_a_valid_history_has_no_violations() -> None:
    txs, holds = valid_history()
    assert invariant_violations(txs, holds.values()) == []
    assert balance_of("u1", txs) == CreditBalance("u1", 70, 20)


def test_a_capture_applied_twice_is_found() -> None:
    txs, holds = valid_history()
    problems = invariant_violations([*txs, txs[2]], holds.values())
    assert "hold h1 was captured more than once" in problems
    assert any(p.startswith("held:u1 is 10 ") for p in problems)


def test_an_open_hold_whose_transaction_is_missing_is_found() -> None:
    txs, holds = valid_history()
    problems = invariant_violations(txs[:-1], holds.values())
    assert problems == ["held:u1 is 0 but open holds sum to 20"]


def test_an_open_hold_of_a_user_without_any_held_posting_is_found() -> None:
    # regression: the check used to look only at users that had held postings
    txs = [grant("t1", "u1", 100, NOW).unwrap()]
    hold, _ = place_hold("t2", "h1", "u1", 30, NOW).unwrap()
    assert invariant_violations(txs, [hold]) == ["held:u1 is 0 but open holds sum to 30"]


def test_a_held_total_without_any_open_hold_is_found() -> None:
    txs, holds = valid_history()
    released = msgspec.structs.replace(holds["h2"], status=HoldStatus.RELEASED)
    assert invariant_violations(txs, [holds["h1"], released]) == ["held:u1 is 20 but open holds sum to 0"]


def test_a_negative_user_account_is_found() -> None:
    _, tx = place_hold("t1", "h1", "u1", 5, NOW).unwrap()
    hold = CreditHold(id="h1", user_id="u1", amount=5, created_at=NOW)
    assert invariant_violations([tx], [hold]) == ["available:u1 is negative (-5)"]


def test_unbalanced_postings_are_found() -> None:
    tx = grant("t1", "u1", 10, NOW).unwrap()
    # a row read back corrupted from storage: bypass the constructor's own check
    msgspec.structs.force_setattr(tx, "postings", (Posting(ISSUED, -10), Posting("available:u1", 11)))
    assert invariant_violations([tx], []) == ["postings sum to 1, not 0"]


# --- property: random histories ---------------------------------------------------------------

USERS = ("u1", "u2")


@dataclass
class Books:
    txs: list[LedgerTransaction] = field(default_factory=list)
    holds: dict[str, CreditHold] = field(default_factory=dict)
    balances: dict[str, CreditBalance] = field(default_factory=lambda: {u: CreditBalance(u) for u in USERS})
    settlements: dict[str, int] = field(default_factory=dict)
    counter: int = 0

    def next_id(self) -> str:
        self.counter += 1
        return f"t{self.counter}"

    def post(self, user_id: str, txs: list[LedgerTransaction]) -> bool:
        """Record the transactions unless one would make the user's balance negative."""
        balance = self.balances[user_id]
        for tx in txs:
            assert sum(p.amount for p in tx.postings) == 0
            balance = apply_to_balance(balance, tx)
            if not is_spendable(balance):
                return False
        self.balances[user_id] = balance
        self.txs += txs
        return True


operations = st.one_of(
    st.tuples(st.just("grant"), st.sampled_from(USERS), st.integers(1, 50)),
    st.tuples(st.just("hold"), st.sampled_from(USERS), st.integers(0, 60)),
    st.tuples(st.just("capture"), st.integers(0, 9), st.integers(0, 80)),
    st.tuples(st.just("release"), st.integers(0, 9), st.just(0)),
    st.tuples(st.just("refund"), st.sampled_from(USERS), st.integers(1, 30)),
)


def run(books: Books, op: str, target: str | int, amount: int) -> None:
    if op in ("grant", "refund"):
        assert isinstance(target, str)
        make = grant if op == "grant" else refund
        assert books.post(target, [make(books.next_id(), target, amount, NOW).unwrap()])
        return
    if op == "hold":
        assert isinstance(target, str)
        hold_id = f"h{len(books.holds)}"
        hold, tx = place_hold(books.next_id(), hold_id, target, amount, NOW).unwrap()
        if books.post(target, [tx]):
            books.holds[hold_id] = hold
        else:
            assert amount > books.balances[target].available
        return
    assert isinstance(target, int)
    if not books.holds:
        return
    hold = list(books.holds.values())[target % len(books.holds)]
    result = (
        capture(hold, amount, (books.next_id(), books.next_id()), NOW) if op == "capture"
        else release(hold, books.next_id(), NOW).map(lambda pair: (pair[0], [pair[1]]))
    )
    if hold.status is not HoldStatus.OPEN:
        assert isinstance(result, Failure)
        assert result.failure().code is ErrorCode.CONFLICT
        return
    settled, txs = result.unwrap()
    assert books.post(hold.user_id, txs), "settling a hold can never overdraw"
    books.holds[hold.id] = settled
    books.settlements[hold.id] = books.settlements.get(hold.id, 0) + 1


histories = st.lists(operations, max_size=40)


def replay(ops: list[tuple[str, str | int, int]]) -> Books:
    books = Books()
    for op, target, amount in ops:
        run(books, op, target, amount)
    return books


@PROPERTY
@given(histories)
def test_random_histories_keep_every_invariant(ops: list[tuple[str, str | int, int]]) -> None:
    books = Books()
    for op, target, amount in ops:
        run(books, op, target, amount)
        assert all(b.available >= 0 and b.held >= 0 for b in books.balances.values())
        assert all(count == 1 for count in books.settlements.values())
        assert invariant_violations(books.txs, books.holds.values()) == []
    totals = account_totals(books.txs)
    assert sum(totals.values()) == 0
    for user_id, balance in books.balances.items():
        assert balance_of(user_id, books.txs) == balance
        assert totals.get(held_account(user_id), 0) == balance.held
        assert balance.held == sum(
            h.amount for h in books.holds.values() if h.user_id == user_id and h.status is HoldStatus.OPEN
        )


@PROPERTY
@given(histories, st.data())
def test_corrupted_histories_are_always_found(ops: list[tuple[str, str | int, int]], data: st.DataObject) -> None:
    books = replay(ops)
    captures = [tx for tx in books.txs if tx.kind is TxKind.CAPTURE and tx.postings[1].amount > 0]
    open_holds = [h for h in books.holds.values() if h.status is HoldStatus.OPEN and h.amount > 0]
    corruptions = []
    if captures:
        corruptions.append("double capture")
    if open_holds:
        corruptions.append("lost hold tx")
    if not corruptions:
        return
    holds = list(books.holds.values())
    if data.draw(st.sampled_from(corruptions)) == "double capture":
        twice = data.draw(st.sampled_from(captures))
        problems = invariant_violations([*books.txs, twice], holds)
        assert f"hold {twice.hold_id} was captured more than once" in problems
    else:
        lost = data.draw(st.sampled_from(open_holds))
        kept = [tx for tx in books.txs if not (tx.kind is TxKind.HOLD and tx.hold_id == lost.id)]
        assert invariant_violations(kept, holds) != []
