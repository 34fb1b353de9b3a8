"""The in-memory store's journal: a rollback puts back exactly what a transaction wrote,
indexes follow every write and every rollback, and committed changes can be watched."""

from __future__ import annotations

import asyncio

from adapters.memory.journal import Journal, Rows, Table
from adapters.memory.uow import InMemoryUnitOfWorkFactory


def test_a_rollback_restores_values_deletions_and_indexes() -> None:
    journal = Journal()
    table: Table[str, int] = Table("t", journal, [("a", 1), ("b", 2)])
    table.add_index("odd", lambda v: True if v % 2 else None)
    journal.begin()
    table["a"] = 2
    table["c"] = 3
    del table["b"]
    table.setdefault("d", 5)
    assert sorted(table.indexed("odd", True)) == [3, 5]
    journal.rollback()
    assert table == {"a": 1, "b": 2}
    assert table.indexed("odd", True) == [1]


def test_appends_are_taken_back_and_commits_are_kept() -> None:
    journal = Journal()
    rows: Rows[str] = Rows("r", journal, ["x"])
    journal.begin()
    rows.append("y")
    journal.commit()
    rows.append("z")
    rows.extend(["w"])
    journal.end()
    assert rows == ["x", "y"]


def test_writes_outside_a_transaction_are_not_journaled() -> None:
    journal = Journal()
    table: Table[str, int] = Table("t", journal)
    table["a"] = 1
    journal.begin()
    journal.rollback()
    assert table == {"a": 1}


def test_watching_reports_the_keys_committed_transactions_changed() -> None:
    journal = Journal()
    table: Table[str, int] = Table("t", journal, [("a", 1)])
    journal.watch()
    journal.begin()
    table["a"] = 5
    journal.commit()
    table["b"] = 6  # rolled back: not a change
    journal.end()
    assert journal.take_changes() == {"t": {"a"}}
    assert journal.take_changes() == {}


def test_a_unit_of_work_left_without_commit_leaves_the_store_as_it_was() -> None:
    async def scenario() -> None:
        factory = InMemoryUnitOfWorkFactory()
        state = factory.store.state
        async with factory() as uow:
            state.webhooks[("sim", "1")] = None  # type: ignore[assignment]
            await uow.commit()
            state.webhooks[("sim", "2")] = None  # type: ignore[assignment]
            state.audit.append("entry")  # type: ignore[arg-type]
        assert list(state.webhooks) == [("sim", "1")] and state.audit == []

    asyncio.run(scenario())
